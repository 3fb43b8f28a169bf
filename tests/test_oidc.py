"""Signing in with the company's OpenID Connect provider (releasebot/oidc.py), the whole flow:
the login page's button, /oidc/authenticate/ to the provider, its redirect back to
/oidc/callback/ with a code and the state, the token, the JWKS and userinfo calls, and who is
then signed in. The provider is a local stand-in (tests/stubs/oidc_provider.py) that checks the
client's secret, the code, the redirect URI and PKCE as a real one does; Slack is its stand-in.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import subprocess
import sys
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.urls import include, path

from common.redact import is_product_secret, redact
from pushes.choices import Role
from pushes.git.run import command_env
from pushes.models import Engineer
from releasebot.oidc import role_from
from releasebot.urls import urlpatterns as project
from tests.chat.slack_stub import TOKEN, SlackStub
from tests.ports import free_port
from tests.stubs.oidc_provider import REDIRECT_URI, OIDCProvider, rsa_key

PROVIDER = "Acme SSO"
BACKEND = "releasebot.oidc.Backend"
User = get_user_model()

# The project's URLs with /oidc/ routed, as releasebot/urls.py routes it when the OIDC_*
# variables are set (they are read once, at start-up; the test run sets none).
urlpatterns = [path("oidc/", include("mozilla_django_oidc.urls")), *project]


@pytest.fixture
def op():
    with OIDCProvider() as running:
        yield running


@pytest.fixture
def oidc(settings, op):
    """Sign-in with the stand-in on, as releasebot/settings.py sets it from OIDC_* variables."""
    endpoints = op.endpoints()
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = PROVIDER
    settings.OIDC_ISSUER = op.issuer
    settings.OIDC_RP_CLIENT_ID = op.client_id
    settings.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET = op.client_secret
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = endpoints["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = endpoints["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = endpoints["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = endpoints["jwks_uri"]
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_RELEASE_ENGINEER_VALUES = ["release-eng", "sre"]
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    settings.ROOT_URLCONF = __name__
    return op


@pytest.fixture
def slack(settings):
    with SlackStub() as stub:
        settings.SLACK_BOT_TOKEN = TOKEN
        settings.SLACK_API_URL = stub.api_url
        yield stub


def person(email: str, **claims) -> dict:
    """Who the provider signs in: a verified address unless the claims say otherwise."""
    name = email.split("@")[0].lower()
    return {
        "sub": f"00u-{name}",
        "email": email,
        "email_verified": True,
        "given_name": name.capitalize(),
        **claims,
    }


def sign_in(client, op: OIDCProvider, who: dict | None, *, login_page: str = "/login/"):
    """As a browser: the login page's button, the provider, and the callback's answer."""
    op.person = who or {}
    page = client.get(login_page).content.decode()
    button = re.search(rf'<a class="btn primary" href="([^"]+)">Sign in with {PROVIDER}</a>', page)
    assert button is not None, "no button on the login page"
    assert page.index(button[0]) < page.index("<form")  # above the password form
    start = client.get(html.unescape(button[1]))
    assert start.status_code == 302
    assert start["Location"].startswith(op.url("/authorize?"))
    answer = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == REDIRECT_URI
    return client.get(back.path, dict(parse_qsl(back.query)))


def signed_in(client):
    """Who the next request is from (a page without messages: they stay for the login page)."""
    user = client.get("/opensearch.xml").wsgi_request.user
    return User.objects.get(pk=user.pk) if user.is_authenticated else None


def refusal(client) -> str:
    """The login page's message, where a refused sign-in lands."""
    page = html.unescape(client.get("/login/").content.decode())
    found = re.search(r'<li class="error">(.*?)</li>', page, re.S)
    assert found is not None, "no message on the login page"
    return found[1]


# --- signing in ----------------------------------------------------------------------------


def test_a_new_person_signs_in_as_a_new_engineer_with_their_role_and_slack_id(
    oidc, slack, client, db
):
    slack.user("U0DANA", "dana@example.com")

    response = sign_in(client, oidc, person("dana@example.com", groups=["staff", "release-eng"]))

    assert (response.status_code, response["Location"]) == (302, "/")
    user = signed_in(client)
    assert user is not None
    engineer = user.engineer
    assert (user.username, user.email, user.first_name) == ("dana", "dana@example.com", "Dana")
    assert not user.has_usable_password()  # the provider is the only way in
    assert (engineer.email, engineer.role, engineer.chat_id) == (
        "dana@example.com",
        Role.RELEASE_ENGINEER,
        "U0DANA",
    )
    lookups = [call.body for call in slack.calls if call.method == "users.lookupByEmail"]
    assert lookups == [{"email": "dana@example.com"}]
    assert oidc.seen == [("/authorize", 302), ("/token", 200), ("/jwks", 200), ("/userinfo", 200)]
    assert "dana" in client.get("/").content.decode()


def test_the_code_flow_asks_for_the_scopes_with_a_nonce_and_pkce(oidc, client, db):
    oidc.person = person("dana@example.com")
    start = client.get("/oidc/authenticate/")
    asked = dict(parse_qsl(urlsplit(start["Location"]).query))
    assert asked["scope"] == "openid email profile"
    assert (asked["response_type"], asked["client_id"]) == ("code", oidc.client_id)
    assert asked["redirect_uri"] == REDIRECT_URI
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["nonce"] and asked["state"]


def test_the_role_follows_the_claim_at_every_sign_in(oidc, client, db):
    sign_in(client, oidc, person("dana@example.com", groups=["sre"]))
    assert signed_in(client).engineer.role == Role.RELEASE_ENGINEER
    client.post("/logout/")

    sign_in(client, oidc, person("dana@example.com", groups=["staff"]))

    dana = signed_in(client)
    assert dana.engineer.role == Role.ENGINEER
    assert Engineer.objects.filter(email="dana@example.com").count() == 1


@pytest.mark.parametrize(
    ("claim", "claims", "role"),
    [
        ("groups", {"groups": "release-eng"}, Role.RELEASE_ENGINEER),  # one value, not a list
        ("groups", {"groups": ["Release-Eng"]}, Role.ENGINEER),  # values match exactly
        ("groups", {}, Role.ENGINEER),  # no claim: an engineer
        ("realm_access.roles", {"realm_access": {"roles": ["sre"]}}, Role.RELEASE_ENGINEER),
        ("", {"groups": ["release-eng"]}, None),  # no role claim set: roles stay as they are
    ],
)
def test_the_role_claim_is_read_from_a_value_a_list_or_a_nested_claim(
    settings, claim, claims, role
):
    settings.OIDC_ROLE_CLAIM = claim
    settings.OIDC_RELEASE_ENGINEER_VALUES = ["release-eng", "sre"]
    assert role_from(claims) == role


def test_without_a_role_claim_an_existing_role_is_left_as_it_is(oidc, settings, client, rel):
    settings.OIDC_ROLE_CLAIM = ""
    sign_in(client, oidc, person("REL@example.com", groups=[]))
    assert signed_in(client) == rel.user
    rel.refresh_from_db()
    assert rel.role == Role.RELEASE_ENGINEER


def test_an_existing_engineer_is_matched_by_email_in_any_case(oidc, slack, client, alice):
    users, engineers = User.objects.count(), Engineer.objects.count()

    response = sign_in(client, oidc, person("Alice@EXAMPLE.com", groups=["release-eng"]))

    assert response.status_code == 302
    assert signed_in(client) == alice.user
    assert (User.objects.count(), Engineer.objects.count()) == (users, engineers)
    alice.refresh_from_db()
    assert (alice.role, alice.chat_id) == (Role.RELEASE_ENGINEER, "UALICE")
    assert "users.lookupByEmail" not in slack.methods()  # she has her Slack id already


def test_a_login_without_an_engineer_gets_one(oidc, client, db):
    ops = User.objects.create_user("ops", email="ops@example.com", password="x" * 12)
    sign_in(client, oidc, person("ops@example.com"))
    assert signed_in(client) == ops
    assert Engineer.objects.get(user=ops).role == Role.ENGINEER


def test_a_new_login_takes_another_name_when_the_address_local_part_is_taken(oidc, client, alice):
    sign_in(client, oidc, person("alice@elsewhere.example"))
    newcomer = signed_in(client)
    assert newcomer != alice.user
    assert (newcomer.username, newcomer.engineer.email) == ("alice-2", "alice@elsewhere.example")


def test_it_goes_back_to_the_page_asked_for_and_only_on_this_site(oidc, client, db):
    back = sign_in(client, oidc, person("dana@example.com"), login_page="/login/?next=/inbox/")
    assert back["Location"] == "/inbox/"
    client.post("/logout/")
    away = "/login/?next=https://evil.example/"
    assert sign_in(client, oidc, person("dana@example.com"), login_page=away)["Location"] == "/"


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "told"),
    [
        ({"email_verified": False}, "has not verified your e-mail address dana@example.com"),
        ({"email_verified": "false"}, "has not verified your e-mail address"),
        ({"email_verified": None}, "has not verified your e-mail address"),
        ({"email": ""}, "did not say what your e-mail address is"),
    ],
)
def test_an_unverified_or_missing_email_gets_no_account(oidc, client, db, claims, told):
    who = {k: v for k, v in {**person("dana@example.com"), **claims}.items() if v is not None}

    response = sign_in(client, oidc, who)

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert signed_in(client) is None
    assert not User.objects.exists() and not Engineer.objects.exists()
    assert f"{PROVIDER} {told}" in refusal(client)


def test_an_unverified_email_does_not_take_over_the_account_with_that_address(oidc, client, alice):
    sign_in(client, oidc, person("alice@example.com", email_verified=False))
    assert signed_in(client) is None


NOW = int(time.time())


@pytest.mark.parametrize(
    "forgery",
    [
        "signed-with-another-key",
        "for-another-client",
        "from-another-issuer",
        "expired",
        "another-nonce",
        "userinfo-of-another-person",
    ],
)
def test_a_forged_or_misdirected_id_token_is_refused(oidc, client, alice, forgery):
    changes = {
        "for-another-client": {"aud": "another-client"},
        "from-another-issuer": {"iss": "https://evil.example"},
        "expired": {"iat": NOW - 3600, "exp": NOW - 600},
        "another-nonce": {"nonce": "not-the-one-we-sent"},
    }
    if forgery == "signed-with-another-key":
        oidc.signing_key = rsa_key()  # same kid, so only the signature tells
    elif forgery == "userinfo-of-another-person":
        oidc.userinfo_changes = {"sub": "00u-alice", "email": "alice@example.com"}
    else:
        oidc.id_token_changes = changes[forgery]

    response = sign_in(client, oidc, person("mallory@example.com"))

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert signed_in(client) is None
    assert not User.objects.filter(email__in=["mallory@example.com"]).exists()
    assert "did not work" in refusal(client)


def test_a_wrong_client_secret_is_refused_by_the_provider(oidc, settings, client, db):
    settings.OIDC_RP_CLIENT_SECRET = "not-the-client-secret"

    response = sign_in(client, oidc, person("dana@example.com"))

    assert ("/token", 401) in oidc.seen
    assert "/userinfo" not in oidc.paths()
    assert (response.status_code, signed_in(client)) == (302, None)
    assert not User.objects.exists()
    assert f"Signing in with {PROVIDER} did not work" in refusal(client)


def test_the_client_may_authenticate_with_http_basic(oidc, settings, client, db):
    settings.OIDC_TOKEN_USE_BASIC_AUTH = True
    sign_in(client, oidc, person("dana@example.com"))
    assert signed_in(client) is not None


def test_a_code_and_state_from_another_browser_sign_nobody_in(oidc, client, db):
    oidc.person = person("dana@example.com")
    victim = client.get("/oidc/authenticate/")  # this browser's flow, never finished
    answer = requests.get(victim["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(answer.headers["Location"])
    attacker = type(client)()
    attacker.get("/oidc/authenticate/")  # a flow of its own, with another state

    response = attacker.get(back.path, dict(parse_qsl(back.query)))

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert signed_in(attacker) is None
    assert "/token" not in oidc.paths()  # the code was never traded


def test_a_login_deactivated_in_the_admin_is_signed_out_and_not_let_back_in(oidc, client, db):
    sign_in(client, oidc, person("dana@example.com"))
    User.objects.filter(username="dana").update(is_active=False)

    assert client.get("/")["Location"].startswith("/login/")
    sign_in(client, oidc, person("dana@example.com"))
    assert signed_in(client) is None
    assert "deactivated" in refusal(client)


@pytest.mark.parametrize("slack_answers", ["nothing (unreachable)", "users_not_found"])
def test_a_slack_failure_never_stops_a_sign_in(oidc, settings, client, db, slack_answers):
    with SlackStub() as stub:
        settings.SLACK_BOT_TOKEN = TOKEN
        settings.SLACK_API_URL = stub.api_url  # knows nobody: users_not_found
        if slack_answers.startswith("nothing"):
            settings.SLACK_API_URL = f"http://127.0.0.1:{free_port()}/api/"

        sign_in(client, oidc, person("dana@example.com"))

    dana = signed_in(client)
    assert dana is not None and dana.engineer.chat_id is None


# --- the password form, and sign-in with OpenID Connect off ---------------------------------


def test_the_password_form_stays_and_never_reaches_the_provider(oidc, client, alice):
    page = client.get("/login/").content.decode()
    assert 'name="password"' in page
    response = client.post(
        "/login/?code=stolen&state=guess", {"username": "alice", "password": "alice"}
    )
    assert (response.status_code, signed_in(client)) == (302, alice.user)
    assert oidc.seen == []


def test_a_locked_out_address_is_locked_out_of_both_ways_in(oidc, settings, client, alice):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    for guess in ("wrong", "wrong again"):
        client.post("/login/", {"username": "alice", "password": guess})
    assert client.post("/login/", {"username": "alice", "password": "alice"}).status_code == 429
    assert AccessAttempt.objects.exists()

    response = sign_in(client, oidc, person("dana@example.com"))

    assert response.status_code == 429
    assert signed_in(client) is None


def test_without_oidc_settings_there_is_no_button_and_no_oidc_address(client, db, settings):
    assert django_settings.OIDC_ENABLED is False  # the test run's environment sets none
    assert BACKEND not in django_settings.AUTHENTICATION_BACKENDS
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page and 'name="password"' in page
    for url in ("/oidc/authenticate/", "/oidc/callback/?code=c&state=s", "/oidc/logout/"):
        assert client.get(url).status_code == 404
    # Routed all the same (as here), its views refuse while it is off.
    settings.ROOT_URLCONF = __name__
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "c", "state": "s"}).status_code == 404


# --- the secret and the settings -----------------------------------------------------------


def test_the_client_secret_is_a_product_secret(settings, monkeypatch):
    settings.OIDC_CLIENT_SECRET = "0idc-client-secret-value"
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "0idc-client-secret-value")
    assert redact("token call with 0idc-client-secret-value") == "token call with ***"
    assert is_product_secret("OIDC_CLIENT_SECRET")
    assert "OIDC_CLIENT_SECRET" not in command_env(names=["OIDC_CLIENT_SECRET"])


VARIABLES = {
    "OIDC_ISSUER": "https://login.example.com",
    "OIDC_CLIENT_ID": "releasebot",
    "OIDC_CLIENT_SECRET": "s3cret-from-the-provider",
    "OIDC_AUTHORIZATION_ENDPOINT": "https://login.example.com/authorize",
    "OIDC_TOKEN_ENDPOINT": "https://login.example.com/token",
    "OIDC_USERINFO_ENDPOINT": "https://login.example.com/userinfo",
    "OIDC_JWKS_ENDPOINT": "https://login.example.com/jwks",
}
READ = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "from django.urls import reverse; "
    "print(json.dumps([s.OIDC_ENABLED, s.AUTHENTICATION_BACKENDS, s.OIDC_RP_CLIENT_ID, "
    "s.OIDC_OP_USER_ENDPOINT, s.OIDC_RP_SIGN_ALGO, s.OIDC_RP_SCOPES, "
    "s.OIDC_RELEASE_ENGINEER_VALUES, reverse('oidc_authentication_callback')]))"
)


def _settings_with(tmp_path, **variables: str) -> subprocess.Popen:
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env = {
        **keep,
        "DJANGO_SETTINGS_MODULE": "releasebot.settings",
        "DEBUG": "1",
        "RELEASEBOT_DATA_DIR": str(tmp_path / "var"),
        **variables,
    }
    return subprocess.Popen(
        [sys.executable, "-c", READ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_variables_turn_it_on_and_some_without_the_rest_stop_start_up(tmp_path):
    whole = _settings_with(tmp_path, **VARIABLES, OIDC_RELEASE_ENGINEER_VALUES="release-eng, sre")
    partial = _settings_with(tmp_path, OIDC_ISSUER="https://login.example.com")
    out, err = whole.communicate(timeout=60)
    assert whole.returncode == 0, err
    enabled, backends, client_id, userinfo, algorithm, scopes, values, callback = json.loads(out)
    assert (enabled, client_id, userinfo) == (
        True,
        "releasebot",
        VARIABLES["OIDC_USERINFO_ENDPOINT"],
    )
    assert backends[0] == "axes.backends.AxesStandaloneBackend" and backends[-1] == BACKEND
    assert (algorithm, scopes, values) == ("RS256", "openid email profile", ["release-eng", "sre"])
    assert callback == "/oidc/callback/"  # routed by releasebot/urls.py itself

    _, err = partial.communicate(timeout=60)
    assert partial.returncode != 0
    assert "Sign-in with OpenID Connect needs OIDC_CLIENT_ID, OIDC_CLIENT_SECRET," in err
