"""The action face: inputs from the runner, the GitHub API backend, outputs and summary back to it."""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import traceback
from collections.abc import Mapping
from pathlib import Path

from patchpush import pipeline, report, settings
from patchpush.errors import PatchPushError, SettingsError
from patchpush.models import RunReport


def main() -> int:
    # A run allocates one object per commit and frees almost nothing until it ends; the default
    # collector thresholds would re-scan them all many times over (half the offline run on 50,000 commits).
    gc.set_threshold(100_000, 50, 100)
    env = os.environ
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    inputs = settings.read_action_inputs()
    secrets = [inputs[name] for name in settings.SECRET_INPUTS if inputs.get(name)]
    # Masked before anything else is printed, so no later line can leak them.
    report.mask(secrets)
    log_path = workspace / (inputs.get("failure-log") or settings.DEFAULTS["failure-log"])
    try:
        config = _load(workspace, env, inputs)
        log_path = config.failure_log
        outcome = pipeline.run(config, pipeline.build(config))
    except PatchPushError as exc:
        outcome = RunReport(
            outcome="failed",
            file=inputs.get("file") or settings.DEFAULTS["file"],
            error=exc.message,
            error_stage=exc.stage,
            hint=exc.hint,
        )
    except Exception:  # our only broad except on this face: anything else is a bug
        redact = report.Redactor(secrets)
        outcome = RunReport(
            outcome="failed",
            file=inputs.get("file") or settings.DEFAULTS["file"],
            error="this is a bug in patch-push; the traceback is in the failure log",
            error_stage="run",
        )
        report.emit_action(outcome, log_path=log_path, secrets=secrets, env=env, workspace=workspace)
        with log_path.open("a", encoding="utf-8") as log:
            log.write(redact(traceback.format_exc()))
        return 2
    return report.emit_action(outcome, log_path=log_path, secrets=secrets, env=env, workspace=workspace)


def _load(workspace: Path, env: Mapping[str, str], inputs: dict[str, str]) -> settings.Settings:
    config = settings.load(
        workspace=workspace,
        env=env,
        inputs=inputs,
        repository=env.get("GITHUB_REPOSITORY", ""),
        backend="github",
    )
    if not config.repository or "/" not in config.repository:
        raise SettingsError(
            "GITHUB_REPOSITORY is not set",
            "run patch-push as a step of a GitHub workflow, or set the `repository` input",
        )
    if not config.github_token:
        raise SettingsError(
            "input 'github-token' is empty",
            "pass `github-token: ${{ github.token }}` or a token with contents: write",
        )
    if not config.branch and config.repository == env.get("GITHUB_REPOSITORY"):
        # The event payload names the default branch: no API request needed (tag and release runs too).
        # For another repository the GitHub backend asks the API.
        config = dataclasses.replace(config, branch=_default_branch(env))
    return config


def _default_branch(env: Mapping[str, str]) -> str:
    path = env.get("GITHUB_EVENT_PATH")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                payload = json.load(handle)
            branch = payload.get("repository", {}).get("default_branch")
            if isinstance(branch, str) and branch:
                return branch
        except (OSError, ValueError):
            pass
    return ""
