"""patch-push: patch notes from what changed in a repository."""

from __future__ import annotations

__version__ = "0.1.0"
