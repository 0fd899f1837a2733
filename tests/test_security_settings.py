"""What the workflow alone decides, and the limits of `.github/patchpush.yml` (issue #9).

Through the action: tests/hostile_cases.py and tests/test_action_inputs.py. Here, the many spellings of
an address and the limits' edges, which would take a run each.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpush import cli
from patchpush.errors import SettingsError
from patchpush.report import Redactor
from patchpush.settings import FROM_WORKFLOW_ONLY, MAX_CONFIG_BYTES, load, parse_config
from tests.gitrepo import GitRepo


def base_url(tmp_path: Path, url: str) -> str:
    return load(workspace=tmp_path, env={}, inputs={"base-url": url}).base_url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",  # ECS task credentials
        "http://[fd00:ec2::254]/latest",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
        "http://[::169.254.169.254]/",  # IPv4-compatible
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://0251.0376.0251.0376/",
        "http://169.254.43518/",
        "https://169.254.169.254.:443/v1",
        "http://user:pass@169.254.169.254/",
        "http://metadata.google.internal/computeMetadata/v1",
    ],
)
def test_cloud_metadata_addresses_are_refused_in_every_spelling(tmp_path: Path, url: str) -> None:
    with pytest.raises(SettingsError, match="points at a cloud metadata address"):
        base_url(tmp_path, url)


@pytest.mark.parametrize(
    "url",
    [
        "http://ollama:11434/v1",  # a service container of the job
        "http://localhost:8000/v1",
        "http://127.0.0.1:1234/v1",
        "https://my-resource.openai.azure.com",
        "http://[::1]:8080/v1",
        "http://10.0.0.7/v1",
    ],
)
def test_model_servers_keep_working(tmp_path: Path, url: str) -> None:
    assert base_url(tmp_path, url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://x/", "http://", "http://a b/", "http://x:port/", "http://[::1"]
)
def test_other_schemes_and_broken_urls_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(SettingsError, match="must be an http\\(s\\) URL"):
        base_url(tmp_path, url)


@pytest.mark.parametrize("name", FROM_WORKFLOW_ONLY)
def test_the_config_file_may_not_choose_where_secrets_go(name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_config(f"{name}: x\n")
    assert str(caught.value) == (
        f".github/patchpush.yml: '{name}' decides where a secret is sent, so only the workflow may set it "
        f"(move it to the action's `with:` inputs (or the --{name} flag))"
    )


def test_aliases_that_expand_past_the_limit_are_refused() -> None:
    values = ", ".join(str(n) for n in range(200))
    text = f"exclude-paths: &a [{values}]\ninclude-paths: [{', '.join(['*a'] * 60)}]\n"
    with pytest.raises(SettingsError, match="expands to more than 10,000 values"):
        parse_config(text)


def test_a_list_of_lists_is_refused() -> None:
    with pytest.raises(SettingsError, match="must be a value or a list of values, not nested"):
        parse_config("exclude-paths: [[a, b], c]\n")


def test_a_config_file_over_64_kib_is_refused() -> None:
    with pytest.raises(SettingsError, match="larger than 64 KiB"):
        parse_config("instructions: " + "x" * MAX_CONFIG_BYTES + "\n")


@pytest.mark.parametrize("value", ["/tmp/x.log", "C:/x.log", "logs/../../x.log"])
def test_a_failure_log_outside_the_workspace_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="input 'failure-log' must be a path inside the workspace"):
        load(workspace=tmp_path, env={}, inputs={"failure-log": value})


@pytest.mark.parametrize("name", ["file", "template", "failure-log"])
def test_no_path_points_into_git(tmp_path: Path, name: str) -> None:
    with pytest.raises(SettingsError, match=f"input '{name}' must not point into .git/"):
        load(workspace=tmp_path, env={}, inputs={name: ".git/config"})


def test_a_multi_line_secret_is_redacted_line_by_line() -> None:
    redact = Redactor(["first-line-of-key\nsecond-line-of-key\n"])
    assert redact("a first-line-of-key b second-line-of-key c") == "a *** b *** c"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (b"file: \xff\xfe.md\n", "error: .github/patchpush.yml is not UTF-8 text (save it as UTF-8)"),
        (None, "error: .github/patchpush.yml is a symbolic link (make it a regular file)"),
    ],
)
def test_a_config_file_that_is_not_text_is_one_clear_error(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], config: bytes | None, message: str
) -> None:
    repo.commit("feat: add widgets")
    (repo.path / ".github").mkdir()
    if config is None:
        (tmp_path / "elsewhere.yml").write_text("file: NOTES.md\n")
        (repo.path / ".github/patchpush.yml").symlink_to(tmp_path / "elsewhere.yml")
    else:
        (repo.path / ".github/patchpush.yml").write_bytes(config)
    assert cli.main(["--repo", str(repo.path), "--dry-run"]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [message]
