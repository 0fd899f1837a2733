"""A bug cannot be had on purpose: this plants one in our own merge step for a subprocess run, while
GitHub, git and PyGithub stay real. Used to check that exit 2 still keeps the notes."""

from __future__ import annotations

from pathlib import Path

MESSAGE = "ZeroDivisionError: planted bug"


def planted_pythonpath(tmp_path: Path) -> str:
    """A PYTHONPATH whose sitecustomize makes `document.merge` raise; put it in the run's env."""
    plant = tmp_path / "plant"
    plant.mkdir(exist_ok=True)
    (plant / "sitecustomize.py").write_text(
        "import patchpush.publish.document as document\n"
        "def merge(*args, **kwargs):\n"
        "    raise ZeroDivisionError('planted bug')\n"
        "document.merge = merge\n"
    )
    root = Path(__file__).resolve().parents[1]
    return f"{plant}:{root}"
