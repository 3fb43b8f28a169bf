"""Production settings: `manage.py check --deploy` is clean, and secrets come only from the
environment.

Settings are read once per process, so each case is a `manage.py` in a subprocess with an
environment built from nothing (no DEBUG, nothing of the test run's), as a deployment has:
only a long random SECRET_KEY and ALLOWED_HOSTS beyond the data folder.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

MANAGE = Path(settings.BASE_DIR) / "manage.py"
CLEAN = "System check identified no issues (0 silenced)."


def production(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    env: dict[str, str | None] = {
        name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ
    }
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="releasebot.example.com",
        CSRF_TRUSTED_ORIGINS="https://releasebot.example.com",
        SITE_URL="https://releasebot.example.com",
        RELEASEBOT_DATA_DIR=str(tmp_path / "var"),
    )
    env.update(changes)
    return {name: value for name, value in env.items() if value is not None}


def manage(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(MANAGE), *args],
        env=env,
        cwd=MANAGE.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> tuple[int, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    code, output = finished(
        manage(production(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    )
    assert (code, output.strip()) == (0, CLEAN)


# Every HTTPS setting weakened through its variable, and the warning `check --deploy` must then
# give for each: the clean check above is not clean by accident, and each variable does reach
# its setting. With HSTS off Django does not look at its other two settings, so HSTS off runs
# apart, at the same time: each `manage.py` costs a second and more of imports.
WEAKER = {
    "DEBUG": ("1", "security.W018"),
    "SECURE_SSL_REDIRECT": ("0", "security.W008"),
    "SECURE_COOKIES": ("0", "security.W012"),  # the session cookie; W016 is the CSRF one
    "SECRET_KEY": ("short-and-known", "security.W009"),
    "SECURE_HSTS_SECONDS": ("3600", ""),  # on (DEBUG turns it off), to check the next two
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": ("0", "security.W005"),
    "SECURE_HSTS_PRELOAD": ("0", "security.W021"),
}
NO_HSTS = {"SECURE_HSTS_SECONDS": ("0", "security.W004")}


def test_each_weaker_setting_is_caught_by_the_check(tmp_path):
    check = ("check", "--deploy", "--fail-level", "WARNING")
    running = [
        (weaker, manage(production(tmp_path, **{n: v for n, (v, _) in weaker.items()}), *check))
        for weaker in (WEAKER, NO_HSTS)
    ]
    for weaker, process in running:
        code, output = finished(process)
        missing = [f"{name}: {warning}" for name, (_, warning) in weaker.items()
                   if warning not in output]  # fmt: skip
        assert (code, missing) == (1, []), output


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    for missing in (None, ""):
        code, output = finished(manage(production(tmp_path, SECRET_KEY=missing), "check"))
        assert code == 1
        assert "ImproperlyConfigured: SECRET_KEY must be set (or DEBUG=1 for a local run)" in (
            output
        )


READ_SECRETS = """
import json, os
from django.conf import settings as s
names = ["SECRET_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"]
print(json.dumps({
    "from the environment": {n: getattr(s, n) == os.environ.get(n, "") for n in names},
    "database": s.DATABASES["default"].get("PASSWORD"),
    "broker": s.CELERY_BROKER_URL,
    "https": [s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,
              s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD],
}))
"""


def test_secrets_are_read_from_the_environment_and_nowhere_else(tmp_path):
    """Set, each secret is the environment's value; unset, the Slack ones are empty (no
    default to fall back on) and production gets the secure HTTPS settings."""
    slack = {
        "SLACK_BOT_TOKEN": "xoxb-" + secrets.token_hex(8),
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_APP_TOKEN": "xapp-" + secrets.token_hex(8),
        "DATABASE_URL": "postgres://releasebot:db-pass-from-env@db.example.com:5432/releasebot",
        "REDIS_URL": "redis://:redis-pass-from-env@redis.example.com:6379/0",
    }
    set_env, unset_env = production(tmp_path, **slack), production(tmp_path)
    processes = [
        manage(env, "shell", "--no-imports", "-c", READ_SECRETS) for env in (set_env, unset_env)
    ]
    (code_set, out_set), (code_unset, out_unset) = map(finished, processes)
    assert (code_set, code_unset) == (0, 0), out_set + out_unset
    with_secrets, without = json.loads(out_set), json.loads(out_unset)
    everything_from_env = dict.fromkeys(
        ["SECRET_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"], True
    )
    assert with_secrets["from the environment"] == everything_from_env
    assert without["from the environment"] == everything_from_env  # empty, as the env is
    assert with_secrets["database"] == "db-pass-from-env"
    assert with_secrets["broker"] == slack["REDIS_URL"]
    assert without["https"] == [False, True, True, True, 365 * 24 * 3600, True, True]


READ_HEADERS = """
import json
from django.conf import settings as s
print(json.dumps({
    "proxy": s.SECURE_PROXY_SSL_HEADER,
    "csp": "csp.middleware.CSPMiddleware" in s.MIDDLEWARE,
    "frame": s.X_FRAME_OPTIONS,
}))
"""


def test_the_proxy_header_is_trusted_only_when_asked_and_check_deploy_stays_clean(tmp_path):
    """X-Forwarded-Proto is believed only with SECURE_PROXY_SSL_HEADER=1 (a client could send
    it itself); either way production keeps the CSP and `check --deploy` has nothing to say."""
    envs = [production(tmp_path), production(tmp_path, SECURE_PROXY_SSL_HEADER="1")]
    reads = [manage(env, "shell", "--no-imports", "-c", READ_HEADERS) for env in envs]
    checks = [manage(env, "check", "--deploy", "--fail-level", "WARNING") for env in envs]
    (code_off, out_off), (code_on, out_on) = map(finished, reads)
    assert (code_off, code_on) == (0, 0), out_off + out_on
    assert json.loads(out_off) == {"proxy": None, "csp": True, "frame": "DENY"}
    assert json.loads(out_on)["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    for process in checks:
        code, output = finished(process)
        assert (code, output.strip()) == (0, CLEAN)
