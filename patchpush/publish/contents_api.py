"""Publish through the GitHub Contents API: GitHub makes the commit itself, no checkout or push.

Optimistic concurrency: every PUT carries the blob sha we merged onto; when another writer moved the
file (409), we re-read, re-merge and try again, so no one's update is lost.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

from github.GithubException import GithubException

from patchpush.errors import PublishError
from patchpush.github_client import GitHubClient, error_message, translate
from patchpush.models import PublishResult
from patchpush.publish import Update
from patchpush.publish.document import replace_or_prepend

MAX_ATTEMPTS = 5
MAX_FILE_BYTES = 1_000_000  # the Contents API returns no content above 1 MB
MAX_RELEASE_BODY = 125_000  # GitHub's limit on a release body, in characters
_PROTECTED = ("protected branch", "must be made through a pull request", "repository rule violations")


class ContentsApiPublisher:
    def __init__(
        self, *, client: GitHubClient, file: str, on_protected_branch: str = "pull-request", release: str = ""
    ) -> None:
        self._client = client
        self._file = file
        self._on_protected = on_protected_branch
        self._release = release
        # (text, blob sha) per path and branch, so publish() does not read again what read() just read.
        self._seen: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def read(self, path: str) -> str | None:
        return self._get(path, self._client.branch)[0]

    def publish(self, update: Update, *, message: str, section: str = "") -> PublishResult:
        branch = self._client.branch
        try:
            result = self._commit(update, message=message, branch=branch)
        except GithubException as exc:
            if exc.status in (403, 409, 422) and _is_protected(exc):
                result = self._via_pull_request(update, message=message, exc=exc)
            else:
                raise self._error(exc, f"committing {self._file} to {self._where(branch)}") from exc
        if self._release and section and result.outcome != "skipped":
            result = replace(result, release_url=self._update_release(section))
        return result

    def _commit(self, update: Update, *, message: str, branch: str) -> PublishResult:
        repo = self._client.repo()
        for _ in range(MAX_ATTEMPTS):
            old, sha = self._get(self._file, branch)
            new = update(old)
            if new == old:
                return PublishResult(outcome="skipped", file=self._file)
            try:
                if sha is None:
                    answer = repo.create_file(self._file, message, new, branch=branch)
                else:
                    answer = repo.update_file(self._file, message, new, sha, branch=branch)
            except GithubException as exc:
                if not _is_stale(exc):
                    raise
                # Another writer moved the file since we read it: read again and merge onto theirs.
                self._seen.pop((self._file, branch), None)
                continue
            commit = answer["commit"]
            self._seen[(self._file, branch)] = (new, answer["content"].sha)
            return PublishResult(
                outcome="committed", file=self._file, commit_sha=commit.sha, commit_url=commit.html_url
            )
        raise PublishError(
            f"{self._file} in {self._where(branch)} kept changing under us ({MAX_ATTEMPTS} attempts)",
            "another job writes the same file; run again",
        )

    def _via_pull_request(self, update: Update, *, message: str, exc: GithubException) -> PublishResult:
        base = self._client.branch
        if self._on_protected != "pull-request":
            raise PublishError(
                f"{self._where(base)} is protected: changes must go through a pull request",
                "set `on-protected-branch: pull-request`, or allow the token to push",
            ) from exc
        repo = self._client.repo()
        # One branch and one pull request, kept up to date by later runs (as release-please does).
        branch = f"patch-push/{base}"
        try:
            head_sha = repo.get_git_ref(f"heads/{base}").object.sha
            try:
                repo.create_git_ref(f"refs/heads/{branch}", head_sha)
            except GithubException as ref_exc:
                if ref_exc.status != 422:  # 422: it exists from an earlier run
                    raise
                pending, _ = self._get(self._file, branch)
                if update(pending) == pending:
                    # It already proposes exactly these notes: nothing to commit, point at its PR.
                    return self._open_pull(repo, branch, base, message, committed=None)
                # Start it again from the base, so the PR holds only the notes, on today's file.
                # Through matching-refs: PyGithub's lazy get_git_ref() would PATCH /git/ref/ (singular).
                refs = repo.get_git_matching_refs(f"heads/{branch}")
                ref = next(r for r in refs if r.ref == f"refs/heads/{branch}")
                ref.edit(head_sha, force=True)
                self._seen.pop((self._file, branch), None)
            result = self._commit(update, message=message, branch=branch)
        except GithubException as pr_exc:
            raise self._error(
                pr_exc, f"opening a pull request for {self._file} against {self._where(base)}"
            ) from pr_exc
        return self._open_pull(repo, branch, base, message, committed=result)

    def _open_pull(
        self, repo: Any, branch: str, base: str, message: str, *, committed: PublishResult | None
    ) -> PublishResult:
        try:
            try:
                pull = repo.create_pull(
                    base=base,
                    head=branch,
                    title=message.splitlines()[0],
                    body="Patch notes by patch-push: the branch is protected, so they come as a PR.",
                )
            except GithubException as pull_exc:
                # 422 "A pull request already exists": an earlier run opened it; the commit updated it.
                owner = self._client.repository.split("/")[0]
                open_pulls = repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base)
                pull = next(iter(open_pulls), None)
                if pull_exc.status != 422 or pull is None:
                    raise
        except GithubException as pr_exc:
            raise self._error(
                pr_exc, f"opening a pull request for {self._file} against {self._where(base)}"
            ) from pr_exc
        return PublishResult(
            outcome="pull-request",
            file=self._file,
            commit_sha=committed.commit_sha if committed else None,
            commit_url=committed.commit_url if committed else None,
            pull_request_url=pull.html_url,
        )

    def _update_release(self, section: str) -> str:
        repo = self._client.repo()
        try:
            release = (
                repo.get_latest_release() if self._release == "latest" else repo.get_release(self._release)
            )
            body = replace_or_prepend(release.body or "", section)
            if len(body) > MAX_RELEASE_BODY:
                raise PublishError(
                    f"the notes make release {self._release} longer than GitHub's "
                    f"{MAX_RELEASE_BODY:,} characters",
                    "narrow the range with `since`",
                )
            release.update_release(name=release.title or release.tag_name, message=body)
        except GithubException as exc:
            raise self._error(exc, f"updating release {self._release}") from exc
        return str(release.html_url)

    def _get(self, path: str, branch: str) -> tuple[str | None, str | None]:
        if (path, branch) in self._seen:
            return self._seen[(path, branch)]
        repo = self._client.repo()
        try:
            content: Any = repo.get_contents(path, ref=branch)
        except GithubException as exc:
            if (
                exc.status == 404
                and "branch" not in str(exc.data).lower()
                and "ref" not in str(exc.data).lower()
            ):
                self._seen[(path, branch)] = (None, None)
                return None, None
            raise self._error(exc, f"reading {path} from {self._where(branch)}") from exc
        except Exception as exc:
            raise translate(
                exc, doing=f"reading {path} from {self._where(branch)}", error=PublishError
            ) from exc
        if isinstance(content, list):
            raise PublishError(
                f"{path} in {self._where(branch)} is a directory", "give a file path in `file`"
            )
        if content.size > MAX_FILE_BYTES or content.encoding == "none":
            raise PublishError(
                f"{path} in {self._where(branch)} is {content.size:,} bytes, larger than the "
                "1 MB the Contents API serves",
                "use `mode: overwrite` or start a new file",
            )
        text = base64.b64decode(content.content).decode("utf-8")
        self._seen[(path, branch)] = (text, content.sha)
        return text, content.sha

    def _where(self, branch: str) -> str:
        return f"{self._client.repository}@{branch}"

    def _error(self, exc: Exception, doing: str) -> PublishError:
        error = translate(exc, doing=doing, error=PublishError)
        assert isinstance(error, PublishError)
        return error


def _is_stale(exc: GithubException) -> bool:
    """409 'does not match' (the sha moved) or 422 'sha wasn't supplied' (the file appeared)."""
    text = error_message(exc, whole=True).lower()
    return (exc.status == 409 and not _is_protected(exc)) or (exc.status == 422 and "sha" in text)


def _is_protected(exc: GithubException) -> bool:
    text = error_message(exc, whole=True).lower()
    return any(marker in text for marker in _PROTECTED)
