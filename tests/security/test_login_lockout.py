"""Sign-in is throttled: wrong passwords lock out the account (from anywhere) and the address
(for any account) for a cool-off, on /login/ and /api/auth/token/ alike; the right password
does not get through a lock-out; a success resets the count; admins see the attempts.

Issue 14, hole 5: 200 wrong passwords were all evaluated and the right one worked after.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command

from tests.api import assert_error
from tests.conftest import make_engineer

PASSWORD = "correct horse battery staple"
LIMIT = 3


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)


@pytest.fixture
def dora(db):
    engineer = make_engineer("dora")
    engineer.user.set_password(PASSWORD)
    engineer.user.save()
    return engineer


def _web(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _api(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        "/api/auth/token/",
        {"username": username, "password": password},
        content_type="application/json",
        REMOTE_ADDR=ip,
    )


def test_wrong_passwords_on_the_login_page_lock_the_account_with_a_page_that_says_so(client, dora):
    for n in range(LIMIT - 1):
        assert _web(client, "dora", f"wrong{n}").status_code == 200  # the form again
    assert _web(client, "dora", "the last guess").status_code == 429
    locked = _web(client, "dora", PASSWORD)
    page = locked.content.decode()
    assert locked.status_code == 429
    assert "Signing in is locked" in page and "15 minutes" in page
    assert "_auth_user_id" not in client.session  # the right password did not get in


def test_wrong_passwords_on_the_token_api_lock_out_in_the_error_shape(client, dora):
    for n in range(LIMIT):
        assert _api(client, "dora", f"wrong{n}").status_code == 400  # "unable to log in"
    refused = assert_error(_api(client, "dora", PASSWORD), 429, "locked-out")
    assert "locked for 15 minutes" in refused["message"]
    assert "token" not in refused


def test_the_account_is_locked_from_every_address_and_the_address_for_every_account(client, dora):
    make_engineer("erin")  # password "erin"
    for n in range(LIMIT):
        _api(client, "dora", f"wrong{n}", ip="10.0.0.1")
    # The account, from another address: locked (a guesser may rotate addresses).
    assert_error(_api(client, "dora", PASSWORD, ip="10.0.0.2"), 429, "locked-out")
    # The guessing address, for another account: locked (a guesser may rotate accounts).
    assert _web(client, "erin", "erin", ip="10.0.0.1").status_code == 429
    # Someone else, elsewhere: signs in.
    make_engineer("frank")
    assert _api(client, "frank", "frank", ip="10.0.0.3").status_code == 200


def test_the_lock_out_ends_after_the_cool_off(client, dora):
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        for n in range(LIMIT):
            _api(client, "dora", f"wrong{n}")
        assert_error(_api(client, "dora", PASSWORD), 429, "locked-out")
        clock.shift(dt.timedelta(minutes=16))
        signed_in = _api(client, "dora", PASSWORD)
    assert signed_in.status_code == 200 and signed_in.json()["token"]


def test_a_success_resets_the_count(client, dora):
    for n in range(LIMIT - 1):
        _api(client, "dora", f"wrong{n}")
    assert _api(client, "dora", PASSWORD).status_code == 200
    for n in range(LIMIT - 1):  # counting starts again: not locked
        _api(client, "dora", f"again{n}")
    assert _api(client, "dora", PASSWORD).status_code == 200


def test_admins_see_the_attempts_and_can_lift_a_lock_out(client, admin_client, dora):
    for n in range(LIMIT):
        _api(client, "dora", f"wrong{n}")
    assert AccessAttempt.objects.filter(username="dora").exists()
    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "dora" in listing.content.decode()
    call_command("axes_reset", stdout=io.StringIO())
    assert _api(client, "dora", PASSWORD).status_code == 200


def test_behind_a_proxy_the_client_is_read_from_x_forwarded_for(client, dora, settings):
    """Counting the proxy's address would let one guesser lock everyone out; a client's own
    X-Forwarded-For entries (left of the proxy's) are not believed."""
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(LIMIT):
        client.post(
            "/api/auth/token/", {"username": "nobody", "password": f"x{n}"},
            content_type="application/json", REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7",
        )  # fmt: skip
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"
    other_client = client.post(
        "/api/auth/token/", {"username": "dora", "password": PASSWORD},
        content_type="application/json", REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="198.51.100.2",
    )  # fmt: skip
    assert other_client.status_code == 200  # same proxy, another client: not locked


def test_a_token_is_asked_for_without_opening_a_session(client, dora):
    """The API's sign-in is the token: no session row, no session cookie."""
    from django.contrib.sessions.models import Session

    answered = _api(client, "dora", PASSWORD)
    assert answered.status_code == 200 and "sessionid" not in answered.cookies
    assert not Session.objects.exists()


def test_a_forwarded_entry_that_is_not_an_address_counts_as_the_connection(client, settings, db):
    settings.TRUSTED_PROXY_COUNT = 1
    answered = client.post(
        "/api/auth/token/", {"username": "nobody", "password": "x"},
        content_type="application/json", REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="'; DROP TABLE users; --",
    )  # fmt: skip
    assert answered.status_code == 400
    assert AccessAttempt.objects.get().ip_address == "10.9.9.9"
