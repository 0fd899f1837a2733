"""The action face: inputs from the runner, the GitHub API backend, outputs and summary back to it."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path

from patchpush import pipeline, report, settings
from patchpush.errors import PatchPushError, SettingsError


def main() -> int:
    env = os.environ
    workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
    inputs = settings.read_action_inputs()
    secrets = [inputs[name] for name in settings.SECRET_INPUTS if inputs.get(name)]
    # Masked before anything else is printed, so no later line can leak them.
    report.mask(secrets)
    log_path = settings.early_failure_log(workspace, inputs.get("failure-log"))
    file = inputs.get("file") or settings.DEFAULTS["file"]
    try:
        config = _load(workspace, env, inputs)
        log_path = config.failure_log
        outcome = pipeline.run(config, pipeline.build(config))
    except PatchPushError as exc:
        outcome = pipeline.failed(file, exc)
    except Exception as exc:  # our only broad except on this face: anything else is a bug
        # Notes generated before the bug are kept in the summary and the unpublished-notes file.
        if isinstance(exc, pipeline.Unexpected):
            kept = exc.report
        else:
            kept = pipeline.failed(file, PatchPushError(report.BUG))
        bug = dataclasses.replace(kept, error=report.BUG, error_stage=None, hint=None)
        report.emit_action(bug, log_path=log_path, secrets=secrets, env=env, workspace=workspace)
        report.log_traceback(log_path, report.Redactor(secrets), workspace)
        return 2
    return report.emit_action(outcome, log_path=log_path, secrets=secrets, env=env, workspace=workspace)


def _load(workspace: Path, env: Mapping[str, str], inputs: dict[str, str]) -> settings.Settings:
    config = _settings(workspace, env, inputs, config_text=None)
    if not (workspace / settings.CONFIG_FILE).is_file():
        # The action needs no checkout, so the config file is read from the repository (one request).
        # A default branch the event could not name is asked once, not by each client (issue 9).
        if not config.branch:
            config = dataclasses.replace(config, branch=pipeline.default_branch(config))
        text = pipeline.read_file(config, settings.CONFIG_FILE)
        if text is not None:
            branch = config.branch
            config = _settings(workspace, env, inputs, config_text=text)
            config = config if config.branch else dataclasses.replace(config, branch=branch)
    return config


def _settings(
    workspace: Path, env: Mapping[str, str], inputs: dict[str, str], *, config_text: str | None
) -> settings.Settings:
    config = settings.load(
        workspace=workspace,
        env=env,
        inputs=inputs,
        config_text=config_text,
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
