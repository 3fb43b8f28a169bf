"""Real git repositories for tests, built with plain git in temp folders.

`RemoteRepo` is a bare "remote" with trunk `main`. Identities and dates are fixed (one hour
apart per commit) and git runs with no global or system config, so a test never depends on the
machine's git config or clock.
"""

from __future__ import annotations

import copy
import itertools
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

EPOCH = 1_793_000_000  # 2026-10-27, the first commit's date
PEOPLE = {
    "rel": ("Rel Engineer", "rel@example.com"),
    "alice": ("Alice Liddell", "alice@example.com"),
    "bob": ("Bob Lee", "bob@example.com"),
    "carol": ("Carol Danvers", "carol@example.com"),
}
TRUNK = "main"


def hermetic_env(**extra: str) -> dict[str, str]:
    """The current environment without any git config, identity or repository of the user's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")
    env.update(extra)
    return env


def identity_env(person: str, when: int) -> dict[str, str]:
    """``person`` as author and committer, at epoch second ``when``."""
    name, email = PEOPLE[person]
    date = f"@{when} +0000"
    return hermetic_env(
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_AUTHOR_DATE=date,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
        GIT_COMMITTER_DATE=date,
    )


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``cwd`` and return its stdout; fail the test with git's stderr otherwise."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=dict(env) if env is not None else identity_env("rel", EPOCH),
        capture_output=True,
        check=False,
    )
    if done.returncode:
        stderr = done.stderr.decode(errors="replace")
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}): {stderr}")
    return done.stdout.decode(errors="replace")


def review_line(number: int) -> str:
    """A review link in one of the two shapes trunk commits carry."""
    if number % 2:
        return f"Pull request: https://github.com/acme/app/pull/{number}"
    return f"Differential Revision: https://phabricator.example.com/D{number}"


def _quote(path: str) -> str:
    escaped = path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _data(content: str | bytes) -> bytes:
    raw = content.encode() if isinstance(content, str) else content
    return b"data %d\n%s\n" % (len(raw), raw)


class RemoteRepo:
    """A bare remote with trunk ``main`` of ``commits`` commits by alice, bob and carol.

    Commits are written with ``git fast-import`` straight into the bare repository: one git
    process per commit and no checkout, which keeps a test's repository cheap to build.
    ``trunk`` lists trunk's first-parent shas, oldest first; ``tip`` is the newest.
    """

    def __init__(self, root: Path, commits: int = 3) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.bare = root / "remote.git"
        self.trunk: list[str] = []
        self._now = EPOCH
        git(root, "init", "--quiet", "--bare", f"--initial-branch={TRUNK}", str(self.bare))
        authors = itertools.cycle(["alice", "bob", "carol"])
        for n in range(1, commits + 1):
            files = {f"src/module{n}.py": f"VALUE = {n}\n"}
            self.commit(files, f"Add module {n}", author=next(authors), body=review_line(100 + n))

    def copy(self, root: Path) -> RemoteRepo:
        """An independent copy in ``root``, cheaper than building the same history again."""
        twin = copy.copy(self)
        twin.bare = root / "remote.git"
        twin.trunk = list(self.trunk)
        shutil.copytree(self.bare, twin.bare, symlinks=True)
        return twin

    @property
    def url(self) -> str:
        return str(self.bare)

    @property
    def tip(self) -> str:
        return self.trunk[-1]

    def _stream(
        self,
        files: Mapping[str, str | bytes | None],
        message: str,
        author: str,
        *,
        mark: int,
        merge: str | None = None,
        renames: Mapping[str, str] | None = None,
    ) -> bytes:
        """One fast-import ``commit`` on trunk's tip (content None deletes a file)."""
        name, email = PEOPLE[author]
        who = f"{name} <{email}> {self._now} +0000"
        self._now += 3600
        head = [f"commit refs/heads/{TRUNK}", f"mark :{mark}", f"author {who}", f"committer {who}"]
        out = "".join(f"{line}\n" for line in head).encode() + _data(message.rstrip("\n") + "\n")
        changes = [f"from {self.tip}"] if self.trunk else []
        changes += [f"merge {merge}"] if merge else []
        changes += [f"R {_quote(old)} {_quote(new)}" for old, new in (renames or {}).items()]
        out += "".join(f"{line}\n" for line in changes).encode()
        for path, content in files.items():
            if content is None:
                out += f"D {_quote(path)}\n".encode()
            else:
                out += f"M 100644 inline {_quote(path)}\n".encode() + _data(content)
        return out + b"\n"

    def _import(self, stream: bytes, mark: int) -> str:
        """Run fast-import; return the sha of commit ``mark``, now trunk's tip."""
        done = subprocess.run(
            ["git", "fast-import", "--quiet", "--done", "--cat-blob-fd=1"],
            cwd=self.bare,
            env=hermetic_env(),
            input=stream + f"get-mark :{mark}\ndone\n".encode(),
            capture_output=True,
            check=False,
        )
        if done.returncode:
            raise AssertionError(f"git fast-import failed: {done.stderr.decode(errors='replace')}")
        self.trunk.append(done.stdout.decode().strip())
        return self.tip

    def commit(
        self,
        files: Mapping[str, str | bytes | None] | None = None,
        title: str = "Change things",
        *,
        author: str = "alice",
        body: str = "",
        renames: Mapping[str, str] | None = None,
    ) -> str:
        """Commit on trunk (content None deletes a file) and return its sha."""
        message = f"{title}\n\n{body}" if body else title
        return self._import(self._stream(files or {}, message, author, mark=1, renames=renames), 1)

    def merge(
        self, files: Mapping[str, str | bytes | None], title: str, author: str = "bob"
    ) -> str:
        """A side commit merged into trunk with a merge commit; return the merge's sha."""
        side = self._stream(files, f"{title} (side)", author, mark=1)
        # Both start from the tip; fast-import does not merge, so the merge carries the files.
        merge = self._stream(files, title, author, mark=2, merge=":1")
        return self._import(side + merge, 2)

    def by_hand(
        self, branch: str, work: Path, *commands: tuple[str, ...], person: str = "rel"
    ) -> str:
        """What a person does on a release branch outside Releasebot: clone the remote into
        ``work``, run each git command there (a cherry-pick, a revert, a commit), push the
        branch back. Returns the branch's new head on the remote."""
        if not work.exists():
            git(work.parent, "clone", "--quiet", "--branch", branch, str(self.bare), work.name)
        else:
            git(work, "fetch", "--quiet", "origin")
            git(work, "checkout", "--quiet", "-B", branch, f"origin/{branch}")
        self._now += 60
        env = identity_env(person, self._now)
        for command in commands:
            git(work, *command, env=env)
        git(work, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", env=env)
        return self.head(f"refs/heads/{branch}") or ""

    def hand_pick(self, branch: str, work: Path, sha: str, *, x: bool = True) -> str:
        """A hotfix pushed by hand: ``git cherry-pick [-x] sha`` onto ``branch`` and push."""
        return self.by_hand(branch, work, ("cherry-pick", *(["-x"] if x else []), sha))

    def hand_commit(self, branch: str, work: Path, name: str, content: str, title: str) -> str:
        """A change made on the release branch itself and pushed by hand."""
        path = work / name if work.exists() else None
        if path is None:
            self.by_hand(branch, work)  # clone it first
            path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        return self.by_hand(branch, work, ("add", name), ("commit", "--quiet", "-m", title))

    def head(self, ref: str = TRUNK) -> str | None:
        """Where the remote's ``ref`` points, or None."""
        try:
            return git(self.bare, "rev-parse", "--verify", "--quiet", ref).strip()
        except AssertionError:
            return None

    def read(self, ref: str, name: str) -> str:
        """A file's content at the remote's ``ref``."""
        return git(self.bare, "show", f"{ref}:{name}")

    def log(self, ref: str = TRUNK) -> list[str]:
        """The remote's first-parent history of ``ref``, newest first, as git tells it."""
        return git(self.bare, "rev-list", "--first-parent", ref).split()


def read_file(repo: Path, ref: str, name: str) -> str:
    """A file's content at ``ref`` in any repository (the managed clone, say)."""
    return git(repo, "show", f"{ref}:{name}")


def branch_log(repo: Path, ref: str, base: str) -> list[str]:
    """Full messages of the commits in ``base..ref``, newest first."""
    out = git(repo, "log", "-z", "--format=%B", f"{base}..{ref}")
    return [message.strip() for message in out.split("\0") if message.strip()]


def repo_state(repo: Path) -> dict[str, bytes]:
    """Every file of a bare repository but its objects and reflogs: refs, config, worktrees.

    Equal before and after an operation means the operation left the repository as it was.
    """
    state = {}
    for file in sorted(repo.rglob("*")):
        relative = file.relative_to(repo)
        if file.is_file() and relative.parts[0] not in {"objects", "logs"}:
            state[str(relative)] = file.read_bytes()
    return state
