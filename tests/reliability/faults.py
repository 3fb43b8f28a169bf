"""Real slowness to stop a push at a chosen point: no seam in the product, only git hooks, a test
command and a deploy hook that announce where they are and wait while a "hold" file exists.

A point is announced by touching ``<control>/<point>`` and appending ``<point>`` to
``<control>/log``; it then waits while ``<control>/hold-<point>`` exists (at most a minute).
A test holds a point, waits for it to be reached, SIGKILLs the worker there, and releases it.

Points:
- ``test-<sha>``: the test command run after picking trunk commit ``<sha>`` (in the worktree);
  ``test-branch`` for a run with no pick on top. ``fail-test-<sha>`` makes that run fail.
- ``branch-<n>``: the n-th move of a release branch in the managed clone, just after git
  committed it (``reference-transaction`` hook): the branch has the pick, which the database
  recorded just before (a pick is recorded, then the branch moves).
- ``tag``: a push tag just written in the managed clone, before the database records it.
- ``pre-receive`` / ``post-receive``: on the remote, before / after it accepted a push.
- ``deploy``: the repository's deploy hook.
"""

from __future__ import annotations

import os
import shlex
import stat
import time
from pathlib import Path

WAIT_AT = """\
wait_at() {
  touch "$CONTROL/$1"
  echo "$1" >> "$CONTROL/log"
  n=0
  while [ -e "$CONTROL/hold-$1" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done
}
"""

TEST_SCRIPT = """\
#!/bin/sh
CONTROL="$1"
{wait_at}
trailer='s/^(cherry picked from commit \\([0-9a-f]*\\))$/\\1/p'
sha=$(git log -1 --format=%B | sed -n "$trailer" | tail -n 1)
point="test-${{sha:-branch}}"
wait_at "$point"
echo "tests of $point done"
[ ! -e "$CONTROL/fail-$point" ]
"""

REFERENCE_TRANSACTION = """\
#!/bin/sh
[ "$1" = committed ] || {{ cat >/dev/null; exit 0; }}
CONTROL={control}
{wait_at}
while read -r old new ref; do
  case "$ref" in
    refs/heads/release/*)
      n=$(grep -c '^branch-' "$CONTROL/log")
      wait_at "branch-$((n+1))";;
    refs/tags/push/*) wait_at tag;;
  esac
done
"""

RECEIVE_HOOK = """\
#!/bin/sh
cat >/dev/null
CONTROL={control}
{wait_at}
wait_at {point}
"""

DEPLOY_HOOK = """\
CONTROL={control}
{wait_at}
wait_at deploy
echo "$RELEASEBOT_TAG $RELEASEBOT_SHA $RELEASEBOT_IDEMPOTENCY_KEY" >> "$CONTROL/deploys"
"""


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class Control:
    """The folder where hooks announce themselves and tests hold them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "log").touch()

    @property
    def quoted(self) -> str:
        return shlex.quote(str(self.folder))

    def hold(self, point: str) -> None:
        (self.folder / f"hold-{point}").touch()

    def release(self) -> None:
        for held in self.folder.glob("hold-*"):
            held.unlink(missing_ok=True)

    def fail(self, point: str) -> None:
        (self.folder / f"fail-{point}").touch()

    def reached(self, point: str) -> bool:
        return (self.folder / point).exists()

    def log(self) -> list[str]:
        return (self.folder / "log").read_text().split()

    def deploys(self) -> list[str]:
        path = self.folder / "deploys"
        return path.read_text().splitlines() if path.exists() else []

    def wait(self, point: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.reached(point):
            if time.monotonic() > deadline:
                raise AssertionError(f"{point} not reached in {timeout} s; log: {self.log()}")
            time.sleep(0.02)

    # --- installing the hooks ---

    def test_script(self) -> str:
        return TEST_SCRIPT.format(wait_at=WAIT_AT)

    def install_clone_hooks(self, clone: Path) -> None:
        """Announce branch moves and push tags in the managed clone."""
        text = REFERENCE_TRANSACTION.format(control=self.quoted, wait_at=WAIT_AT)
        _executable(clone / "hooks" / "reference-transaction", text)

    def install_remote_hooks(self, bare: Path) -> None:
        for point in ("pre-receive", "post-receive"):
            text = RECEIVE_HOOK.format(control=self.quoted, wait_at=WAIT_AT, point=point)
            _executable(bare / "hooks" / point, text)

    def deploy_hook(self) -> str:
        """A deploy hook command line (no shell between Releasebot and it: sh runs a file)."""
        script = self.folder / "deploy.sh"
        script.write_text(DEPLOY_HOOK.format(control=self.quoted, wait_at=WAIT_AT))
        return f"sh {shlex.quote(str(script))}"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed and waiting to be reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"
