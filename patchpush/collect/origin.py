"""owner/name and the web address of a clone's `origin`, so a local run links like the action does."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

# https://host/owner/name(.git), ssh://git@host[:port]/owner/name, git@host:owner/name(.git)
_SCP = re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):/?(?P<path>[^:]+)$")
_NAME = re.compile(r"^(?P<owner>[A-Za-z0-9_.-]+)/(?P<name>[A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def github_origin(repo: Path, *, server_url: str) -> tuple[str, str] | None:
    """(owner/name, web URL) when `origin` points at github.com or at `server_url`; else None."""
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return None
    return parse_remote(result.stdout.strip(), server_url=server_url) if result.returncode == 0 else None


def parse_remote(url: str, *, server_url: str) -> tuple[str, str] | None:
    if match := _SCP.match(url):
        host, path = match["host"], match["path"]
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http", "ssh", "git"):
            return None
        # `hostname` drops any user:token@ and port: a credential in the URL never reaches the notes.
        host, path = parts.hostname or "", parts.path.lstrip("/")
    name = _NAME.match(path)
    if name is None:
        return None
    server = urlsplit(server_url)
    if host.lower() == (server.hostname or "").lower():
        web = f"{server.scheme}://{server.netloc.rpartition('@')[2]}"
    elif host.lower() == "github.com":
        web = "https://github.com"
    else:
        return None
    repository = f"{name['owner']}/{name['name']}"
    return repository, f"{web}/{repository}"
