"""Run entrypoint.py as the runner starts a container action: INPUT_* variables and file commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: name=value lines and name<<DELIM blocks."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if match := re.match(r"^([\w-]+)<<(.+)$", line):
            name, delimiter = match.groups()
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        if "=" in line:
            name, _, value = line.partition("=")
            values[name] = value
        i += 1
    return values


def run_action(
    tmp_path: Path,
    inputs: dict[str, str],
    *,
    env: dict[str, str] | None = None,
    repository: str = "octo-org/widgets",
    default_branch: str = "main",
    timeout: float = 120,
) -> ActionRun:
    workspace = tmp_path / "workspace"
    files = tmp_path / "file_commands"
    workspace.mkdir(exist_ok=True)
    files.mkdir(exist_ok=True)
    output, summary, event = files / "output", files / "summary", files / "event.json"
    output.write_text("")
    summary.write_text("")
    event.write_text(json.dumps({"repository": {"full_name": repository, "default_branch": default_branch}}))
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": repository,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "PYTHONPATH": str(ROOT),
    }
    # The runner's rule: INPUT_ + name upper-cased with spaces as underscores; hyphens stay.
    full_env.update({f"INPUT_{name.replace(' ', '_').upper()}": value for name, value in inputs.items()})
    full_env.update(env or {})
    result = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")],
        cwd=workspace,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return ActionRun(
        result.returncode,
        result.stdout,
        result.stderr,
        parse_outputs(output.read_text()),
        summary.read_text(),
        workspace,
    )
