"""Calling a repository's deploy hook after a push: a command (never through a shell) or an
HTTP(S) URL to POST to. Deploying itself is not Releasebot's."""

from __future__ import annotations

import json
import shlex
import urllib.request

from pushes import git
from pushes.models import Push
from pushes.services.repositories import scratch_dir

DEPLOY_TIMEOUT = 300


def deploy_hook_call(hook: str, push: Push, *, key: str = "") -> str:
    """Call the repository's deploy hook; returns "" or what went wrong. Never a shell.

    `key` is the same for every call of one push's deploy (a resumed push calls again only if
    the first call never finished): a hook sees it as the `Idempotency-Key` header or the
    RELEASEBOT_IDEMPOTENCY_KEY variable and can drop a second call."""
    info = {
        "repository": push.branch.repository.slug,
        "branch": push.branch.name,
        "push": push.label,
        "tag": push.tag,
        "sha": push.head_sha,
    }
    if hook.startswith(("http://", "https://")):
        request = urllib.request.Request(
            hook,
            data=json.dumps(info).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=DEPLOY_TIMEOUT) as response:
                response.read(1000)
            return ""
        except OSError as error:
            return f"deploy hook {hook} failed: {error}"
    env = {f"RELEASEBOT_{name.upper()}": value for name, value in info.items()}
    env["RELEASEBOT_IDEMPOTENCY_KEY"] = key
    try:
        result = git.run_command(shlex.split(hook), scratch_dir(), DEPLOY_TIMEOUT, env)
    except ValueError as error:
        return f"deploy hook cannot be parsed: {error}"
    if result.timed_out or result.exit_code != 0:
        return f"deploy hook exited {result.exit_code}: {result.output[-500:]}"
    return ""
