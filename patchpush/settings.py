"""Every input: its default, its validation and its one-line error, landing in one frozen `Settings`.

Precedence: defaults < `.github/patchpush.yml` < action inputs (`INPUT_*`) < CLI flags. An empty
action input counts as "not given": action.yml declares no defaults of its own (bar the token), so
that the config file can still apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from patchpush.errors import SettingsError
from patchpush.models import Since

CONFIG_FILE = ".github/patchpush.yml"
# Logins as REST spells them ("[bot]") and as GraphQL does (without), and common author names.
DEFAULT_BOTS = (
    "dependabot[bot]",
    "renovate[bot]",
    "github-actions[bot]",
    "dependabot",
    "renovate",
    "github-actions",
    "renovate-bot",
)
PROVIDERS = ("auto", "openai", "azure", "github-models", "offline")
MODES = ("overwrite", "prepend")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "azure": "gpt-4o-mini", "github-models": "openai/gpt-4o-mini"}
DEFAULT_MAX_INPUT_TOKENS = {"openai": 100_000, "azure": 100_000, "github-models": 8_000, "offline": 0}

# name -> default, as the user would write it. The keys are the contract (action.yml, README, CLI).
DEFAULTS: dict[str, str] = {
    "repository": "",
    "github-token": "",
    "openai-api-key": "",
    "provider": "auto",
    "model": "",
    "base-url": "",
    "azure-api-version": "2024-10-21",
    "file": "ai_patch.md",
    "mode": "overwrite",
    "branch": "",
    "since": "auto",
    "until": "",
    "include-paths": "",
    "exclude-paths": "",
    "exclude-authors": ",".join(DEFAULT_BOTS),
    "instructions": "",
    "language": "English",
    "template": "",
    "commit-message": "docs: update {file}",
    "on-protected-branch": "pull-request",
    "release": "",
    "max-commits": "2000",
    "max-input-tokens": "",
    "timeout": "60",
    "max-concurrency": "4",
    "dry-run": "false",
    "failure-log": "logs/patch_failures.log",
}
SECRET_INPUTS = ("github-token", "openai-api-key")
_TRUE = {"true", "True", "TRUE", "yes", "on", "1"}
_FALSE = {"false", "False", "FALSE", "no", "off", "0"}
_DURATION = re.compile(r"^(\d+)([hdw])$")
_DURATION_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


class Secret:
    """A value whose repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    workspace: Path
    repository: str
    github_token: Secret
    openai_api_key: Secret
    provider: str
    model: str
    base_url: str
    azure_api_version: str
    file: str
    mode: Literal["overwrite", "prepend"]
    branch: str
    since: Since
    until: str
    include_paths: tuple[str, ...]
    exclude_paths: tuple[str, ...]
    exclude_authors: tuple[str, ...]
    instructions: str
    language: str
    template: str
    commit_message: str
    on_protected_branch: Literal["pull-request", "fail"]
    release: str
    max_commits: int
    max_input_tokens: int
    timeout: float
    dry_run: bool
    failure_log: Path
    api_url: str = "https://api.github.com"
    # LLM chunk requests in flight at once (#10): a range of many chunks costs about one request's time.
    max_concurrency: int = 4
    server_url: str = "https://github.com"
    # Where changes come from and notes go: the GitHub API (the action) or a local clone (the CLI).
    backend: Literal["github", "git"] = "git"
    # CLI-only switches.
    local_commit: bool = False
    # A ChangeSet saved by `patchpush --context`, described instead of collecting (CLI only).
    from_context: Path | None = None

    @property
    def writer(self) -> str:
        """The provider actually used: `auto` resolves to `openai` with a key, else `offline`."""
        if self.provider == "auto":
            return "openai" if self.openai_api_key or self.base_url else "offline"
        return self.provider

    def secrets(self) -> list[str]:
        return [s.reveal() for s in (self.github_token, self.openai_api_key) if s]


def read_action_inputs() -> dict[str, str]:
    """Inputs as the runner passes them to a container: INPUT_ + name upper-cased, hyphens kept."""
    from actions_toolkit import core  # imported here: it pulls in requests, which the CLI never needs

    found = {name: core.get_input(name) for name in DEFAULTS}
    return {name: value for name, value in found.items() if value}


def parse_config(text: str | None) -> dict[str, str]:
    """The inputs set in `.github/patchpush.yml` (from the workspace, or read through the API)."""
    if text is None:
        return {}
    import yaml  # only when there is a file: it costs start-up time on every other run

    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" at line {line + 1}" if line is not None else ""
        raise SettingsError(f"{CONFIG_FILE} is not valid YAML{where}", "fix the file or remove it") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{CONFIG_FILE} must be a mapping of input names to values")
    found: dict[str, str] = {}
    for key, value in raw.items():
        name = str(key).replace("_", "-")
        if name not in DEFAULTS:
            raise SettingsError(
                f"{CONFIG_FILE}: unknown key '{key}'", f"known keys: {', '.join(sorted(DEFAULTS))}"
            )
        if name in SECRET_INPUTS:
            raise SettingsError(
                f"{CONFIG_FILE}: '{key}' is a secret and must not live in a file",
                "pass it as an action input from `secrets.`",
            )
        if isinstance(value, list):
            found[name] = "\n".join(str(v) for v in value)
        elif isinstance(value, bool):
            found[name] = "true" if value else "false"
        elif value is not None:
            found[name] = str(value)
    return found


def load(
    *,
    workspace: Path,
    env: Mapping[str, str],
    inputs: Mapping[str, str] | None = None,
    cli: Mapping[str, str] | None = None,
    config_text: str | None = None,
    repository: str = "",
    backend: Literal["github", "git"] = "git",
    local_commit: bool = False,
    from_context: Path | None = None,
) -> Settings:
    """Merge every source and validate it all before any work starts."""
    raw = dict(DEFAULTS)
    if config_text is None and (workspace / CONFIG_FILE).is_file():
        config_text = (workspace / CONFIG_FILE).read_text(encoding="utf-8")
    raw.update(parse_config(config_text))
    raw.update({k: v for k, v in (inputs or {}).items() if v})
    raw.update({k: v for k, v in (cli or {}).items() if v is not None})

    provider = _choice(raw, "provider", PROVIDERS)
    resolved = provider
    if provider == "auto":
        resolved = "openai" if raw["openai-api-key"] or raw["base-url"] else "offline"
    max_tokens_default = DEFAULT_MAX_INPUT_TOKENS[resolved]
    if resolved == "azure" and not raw["base-url"]:
        raise SettingsError(
            "provider 'azure' needs base-url, the resource's endpoint",
            "set base-url: https://<resource>.openai.azure.com",
        )
    return Settings(
        workspace=workspace,
        repository=_repository(raw["repository"] or repository or env.get("GITHUB_REPOSITORY", "")),
        github_token=Secret(raw["github-token"]),
        openai_api_key=Secret(raw["openai-api-key"]),
        provider=provider,
        model=raw["model"] or DEFAULT_MODELS.get(resolved, ""),
        base_url=_url(raw, "base-url"),
        azure_api_version=raw["azure-api-version"],
        file=_file(raw["file"]),
        mode=_choice(raw, "mode", MODES),  # type: ignore[arg-type]
        branch=raw["branch"],
        since=parse_since(raw["since"], now=datetime.now(UTC)),
        until=raw["until"],
        include_paths=_list(raw["include-paths"]),
        exclude_paths=_list(raw["exclude-paths"]),
        exclude_authors=() if raw["exclude-authors"].lower() == "none" else _list(raw["exclude-authors"]),
        instructions=raw["instructions"],
        language=raw["language"] or "English",
        template=_template(raw["template"]),
        commit_message=raw["commit-message"],
        on_protected_branch=_choice(raw, "on-protected-branch", ("pull-request", "fail")),  # type: ignore[arg-type]
        release=raw["release"],
        max_commits=_int(raw, "max-commits", minimum=1),
        max_input_tokens=_int(raw, "max-input-tokens", minimum=500)
        if raw["max-input-tokens"]
        else max_tokens_default,
        timeout=_float(raw, "timeout", minimum=1.0),
        max_concurrency=_int(raw, "max-concurrency", minimum=1),
        dry_run=_bool(raw, "dry-run"),
        failure_log=_failure_log(workspace, raw["failure-log"]),
        api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
        backend=backend,
        local_commit=local_commit,
        from_context=from_context,
    )


def parse_since(value: str, *, now: datetime) -> Since:
    """`auto`, a duration like `7d`/`12h`/`2w`, an ISO date or date-time, or else a git ref."""
    value = value.strip()
    if value in ("", "auto"):
        return Since("auto")
    if match := _DURATION.match(value):
        amount, unit = int(match.group(1)), _DURATION_UNITS[match.group(2)]
        return Since("date", date=now - timedelta(**{unit: amount}))
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise SettingsError(
                f"input 'since' has an unparseable date '{value}'",
                "use auto, a tag/SHA/branch, an ISO date like 2026-01-31, or a duration like 7d",
            ) from None
        return Since("date", date=moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    if re.match(r"^-?\d+[a-zA-Z]*$", value) or not re.match(r"^[\w./@{}^~-]+$", value) or ".." in value:
        raise SettingsError(
            f"input 'since' has an unparseable value '{value}'",
            "use auto, a tag/SHA/branch, an ISO date like 2026-01-31, or a duration like 7d, 12h or 2w",
        )
    return Since("ref", ref=value)


def _choice(raw: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = raw[name].strip()
    if value not in allowed:
        raise SettingsError(
            f"input '{name}' has an unknown value '{value}'", f"use one of: {', '.join(allowed)}"
        )
    return value


def _repository(value: str) -> str:
    value = value.strip()
    if value and not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", value):
        raise SettingsError(f"input 'repository' must be owner/name, not '{value}'")
    return value


def _bool(raw: Mapping[str, str], name: str) -> bool:
    value = raw[name].strip()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"input '{name}' must be true or false, not '{value}'")


def _int(raw: Mapping[str, str], name: str, *, minimum: int) -> int:
    return int(_number(raw, name, int, "a whole number", minimum))


def _float(raw: Mapping[str, str], name: str, *, minimum: float) -> float:
    return _number(raw, name, float, "a number of seconds", minimum)


def _number(
    raw: Mapping[str, str], name: str, kind: type[int] | type[float], noun: str, minimum: float
) -> float:
    value = raw[name].strip()
    try:
        number = kind(value)
    except ValueError:
        raise SettingsError(f"input '{name}' must be {noun}, not '{value}'") from None
    if number < minimum:
        raise SettingsError(f"input '{name}' must be at least {minimum:g}, not {value}")
    return number


def _list(value: str) -> tuple[str, ...]:
    """Comma- or newline-separated, as YAML block scalars in workflows usually are."""
    return tuple(part.strip() for part in re.split(r"[,\n]", value) if part.strip())


def _repo_relative(name: str, value: str) -> str:
    path = PurePosixPath(value.replace("\\", "/"))
    if not value.strip():
        raise SettingsError(f"input '{name}' is empty", "give a path relative to the repository root")
    if path.is_absolute() or re.match(r"^[A-Za-z]:", value):
        raise SettingsError(f"input '{name}' must be relative to the repository root, not '{value}'")
    if ".." in path.parts:
        raise SettingsError(f"input '{name}' must stay inside the repository, not '{value}'")
    return str(path)


def _file(value: str) -> str:
    path = _repo_relative("file", value)
    if path.lower().startswith(".github/workflows/"):
        # A token that can write workflows could escalate; the notes never belong there.
        raise SettingsError(
            f"input 'file' must not point into .github/workflows/, not '{value}'",
            "write the notes elsewhere, e.g. CHANGELOG.md",
        )
    return path


def _template(value: str) -> str:
    return _repo_relative("template", value) if value else ""


def _url(raw: Mapping[str, str], name: str) -> str:
    value = raw[name].strip()
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise SettingsError(f"input '{name}' must be an http(s) URL, not '{value}'")
    return value.rstrip("/")


def _failure_log(workspace: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else workspace / path
