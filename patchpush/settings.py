"""Every input: its default, its validation and its one-line error, landing in one frozen `Settings`.

Precedence: defaults < `.github/patchpush.yml` < action inputs (`INPUT_*`) < CLI flags. An empty
action input counts as "not given": action.yml declares no defaults of its own (bar the token), so
that the config file can still apply.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlsplit

from patchpush.errors import SettingsError
from patchpush.models import NOISE_RULES, Since

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
    "noise": ",".join(NOISE_RULES),
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
    # What the notes show (README "Sections", #11).
    "maintenance": "collapse",
    "hide-sections": "",
    "section-titles": "",
    "release-config": ".github/release.yml",
}
SECRET_INPUTS = ("github-token", "openai-api-key")
# What decides where a secret is sent: the workflow alone chooses it, never repository content (#9). With
# `base-url: http://attacker/v1` in .github/patchpush.yml, anyone who can push could take the API key.
FROM_WORKFLOW_ONLY = ("provider", "base-url", "repository")
# Inputs that may hold several lines; every other one is a single line of printable text.
MULTILINE_INPUTS = ("instructions", "include-paths", "exclude-paths", "exclude-authors", "commit-message")
# Limits of .github/patchpush.yml (#9): a flat mapping of a few dozen inputs needs far less.
MAX_CONFIG_BYTES = 64 * 1024
MAX_CONFIG_DEPTH = 3
MAX_CONFIG_NODES = 10_000
MAX_TIMEOUT = 3600.0
MAX_SINCE = timedelta(days=36_500)
# Cloud metadata services hand out the runner's cloud credentials to whoever asks.
_METADATA_NETWORKS = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fd00:ec2::254/128"))
_METADATA_NAMES = ("metadata.google.internal", "metadata.goog", "instance-data.ec2.internal")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
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
    # Noise rules that leave commits out (models.NOISE_RULES).
    noise: tuple[str, ...] = NOISE_RULES
    # What the notes show (#11): the Maintenance block, hidden and renamed sections, release.yml.
    maintenance: Literal["collapse", "list", "hide"] = "collapse"
    hide_sections: tuple[str, ...] = ()
    section_titles: tuple[tuple[str, str], ...] = ()
    release_config: str = ".github/release.yml"

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

    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise SettingsError(
            f"{CONFIG_FILE} is larger than {MAX_CONFIG_BYTES // 1024} KiB", "keep it to the inputs it sets"
        )
    try:
        _check_config_shape(yaml, text)
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
        if name in FROM_WORKFLOW_ONLY:
            raise SettingsError(
                f"{CONFIG_FILE}: '{key}' decides where a secret is sent, so only the workflow may set it",
                f"move it to the action's `with:` inputs (or the --{name} flag)",
            )
        if isinstance(value, list):
            if not all(_is_scalar(v) for v in value):
                raise SettingsError(f"{CONFIG_FILE}: '{key}' must be a value or a list of values, not nested")
            found[name] = "\n".join(str(v) for v in value)
        elif isinstance(value, dict):
            raise SettingsError(f"{CONFIG_FILE}: '{key}' must be a value or a list of values, not a mapping")
        elif isinstance(value, bool):
            found[name] = "true" if value else "false"
        elif value is not None:
            found[name] = str(value)
    return found


def _is_scalar(value: object) -> bool:
    return not isinstance(value, list | dict)


def read_config_file(workspace: Path) -> str | None:
    """`.github/patchpush.yml` of a checkout or clone, or None when there is none."""
    path = workspace / CONFIG_FILE
    if path.is_symlink():
        # A link could make us read (and quote in errors) any file of the machine.
        raise SettingsError(f"{CONFIG_FILE} is a symbolic link", "make it a regular file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise SettingsError(f"cannot read {CONFIG_FILE}: {exc.strerror}") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise SettingsError(
            f"{CONFIG_FILE} is larger than {MAX_CONFIG_BYTES // 1024} KiB", "keep it to the inputs it sets"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{CONFIG_FILE} is not UTF-8 text", "save it as UTF-8") from None


def _check_config_shape(yaml: Any, text: str) -> None:
    """Refuse deep nesting and alias bombs from the event stream, before anything is built from it: a
    billion-laughs file gave MemoryError, a deeply nested list RecursionError (#9)."""
    depth = nodes = 0
    sizes: dict[str, int] = {}  # anchor -> nodes it stands for
    open_collections: list[tuple[str | None, int]] = []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            nodes += sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            nodes += 1
            depth += 1
            if depth > MAX_CONFIG_DEPTH:
                raise SettingsError(
                    f"{CONFIG_FILE} nests deeper than {MAX_CONFIG_DEPTH} levels",
                    "set each input to a value or a list of values",
                )
            open_collections.append((event.anchor, nodes))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, first = open_collections.pop()
            depth -= 1
            if anchor:
                sizes[anchor] = nodes - first + 1
        if nodes > MAX_CONFIG_NODES:
            raise SettingsError(
                f"{CONFIG_FILE} expands to more than {MAX_CONFIG_NODES:,} values (aliases included)",
                "set each input to a value or a list of values",
            )


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
    if config_text is None:
        config_text = read_config_file(workspace)
    raw.update(parse_config(config_text))
    raw.update({k: v for k, v in (inputs or {}).items() if v})
    raw.update({k: v for k, v in (cli or {}).items() if v is not None})
    for name in SECRET_INPUTS:
        raw[name] = _secret(name, raw[name])
    for name in DEFAULTS:
        if name not in SECRET_INPUTS:
            _printable(name, raw[name])

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
        base_url=_endpoint(raw, "base-url"),
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
        timeout=_float(raw, "timeout", minimum=1.0, maximum=MAX_TIMEOUT),
        max_concurrency=_int(raw, "max-concurrency", minimum=1),
        dry_run=_bool(raw, "dry-run"),
        failure_log=_failure_log(workspace, raw["failure-log"]),
        api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
        backend=backend,
        local_commit=local_commit,
        from_context=from_context,
        noise=_noise(raw["noise"]),
        maintenance=_choice(raw, "maintenance", ("collapse", "list", "hide")),  # type: ignore[arg-type]
        hide_sections=_list(raw["hide-sections"]),
        section_titles=_section_titles(raw["section-titles"]),
        release_config=""
        if raw["release-config"].strip().lower() == "none"
        else _repo_relative("release-config", raw["release-config"]),
    )


def _noise(value: str) -> tuple[str, ...]:
    if value.strip().lower() == "none":
        return ()
    rules = _list(value)
    unknown = [r for r in rules if r not in NOISE_RULES]
    if unknown:
        raise SettingsError(
            f"input 'noise' has an unknown rule '{unknown[0]}'",
            f"use none, or any of: {', '.join(NOISE_RULES)}",
        )
    return rules


def parse_since(value: str, *, now: datetime) -> Since:
    """`auto`, a duration like `7d`/`12h`/`2w`, an ISO date or date-time, or else a git ref."""
    value = value.strip()
    if value in ("", "auto"):
        return Since("auto")
    if match := _DURATION.match(value):
        unit = _DURATION_UNITS[match.group(2)]
        # 99999999d would overflow the date (OverflowError, exit 2 before #9).
        amount = int(match.group(1)) if len(match.group(1)) <= 9 else 10**9
        span = timedelta(days=MAX_SINCE.days + 1) if amount > 10**7 else timedelta(**{unit: amount})
        if span > MAX_SINCE:
            raise SettingsError(
                f"input 'since' reaches back more than {MAX_SINCE.days // 365} years: '{value}'",
                "use a shorter duration, a date, a tag, or auto",
            )
        return Since("date", date=now - span)
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


def _float(raw: Mapping[str, str], name: str, *, minimum: float, maximum: float) -> float:
    number = _number(raw, name, float, "a number of seconds", minimum)
    if not math.isfinite(number) or number > maximum:
        raise SettingsError(f"input '{name}' must be at most {maximum:g}, not {raw[name].strip()}")
    return number


def _number(
    raw: Mapping[str, str], name: str, kind: type[int] | type[float], noun: str, minimum: float
) -> float:
    value = raw[name].strip()
    try:
        number = kind(value)
    except ValueError:
        raise SettingsError(f"input '{name}' must be {noun}, not '{value}'") from None
    if math.isnan(number):
        raise SettingsError(f"input '{name}' must be {noun}, not '{value}'")
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
    _outside_git(name, path, value)
    return str(path)


def _outside_git(name: str, path: PurePosixPath, value: str) -> None:
    # Written into .git/ (config, hooks), text from commits would change what git does in a clone.
    if any(part.lower() == ".git" for part in path.parts):
        raise SettingsError(f"input '{name}' must not point into .git/, not '{value}'")


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


def _section_titles(value: str) -> tuple[tuple[str, str], ...]:
    """`Fixes=Bug fixes` pairs: the section a writer files into, and the title the notes show."""
    pairs = []
    for entry in _list(value):
        old, sep, new = entry.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise SettingsError(
                f"input 'section-titles' has '{entry}', which is not Old=New",
                "write one Section=Shown title per line, e.g. Fixes=Bug fixes",
            )
        if len(new.strip()) > 80:
            raise SettingsError(
                f"input 'section-titles': the title for '{old.strip()}' is over 80 characters"
            )
        pairs.append((old.strip(), new.strip()))
    return tuple(pairs)


def _endpoint(raw: Mapping[str, str], name: str) -> str:
    """An http(s) endpoint that is not a cloud metadata service, in any spelling of its address."""
    value = raw[name].strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        scheme, host = parts.scheme, parts.hostname or ""
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:  # "http://[::1", "http://x:port"
        scheme = host = ""
    if scheme not in ("http", "https") or not host or re.search(r"[\s\\]", value):
        raise SettingsError(f"input '{name}' must be an http(s) URL, not '{value}'")
    if _is_metadata_host(host):
        raise SettingsError(
            f"input '{name}' points at a cloud metadata address ({host})",
            "give the model server's address; the metadata service hands out the runner's credentials",
        )
    return value.rstrip("/")


def _is_metadata_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    if host in _METADATA_NAMES:
        return True
    address = _literal_address(host)
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in net for net in _METADATA_NETWORKS):
            return True
        # IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms
        # reach the IPv4 address they embed.
        embedded = int(address) & 0xFFFFFFFF
        prefix = int(address) >> 32
        if address.ipv4_mapped or prefix in (0, 0x64FF9B << 64):
            address = ipaddress.IPv4Address(embedded)
    return address is not None and any(address in net for net in _METADATA_NETWORKS)


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name spells, as the resolver reads it: also `2852039166`, `0xa9fea9fe`,
    `0251.0376.0251.0376` and `169.254.43518` (inet_aton's forms)."""
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    if re.fullmatch(r"(?:0x[0-9a-f]+|[0-9]+)(?:\.(?:0x[0-9a-f]+|[0-9]+)){0,3}", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _secret(name: str, value: str) -> str:
    value = value.strip()
    if _CONTROL.search(value):
        # Never echo the value: its first line would reach the log (#9).
        raise SettingsError(
            f"input '{name}' contains a line break or another control character",
            "store the secret again as a single line",
        )
    return value


def _printable(name: str, value: str) -> None:
    control = _CONTROL_MULTILINE if name in MULTILINE_INPUTS else _CONTROL
    if found := control.search(value):
        char = found.group()
        what = "a line break" if char in "\r\n" else f"a control character (U+{ord(char):04X})"
        raise SettingsError(f"input '{name}' contains {what}", "give it as printable text on one line")


def _failure_log(workspace: Path, value: str) -> Path:
    """Inside the workspace, where actions/upload-artifact finds it: a path outside it would be written
    inside the container and lost with it (#9)."""
    path = PurePosixPath(value.replace("\\", "/"))
    if not value.strip():
        return workspace / DEFAULTS["failure-log"]
    if path.is_absolute() or re.match(r"^[A-Za-z]:", value) or ".." in path.parts:
        raise SettingsError(
            f"input 'failure-log' must be a path inside the workspace, not '{value}'",
            f"give a relative path such as {DEFAULTS['failure-log']}",
        )
    _outside_git("failure-log", path, value)
    return workspace / path


def early_failure_log(workspace: Path, value: str | None) -> Path:
    """Where to log a failure that happens before the settings are valid: the input if it is valid,
    else the default."""
    try:
        return _failure_log(workspace, value or "")
    except SettingsError:
        return workspace / DEFAULTS["failure-log"]
