"""Names and refs for pushes.git: the checks that keep a branch, tag, sha, revision or URL
from reaching git as anything but a name, and the refs themselves: resolving revisions, branch
cut, move and compare-and-swap advance, ancestry, annotated tags, and the atomic push to origin.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from git.cmd import Git

from pushes.git.run import NETWORK_TIMEOUT, BranchMoved, GitError, InvalidName, _exec, _open

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SHA = re.compile(r"[0-9a-fA-F]{4,64}")
_TRANSPORT_HELPER = re.compile(r"[A-Za-z0-9+.-]+::")  # "ext::sh -c ..." runs commands


# --- validation ---------------------------------------------------------------------------


def _sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise InvalidName(f"not a commit sha: {sha!r}")
    return sha.lower()


def _rev(rev: str) -> str:
    """A revision git cannot mistake for an option."""
    if not isinstance(rev, str) or not rev or rev.startswith("-") or _CONTROL.search(rev):
        raise InvalidName(f"refusing revision {rev!r}")
    return rev


@lru_cache(maxsize=4096)
def _check_ref(ref: str) -> str:
    """Git's own rules for a full ref name, plus no component that looks like an option."""
    parts = ref.split("/")
    if any(part.startswith("-") for part in parts) or parts[-1] == "HEAD" or _CONTROL.search(ref):
        raise InvalidName(f"refusing ref name {ref!r}")
    # The name starts with "refs/", so check-ref-format cannot read it as an option.
    if _exec(Git(), ["check-ref-format", ref], ok=None).status:
        raise InvalidName(f"refusing ref name {ref!r}")
    return ref


def _branch_ref(branch: str) -> str:
    if not isinstance(branch, str):
        raise InvalidName(f"refusing branch name {branch!r}")
    return _check_ref(f"refs/heads/{branch}")


def _check_url(url: str) -> str:
    if not url or url.startswith("-") or _TRANSPORT_HELPER.match(url) or _CONTROL.search(url):
        raise InvalidName(f"refusing remote URL {url!r}")
    return url


def trunk_ref(trunk: str) -> str:
    """The remote-tracking ref trunk is read from: ``refs/remotes/origin/<trunk>``."""
    return "refs/remotes/origin/" + _branch_ref(trunk).removeprefix("refs/heads/")


# --- refs and commits ---------------------------------------------------------------------


def _resolve(git: Git, rev: str) -> str | None:
    args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{_rev(rev)}^{{commit}}"]
    done = _exec(git, args, ok=(0, 1))
    return done.text.strip() or None if done.status == 0 else None


def _commit(git: Git, sha: str) -> str:
    """The full sha of an existing commit given in hex; GitError otherwise."""
    full = _resolve(git, _sha(sha))
    if full is None:
        raise GitError(f"no such commit: {sha}")
    return full


def _is_ancestor(git: Git, sha: str, ref: str) -> bool:
    done = _exec(git, ["merge-base", "--is-ancestor", "--end-of-options", sha, ref], ok=(0, 1))
    return done.status == 0


def rev_parse(path: Path, rev: str) -> str | None:
    """Full sha of the commit ``rev`` names, or None if there is none."""
    with _open(path) as git:
        return _resolve(git, rev)


def branch_head(path: Path, branch: str) -> str | None:
    """Where the local branch ``refs/heads/<branch>`` points, or None if it does not exist."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        return _resolve(git, ref)


def branch_tip(path: Path, branch: str) -> str:
    """Where a branch that must exist points; GitError when it does not."""
    head = branch_head(path, branch)
    if head is None:
        raise GitError(f"no such branch: {branch}")
    return head


def branch_create(path: Path, branch: str, sha: str) -> None:
    """Create ``branch`` at ``sha`` (a cut); a no-op if it is already there, GitError elsewhere."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        new = _commit(git, sha)
        # An empty old value makes update-ref refuse a ref that already exists.
        done = _exec(git, ["update-ref", "-m", "releasebot: cut", ref, new, ""], ok=None)
        current = _resolve(git, ref) if done.status else new
    if current is None:
        raise GitError(f"could not create {branch}", status=done.status, stderr=done.err)
    if current != new:
        raise GitError(f"branch {branch} already exists at {current}")


def branch_move(path: Path, branch: str, sha: str) -> None:
    """Force ``branch`` to ``sha``, wherever it was (for ``latest``)."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        _exec(git, ["update-ref", "-m", "releasebot: move", ref, _commit(git, sha)])


def branch_advance(path: Path, branch: str, new_sha: str, old_sha: str) -> None:
    """Fast-forward ``branch`` from ``old_sha`` to ``new_sha`` by compare-and-swap.

    Raises BranchMoved if the branch is not at ``old_sha``. A branch already at ``new_sha``
    counts as done, so a task that crashed after the move can safely run again.
    """
    ref = _branch_ref(branch)
    with _open(path) as git:
        new, old = _commit(git, new_sha), _commit(git, old_sha)
        if not _is_ancestor(git, old, new):
            raise GitError(f"{new} does not descend from {old}: not advancing {branch}")
        done = _exec(git, ["update-ref", "-m", "releasebot: advance", ref, new, old], ok=None)
        if done.status == 0:
            return
        current = _resolve(git, ref)
    if current == new:
        return
    if current != old:
        raise BranchMoved(f"branch {branch} is at {current}, not {old}", stderr=done.err)
    raise GitError(f"could not advance {branch}", status=done.status, stderr=done.err)


def branch_replace(path: Path, branch: str, new_sha: str, old_sha: str) -> None:
    """Move ``branch`` from ``old_sha`` to ``new_sha`` by compare-and-swap, even where ``new_sha``
    does not descend from it: the branch rebuilt on origin's, which someone moved by hand."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        new, old = _commit(git, new_sha), _commit(git, old_sha)
        done = _exec(git, ["update-ref", "-m", "releasebot: rebuild", ref, new, old], ok=None)
        if done.status == 0:
            return
        current = _resolve(git, ref)
    if current != new:
        raise BranchMoved(f"branch {branch} is at {current}, not {old}", stderr=done.err)


def is_ancestor(path: Path, sha: str, ref: str) -> bool:
    """Whether commit ``sha`` is reachable from ``ref``; GitError if either is unknown."""
    with _open(path) as git:
        return _is_ancestor(git, _sha(sha), _rev(ref))


# --- tags and the remote ------------------------------------------------------------------


def tag_create(path: Path, name: str, sha: str, message: str) -> None:
    """Annotated tag ``name`` at ``sha``; a no-op if it is already there, GitError elsewhere."""
    ref = _check_ref(f"refs/tags/{name}")
    with _open(path) as git:
        target = _commit(git, sha)
        current = _resolve(git, ref)
        if current is None:
            args = ["tag", "--annotate", "-m", message or name, "--end-of-options", name, target]
            done = _exec(git, args, ok=None)
            # Another process may have made it between the two commands: look again.
            current = _resolve(git, ref) if done.status else target
            if current is None:
                raise GitError(f"could not tag {name}", status=done.status, stderr=done.err)
    if current != target:
        raise GitError(f"tag {name} already exists at {current}")


def push(path: Path, refs: list[str]) -> None:
    """Push each ref to the same name on origin, all or nothing.

    A ref prefixed with ``+`` (a branch such as ``+refs/heads/latest``) may move backwards, but
    only if origin still has it where we last fetched it (``--force-with-lease``).
    """
    leases, specs = [], []
    for entry in refs:
        ref = entry.removeprefix("+")
        if not ref.startswith(("refs/heads/", "refs/tags/")):
            raise InvalidName(f"refusing to push {entry!r}")
        _check_ref(ref)
        if entry.startswith("+"):
            if not ref.startswith("refs/heads/"):
                raise InvalidName(f"refusing to force-push {entry!r}")
            leases.append(f"--force-with-lease={ref}")
        specs.append(f"{ref}:{ref}")
    if not specs:
        return
    with _open(path) as git:
        args = ["push", "--atomic", "--quiet", *leases, "origin", *specs]
        _exec(git, args, timeout=NETWORK_TIMEOUT)


def remote_tag(path: Path, name: str) -> str | None:
    """The commit origin's tag ``name`` points at right now (asks the remote), or None."""
    ref = _check_ref(f"refs/tags/{name}")
    with _open(path) as git:
        args = ["ls-remote", "--tags", "--end-of-options", "origin", ref, f"{ref}^{{}}"]
        out = _exec(git, args, timeout=NETWORK_TIMEOUT).text
    found: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, got = line.partition("\t")
        found[got] = sha
    # An annotated tag is listed twice: the tag object, then ^{} and the commit it points at.
    return found.get(f"{ref}^{{}}") or found.get(ref)


def remote_branch_head(path: Path, branch: str) -> str | None:
    """Where origin's ``branch`` points right now (asks the remote), or None."""
    ref = _branch_ref(branch)
    with _open(path) as git:
        args = ["ls-remote", "--heads", "--end-of-options", "origin", ref]
        out = _exec(git, args, timeout=NETWORK_TIMEOUT).text
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None
