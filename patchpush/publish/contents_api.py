"""Publish through the GitHub Contents API: GitHub makes the commit itself, no checkout or push.

Optimistic concurrency: every PUT carries the blob sha we merged onto. When another writer moved the
file (409), we back off with jitter, read it again and ask the update again: it merges onto theirs, or
raises MarkerMoved when they described newer changes, and the pipeline collects again (issue 9, item 7).
A PUT whose answer was lost may still have made the commit: the re-read finds it by this run's trailer.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import time
import uuid
from dataclasses import replace
from typing import Any

import requests
import urllib3.exceptions
from github.GithubException import GithubException

from patchpush.errors import PublishError
from patchpush.github_client import GitHubClient, error_message, translate
from patchpush.models import PublishResult
from patchpush.publish import MarkerMoved, Update
from patchpush.publish.document import replace_or_prepend

MAX_ATTEMPTS = 6
# Full jitter between attempts, so writers that lost the same race do not meet again at once.
BACKOFF_S = 0.25
BACKOFF_CAP_S = 4.0
# One 404 is not taken as "the notes file does not exist" (issue 9, item 8): the file is then created
# without a blob sha, which GitHub refuses (422) when the file exists after all, and the refusal makes
# the run read it again and collect after its marker. So a replica glitch costs a re-collect, never a
# changelog described from the start, and a first run costs no second read.
MAX_FILE_BYTES = 1_000_000  # the Contents API returns no content above 1 MB
RUN_TRAILER = "Patch-Push-Run"
# What a request raises besides GithubException when the network, not our code, failed.
_TRANSPORT = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    json.JSONDecodeError,
    OSError,
)
MAX_RELEASE_BODY = 125_000  # GitHub's limit on a release body, in characters
_PROTECTED = ("protected branch", "must be made through a pull request", "repository rule violations")


class ContentsApiPublisher:
    def __init__(
        self,
        *,
        client: GitHubClient,
        file: str,
        on_protected_branch: str = "pull-request",
        release: str = "",
        replace_oversized: bool = False,
    ) -> None:
        self._client = client
        self._file = file
        self._on_protected = on_protected_branch
        self._release = release
        # Overwrite mode needs nothing of the old text, so a file over 1 MB is replaced (issue 9, item 9).
        self._replace_oversized = replace_oversized
        # Names this run's commit, so a PUT whose answer was lost can be recognised on the branch.
        self._run = uuid.uuid4().hex[:16]
        # (text, blob sha) per path and branch, so publish() does not read again what read() just read.
        self._seen: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def read(self, path: str) -> str | None:
        return self._get(path, self._client.branch)[0]

    def publish(self, update: Update, *, message: str, section: str = "") -> PublishResult:
        branch = self._client.branch
        message = f"{message.rstrip()}\n{RUN_TRAILER}: {self._run}\n"
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
        key = (self._file, branch)
        sent: str | None = None  # the text of a PUT that got 409 or 422: maybe our own, retried
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                # Waiting out other writers, not GitHub: without a pause they collide again.
                time.sleep(random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_S * 2**attempt)))
            old, sha = self._get(self._file, branch)
            if sent is not None and old == sent and (landed := self._landed(branch, message)):
                return landed
            new = update(old)
            if new == old:
                return PublishResult(outcome="skipped", file=self._file)
            self._check_size(new, branch)
            try:
                if sha is None:
                    answer = repo.create_file(self._file, message, new, branch=branch)
                else:
                    answer = repo.update_file(self._file, message, new, sha, branch=branch)
            except GithubException as exc:
                if not _is_stale(exc):
                    raise
                # Another writer moved the file since we read it, or the client retried our PUT after
                # its answer was lost and met our own commit: read again and look.
                sent = new
                self._seen.pop(key, None)
                continue
            except Exception as exc:  # the network, or an answer PyGithub could not read
                return self._after_lost_answer(exc, new, message=message, branch=branch)
            commit = answer["commit"]
            self._seen[key] = (new, answer["content"].sha)
            return PublishResult(
                outcome="committed", file=self._file, commit_sha=commit.sha, commit_url=commit.html_url
            )
        raise PublishError(
            f"{self._file} in {self._where(branch)} kept changing under us ({MAX_ATTEMPTS} attempts)",
            "another job writes the same file; run again",
        )

    def _after_lost_answer(self, exc: Exception, new: str, *, message: str, branch: str) -> PublishResult:
        """The PUT failed in transport, after the client's retries: the commit may exist all the same."""
        self._seen.pop((self._file, branch), None)
        landed = None
        # When the last attempt could not even connect, GitHub is down now: a re-read would only wait
        # out the same retries. A commit an earlier attempt made is found by the next run's marker.
        if not _could_not_connect(exc):
            try:
                now, _ = self._get(self._file, branch)
                landed = self._landed(branch, message) if now == new else None
            except PublishError:
                landed = None  # GitHub is still unreachable: report the write's own failure
        if landed is None:
            raise self._error(exc, f"committing {self._file} to {self._where(branch)}") from exc
        return landed

    def _landed(self, branch: str, message: str) -> PublishResult | None:
        """This run's commit, when the file holds what we sent though we never saw the answer."""
        doing = f"looking for our commit of {self._file} in {self._where(branch)}"
        try:
            newest = next(iter(self._client.repo().get_commits(sha=branch, path=self._file)), None)
            found = newest is not None and f"{RUN_TRAILER}: {self._run}" in newest.commit.message
        except (GithubException, *_TRANSPORT) as exc:
            raise self._error(exc, doing) from exc
        if not found or newest is None:
            return None
        return PublishResult(
            outcome="committed", file=self._file, commit_sha=newest.sha, commit_url=newest.html_url
        )

    def _check_size(self, new: str, branch: str) -> None:
        size = len(new.encode("utf-8"))
        if size > MAX_FILE_BYTES:
            # Written, it could never be read back: every later run would fail on it.
            raise PublishError(
                f"the notes would make {self._file} in {self._where(branch)} {size:,} bytes, over the "
                f"{MAX_FILE_BYTES:,} the Contents API serves",
                "start a new file with `file`, or move older sections out of this one",
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
                if _proposes(update, pending):
                    # It already proposes exactly these notes: nothing to commit, point at its PR.
                    return self._open_pull(repo, branch, base, message, committed=None)
                # Start it again from the base, so the PR holds only the notes, on today's file.
                # Through matching-refs: PyGithub's lazy get_git_ref() would PATCH /git/ref/ (singular).
                refs = repo.get_git_matching_refs(f"heads/{branch}")
                ref = next(r for r in refs if r.ref == f"refs/heads/{branch}")
                ref.edit(head_sha, force=True)
                self._seen.pop((self._file, branch), None)
            result = self._commit(update, message=message, branch=branch)
        except (GithubException, *_TRANSPORT) as pr_exc:
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
        except (GithubException, *_TRANSPORT) as pr_exc:
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
        except (GithubException, *_TRANSPORT) as exc:
            raise self._error(exc, f"updating release {self._release}") from exc
        return str(release.html_url)

    def _get(self, path: str, branch: str) -> tuple[str | None, str | None]:
        if (path, branch) in self._seen:
            return self._seen[(path, branch)]
        where = self._where(branch)
        content = self._fetch(path, branch)
        if content is None:
            self._seen[(path, branch)] = (None, None)
            return None, None
        if isinstance(content, list):
            raise PublishError(f"{path} in {where} is a directory", "give a file path in `file`")
        if content.type != "file":
            raise PublishError(
                f"{path} in {where} is a {content.type}, not a file", "give the path of a regular file"
            )
        if content.size > MAX_FILE_BYTES or content.encoding == "none":
            if path == self._file and self._replace_oversized:
                # Its text cannot be read, and overwrite mode needs none: it is replaced. The marker
                # goes with it, so the range starts as on a first run.
                self._seen[(path, branch)] = ("", content.sha)
                return "", content.sha
            raise PublishError(
                f"{path} in {where} is {content.size:,} bytes, larger than the 1 MB the Contents API serves",
                "use `mode: overwrite` (which replaces it), or start a new file with `file`",
            )
        try:
            text = base64.b64decode(content.content).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as exc:
            raise PublishError(
                f"{path} in {where} is not UTF-8 text ({exc})",
                "convert the file to UTF-8, or choose another `file`",
            ) from exc
        self._seen[(path, branch)] = (text, content.sha)
        return text, content.sha

    def _fetch(self, path: str, branch: str) -> Any:
        """The Contents API's answer for `path`, None when it answers 404 for the file itself."""
        doing = f"reading {path} from {self._where(branch)}"
        try:
            return self._client.repo().get_contents(path, ref=branch)
        except GithubException as exc:
            text = str(exc.data).lower()
            if exc.status != 404 or "branch" in text or "ref" in text:
                raise self._error(exc, doing) from exc
        except Exception as exc:
            raise translate(exc, doing=doing, error=PublishError) from exc
        return None

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


def _proposes(update: Update, pending: str | None) -> bool:
    """Whether the pull request's branch already holds exactly these notes."""
    try:
        return update(pending) == pending
    except MarkerMoved:  # it proposes another range: it is started again from the base
        return False


def _could_not_connect(exc: Exception) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    cause = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    reason = getattr(cause, "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)
