"""Calling a repository's deploy hook after a push: a command (never through a shell, in a
clean environment) or an https URL to POST to. Deploying itself is not Releasebot's."""

from __future__ import annotations

import shlex
from typing import Any

import requests

from common.outbound import is_url, target_of, url_refusal
from common.redact import redact
from pushes import git
from pushes.models import Push
from pushes.services.repositories import scratch_dir

DEPLOY_TIMEOUT = 300


def deploy_hook_call(hook: str, push: Push, *, key: str = "") -> str:
    """Call the repository's deploy hook; returns "" or what went wrong. Never a shell.

    What went wrong names the hook redacted (`https://***@host/path?api_key=***`): it is the
    push's error, shown on its page, in the API and in chat. `key` is the same for every call
    of one push's deploy (a resumed push calls again only if the first call never finished): a
    hook sees it as the `Idempotency-Key` header or RELEASEBOT_IDEMPOTENCY_KEY and can drop a
    second call."""
    repository = push.branch.repository
    info = {
        "repository": repository.slug,
        "branch": push.branch.name,
        "push": push.label,
        "tag": push.tag,
        "sha": push.head_sha,
    }
    if is_url(hook):
        return _post(hook, info, key=key, allow_http=repository.deploy_hook_allow_http)
    env = {f"RELEASEBOT_{name.upper()}": value for name, value in info.items()}
    env["RELEASEBOT_IDEMPOTENCY_KEY"] = key
    try:
        argv = shlex.split(hook)
        result = git.run_command(
            argv, scratch_dir(), DEPLOY_TIMEOUT, env, repository.command_env_names
        )
    except ValueError as error:
        return f"deploy hook cannot be parsed: {error}"
    if result.timed_out or result.exit_code != 0:
        return f"deploy hook exited {result.exit_code}: {redact(result.output)[-500:]}"
    return ""


def _post(hook: str, info: dict[str, Any], *, key: str, allow_http: bool) -> str:
    """POST `info` as JSON; the URL's `user:password@` goes as Basic auth, never followed by a
    redirect (which would replay the credentials to wherever it points)."""
    shown = redact(hook)
    if refusal := url_refusal(hook, allow_http=allow_http):
        return f"deploy hook {shown} not called: {refusal}"
    target = target_of(hook)
    try:
        response = requests.post(
            target.url,
            json=info,
            auth=target.auth,
            headers={"User-Agent": "Releasebot", "Idempotency-Key": key},
            timeout=DEPLOY_TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return redact(f"deploy hook {shown} failed: {type(error).__name__}: {error}")
    with response:
        if not 200 <= response.status_code < 300:
            return f"deploy hook {shown} failed: HTTP {response.status_code} {response.reason}"
    return ""
