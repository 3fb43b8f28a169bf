"""Running git and other commands for pushes.git: the errors every git call raises, the
environment and timeouts each command runs with, ``_exec`` and ``_stream`` for one git command
through GitPython's runner, and ``run_command`` for a test or deploy command in its own process
group, killed on timeout with everything it started, in a clean environment (``command_env``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

from git import Repo
from git.cmd import Git
from git.exc import GitCommandNotFound, InvalidGitRepositoryError, NoSuchPathError

from common.redact import is_product_secret, redact

LOCAL_TIMEOUT = 600.0  # a local command on a 100,000-commit repository, with room to spare
NETWORK_TIMEOUT = 1800.0  # clone, fetch or push of a large repository over a slow link
OUTPUT_LIMIT = 200_000  # bytes of a test run's output kept: the end, where failures are
KILL_GRACE = 2.0  # seconds a timed-out command gets between SIGTERM and SIGKILL
OUTPUT_EVERY = 2.0  # seconds between looks at a running command's output (`on_output`)

# A remote asking for credentials must fail rather than wait for a human who is not there.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
# What a test command or deploy hook gets of the worker's environment, besides what the
# repository names: enough to find programs, a home and a locale, nothing of the worker's.
COMMAND_BASE_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ")


def _redact(text: str) -> str:
    """Remote URLs may carry credentials, stderr may quote a secret."""
    return redact(text)


def command_env(extra: dict[str, str] | None = None, names: Sequence[str] = ()) -> dict[str, str]:
    """The environment of a user command: ``COMMAND_BASE_ENV`` and ``LC_*`` from the worker's,
    the variables the repository ``names`` (never Releasebot's own secrets), then ``extra``."""
    wanted = {name for name in names if not is_product_secret(name)}
    kept = {
        name: value
        for name, value in os.environ.items()
        if name in COMMAND_BASE_ENV or name.startswith("LC_") or name in wanted
    }
    return {**kept, **(extra or {})}


class GitError(Exception):
    """A git command failed, or was refused before it ran."""

    def __init__(
        self,
        message: str,
        *,
        command: Sequence[str] = (),
        status: int | None = None,
        stderr: str = "",
    ) -> None:
        self.message = _redact(message)
        self.command = tuple(_redact(str(part)) for part in command)
        self.status = status
        self.stderr = _redact(stderr)
        super().__init__(self.message)

    def __str__(self) -> str:
        text = self.message if self.status is None else f"{self.message} (exit {self.status})"
        detail = "; ".join(line.strip() for line in self.stderr.splitlines() if line.strip())
        return f"{text}: {detail[:500]}" if detail else text


class BranchMoved(GitError):
    """A compare-and-swap found the branch somewhere other than the expected old sha."""


class InvalidName(GitError, ValueError):
    """A branch, tag, sha, revision or URL that Releasebot refuses to hand to git."""


@dataclass(frozen=True)
class CommandResult:
    exit_code: int | None  # None when the command timed out and was killed
    output: str
    duration: float
    timed_out: bool


# --- running git --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Done:
    status: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")


def _argv(args: Sequence[str]) -> list[str]:
    return [Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *args]


@contextmanager
def _open(path: Path | str) -> Iterator[Git]:
    """The command runner of the repository at ``path``; the Repo is closed on exit."""
    try:
        repo = Repo(path)
    except (InvalidGitRepositoryError, NoSuchPathError) as exc:
        raise GitError(f"not a git repository: {path}") from exc
    with repo:
        yield repo.git


def _exec(
    git: Git,
    args: Sequence[str],
    *,
    ok: Sequence[int] | None = (0,),
    timeout: float = LOCAL_TIMEOUT,
    istream: BinaryIO | None = None,
) -> _Done:
    """Run one git command; raise GitError unless its status is in ``ok`` (None: any status)."""
    command = _argv(args)
    try:
        result = git.execute(
            command,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            kill_after_timeout=timeout,
            env=GIT_ENV,
            istream=istream,
        )
    except GitCommandNotFound as exc:
        raise GitError("git is not installed", command=command) from exc
    status, out, err = cast(tuple[int, bytes, str], result)
    if ok is not None and status not in ok:
        verb = next((arg for arg in args if not arg.startswith("-")), "")
        raise GitError(f"git {verb} failed", command=command, status=status, stderr=err)
    return _Done(status, out or b"", err or "")


def _stream(git: Git, args: Sequence[str]) -> Generator[bytes, None, None]:
    """Yield a git command's stdout in chunks as it is produced; GitError if it fails.

    Closing the iterator early kills git, so an abandoned walk of a huge history costs nothing.
    """
    command = _argv(args)
    handle = git.execute(command, as_process=True, env=GIT_ENV)  # its __del__ would kill git
    process = handle.proc
    assert process is not None and process.stdout is not None and process.stderr is not None
    out, err = process.stdout, process.stderr
    finished = False
    try:
        yield from iter(lambda: os.read(out.fileno(), 65536), b"")
        finished = True
    finally:
        if not finished:
            process.kill()
        stderr = err.read().decode("utf-8", "replace")
        status = process.wait()
        out.close()
        err.close()
    if status != 0:
        raise GitError(f"git {args[0]} failed", command=command, status=status, stderr=stderr)


# --- running commands ---------------------------------------------------------------------


class _Tail:
    """The last OUTPUT_LIMIT bytes of a stream: a chatty test run must not fill memory."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.dropped = 0
        self.lock = threading.Lock()

    def drain(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            with self.lock:
                self.data += chunk
                if len(self.data) > 2 * OUTPUT_LIMIT:
                    self.dropped += len(self.data) - OUTPUT_LIMIT
                    del self.data[:-OUTPUT_LIMIT]

    def text(self) -> str:
        with self.lock:
            kept = bytes(self.data[-OUTPUT_LIMIT:])
            dropped = self.dropped + len(self.data) - len(kept)
        text = kept.decode("utf-8", "replace")
        return f"[... {dropped} bytes of output cut ...]\n{text}" if dropped else text


def _wait_exit(pid: int, deadline: float) -> bool:
    """Wait for ``pid`` to exit without reaping it, so its pid still names its process group."""
    delay = 0.005
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): it has exited
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # the whole group is already gone
        os.killpg(pgid, sig)


def _next_look(deadline: float, on_output: Callable[[str], None] | None) -> float:
    return deadline if on_output is None else min(deadline, time.monotonic() + OUTPUT_EVERY)


def run_command(
    argv: Sequence[str],
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    pass_env: Sequence[str] = (),
    on_output: Callable[[str], None] | None = None,
) -> CommandResult:
    """Run ``argv`` in its own process group; kill the group on timeout and when it ends.

    It gets ``command_env(env, pass_env)``, not the worker's environment: its output is a log
    every engineer reads, and the worker's environment holds the product's secrets.
    ``on_output`` is handed the output so far every ``OUTPUT_EVERY`` seconds while it runs
    (from this thread), for a page that shows it live."""
    started = time.monotonic()
    if not argv:
        raise ValueError("empty command")
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=command_env(env, pass_env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:  # like a shell: 127 not found, 126 not runnable
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        output = f"{argv[0]}: {exc.strerror}\n"
        return CommandResult(code, output, time.monotonic() - started, timed_out=False)
    tail = _Tail()
    reader = threading.Thread(target=tail.drain, args=(process.stdout,), daemon=True)
    reader.start()
    deadline = started + timeout
    while not (exited := _wait_exit(process.pid, _next_look(deadline, on_output))):
        if on_output is None or time.monotonic() >= deadline:
            break
        on_output(tail.text())
    timed_out = not exited
    if timed_out:
        _signal_group(process.pid, signal.SIGTERM)  # a chance to clean up first
        _wait_exit(process.pid, time.monotonic() + KILL_GRACE)
    _signal_group(process.pid, signal.SIGKILL)
    code = process.wait()
    # A grandchild that left the group may still hold the pipe: do not wait for it forever.
    reader.join(KILL_GRACE)
    duration = time.monotonic() - started
    return CommandResult(None if timed_out else code, tail.text(), duration, timed_out)
