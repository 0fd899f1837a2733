"""What ships besides the code: action.yml against README.md, the workflows and examples against
action.yml, and the Dockerfile's pins."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("examples/*.yml")])
# `uses: ./` in this repository, `uses: org/patch-push@v1` in the examples users copy.
OUR_ACTION = re.compile(r"^(\./?|[\w.-]+/patch-push@.+)$")


def _action() -> dict[str, Any]:
    action: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return action


def _readme_table(heading: str) -> list[str]:
    """First-column names of the Markdown table under `## <heading>` in README.md, in order."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    starts = [n for n, line in enumerate(lines) if re.fullmatch(rf"##\s+{heading}\s*", line)]
    assert starts, f"README.md has no `## {heading}` section"
    section = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith("#"):
            break
        section.append(line)
    rows = [line for line in section if line.lstrip().startswith("|")]
    assert len(rows) > 2, f"README.md's `## {heading}` section has no table"
    assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", rows[1].replace(" ", "")), (
        f"README.md's `## {heading}` table has no header separator row"
    )
    names = []
    for row in rows[2:]:
        first = row.strip().strip("|").split("|")[0].strip()
        match = re.fullmatch(r"`([^`]+)`", first)
        assert match, f"README.md `## {heading}`: first column must be a name in backticks: {row!r}"
        names.append(match.group(1))
    assert len(names) == len(set(names)), f"README.md `## {heading}` lists a name twice: {names}"
    return names


def test_readme_inputs_table_matches_action_yml() -> None:
    documented = _readme_table("Inputs")
    declared = list(_action()["inputs"])
    assert sorted(documented) == sorted(declared), (
        f"only in README: {sorted(set(documented) - set(declared))}; "
        f"only in action.yml: {sorted(set(declared) - set(documented))}"
    )


def test_readme_outputs_table_matches_action_yml() -> None:
    documented = _readme_table("Outputs")
    declared = list(_action()["outputs"])
    assert sorted(documented) == sorted(declared), (
        f"only in README: {sorted(set(documented) - set(declared))}; "
        f"only in action.yml: {sorted(set(declared) - set(documented))}"
    )


def _steps_using_our_action(path: Path) -> list[dict[str, Any]]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = []
    for job in (workflow.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            if OUR_ACTION.match(str(step.get("uses", ""))):
                steps.append(step)
    return steps


def test_the_workflows_and_examples_exist() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in WORKFLOWS}
    expected = {
        ".github/workflows/ci.yml",
        ".github/workflows/self-test.yml",
        ".github/workflows/release.yml",
        "examples/weekly-notes.yml",
        "examples/manual-dispatch.yml",
        "examples/release-notes.yml",
        "examples/github-models.yml",
        "examples/org-matrix.yml",
    }
    assert expected <= names, f"missing: {sorted(expected - names)}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_workflows_pass_only_declared_inputs(path: Path) -> None:
    declared = set(_action()["inputs"])
    for step in _steps_using_our_action(path):
        given = set(step.get("with") or {})
        assert given <= declared, (
            f"{path.relative_to(ROOT)}: step {step.get('id') or step.get('name')!r} passes inputs "
            f"action.yml does not declare: {sorted(given - declared)}"
        )


def test_every_example_uses_the_action_and_uploads_the_failure_log() -> None:
    for path in ROOT.glob("examples/*.yml"):
        assert _steps_using_our_action(path), f"{path.name} does not use the action"
        text = path.read_text(encoding="utf-8")
        assert "actions/upload-artifact@" in text and "if: failure()" in text, (
            f"{path.name} does not upload the failure log on failure"
        )


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    pairs = []
    for line in text.splitlines():
        if line.strip():
            instruction, _, arguments = line.strip().partition(" ")
            pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def test_action_builds_the_dockerfile_or_pulls_an_image() -> None:
    runs = _action()["runs"]
    assert runs["using"] == "docker"
    assert runs["image"] == "Dockerfile" or str(runs["image"]).startswith("docker://")


def test_dockerfile_base_image_is_pinned_by_digest() -> None:
    bases = [arguments for instruction, arguments in _dockerfile_instructions() if instruction == "FROM"]
    assert bases, "the Dockerfile has no FROM"
    for base in bases:
        image = base.split()[0]
        assert re.fullmatch(r"[\w.\-/:]+@sha256:[0-9a-f]{64}", image), f"FROM {image} is not pinned by digest"


def test_dockerfile_entrypoint_is_absolute_exec_form() -> None:
    entrypoints = [
        arguments for instruction, arguments in _dockerfile_instructions() if instruction == "ENTRYPOINT"
    ]
    assert entrypoints, "the Dockerfile has no ENTRYPOINT"
    # Exec form (a JSON array): the runner appends `args`, and no shell sits between it and python.
    command = json.loads(entrypoints[-1])
    assert isinstance(command, list) and command, f"ENTRYPOINT {entrypoints[-1]} is not in exec form"
    # The runner sets the working directory to the workspace, so the script's path must not depend on it.
    scripts = [arg for arg in command[1:] if arg.endswith(".py")]
    assert scripts and all(s.startswith("/") for s in scripts), f"ENTRYPOINT {command} is not absolute"
    assert command[0].startswith("/") or command[0] in ("python", "python3")


def test_dockerfile_installs_the_hash_locked_requirements() -> None:
    runs = " ".join(
        arguments for instruction, arguments in _dockerfile_instructions() if instruction == "RUN"
    )
    assert "--require-hashes" in runs and "requirements.txt" in runs
    assert "--no-deps" in runs, "the package itself must be installed with --no-deps"


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lock = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    pinned = {
        re.sub(r"[-_.]+", "-", match.group(1)).lower()
        for match in re.finditer(r"^([A-Za-z0-9][\w.\-]*)==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", lock, re.M)
    }
    for requirement in pyproject["project"]["dependencies"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]).lower()
        assert name in pinned, (
            f"requirements.txt does not pin {name} with hashes: regenerate it (the command is in its header)"
        )
