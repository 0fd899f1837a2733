"""How the offline writer files a real range: items per section, and the share left under "Other changes".

Runs the `patchpush` CLI (offline writer, dry run) on a clone and prints one `section=count` line per
section, then `items=`, `other_share=` and `goal_met=` (#11: at most 25% under "Other changes").

    python bench/sections.py /work/clones/pallets+click --since 8.4.2 --until 8.5.0
    python bench/sections.py CLONE --since A --until B --show   # also print each item under its section
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

OTHER = "Other changes"
GOAL = 0.25


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clone", type=Path)
    parser.add_argument("--since", required=True)
    parser.add_argument("--until", default="")
    parser.add_argument("--show", action="store_true", help="also print the items of each section")
    args = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "patchpush",
        "--repo",
        str(args.clone),
        "--dry-run",
        "--provider",
        "offline",
        "--format",
        "json",
        "--since",
        args.since,
    ]
    if args.until:
        command += ["--until", args.until]
    # From this checkout's root, so `-m patchpush` runs the code beside this script.
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=root)
    if result.returncode != 0 or not result.stdout.strip():
        sys.exit(f"patchpush failed: {result.stderr.strip()}")
    notes = json.loads(result.stdout)
    total = 0
    other = 0
    for section in notes["sections"]:
        count = len(section["items"])
        total += count
        other += count if section["title"] == OTHER else 0
        print(f"{section['title']}={count}")
        if args.show:
            for item in section["items"]:
                print(f"    - {item['text']}")
    share = other / total if total else 0.0
    print(f"items={total}")
    print(f"other_share={share:.2f}")
    print(f"goal_met={'yes' if share <= GOAL else 'no'}")


if __name__ == "__main__":
    main()
