"""Real releases' saved contexts (commit messages and PR titles only) and what a good model would write
for git-cliff v2.13.0's 35 changes: the inputs the attribution and headline checks are measured on."""

from __future__ import annotations

import json
from pathlib import Path

from patchpush.models import ChangeSet
from patchpush.notes import budget

DATA = Path(__file__).resolve().parent.parent / "data" / "llm-git-cliff"
CHANGES = ChangeSet.from_json((DATA / "changeset.json").read_text())
ENTRIES = budget.entries(CHANGES.changes)
# Written as a good model writes: for users, in other words than the commit subjects where it can.
PARAPHRASES: list[str] = json.loads((DATA / "paraphrases.json").read_text())
# The same, sharing at most one word with each commit subject (after stemming): what a model writes for
# readers who do not know the code. Lexical evidence is thin here, so some items cannot be judged.
HARD: list[str] = json.loads((DATA / "paraphrases-hard.json").read_text())
# The same in two clauses, the second saying more than the subject does (a body's detail, what it means
# for users): what the clause check must leave alone.
CLAUSES: list[str] = json.loads((DATA / "paraphrases-clauses.json").read_text())
VITE = ChangeSet.from_json((DATA.parent / "llm-vite" / "changeset-8.1.4.json").read_text())
COMMITIZEN = ChangeSet.from_json((DATA.parent / "llm-commitizen" / "changeset-4.10.0.json").read_text())
GIT_CLIFF_2_11 = ChangeSet.from_json((DATA / "changeset-2.11.0.json").read_text())
ANGULAR_CLI = ChangeSet.from_json((DATA.parent / "llm-angular-cli" / "changeset-21.2.2.json").read_text())
VITE_8_2_2 = ChangeSet.from_json((DATA.parent / "llm-vite" / "changeset-8.2.2.json").read_text())
