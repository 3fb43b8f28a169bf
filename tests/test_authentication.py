"""Token authentication (releasebot/authentication.py): one query for token, user and engineer,
giving the same objects, with the same types, as the ORM would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from releasebot.authentication import TokenAuthentication
from tests.api import assert_error

pytestmark = pytest.mark.django_db


def with_token(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user)}")
    return client


def test_a_token_gives_the_user_and_engineer_the_orm_would(alice):
    alice.user.last_login = timezone.now() - dt.timedelta(days=1)
    alice.user.save()
    token = Token.objects.create(user=alice.user)
    with CaptureQueriesContext(connection) as queries:
        user, found = TokenAuthentication().authenticate_credentials(token.key)
        engineer = user.engineer
    assert len(queries) == 1
    expected = get_user_model().objects.select_related("engineer").get(pk=alice.user_id)
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(expected, field.attname), field.name
    assert isinstance(user.last_login, dt.datetime) and user.is_active is True
    assert (engineer.pk, engineer.role, engineer.chat_id) == (
        alice.pk,
        alice.role,
        alice.chat_id,
    )
    assert found == token and found.user is user and engineer.user is user
    assert isinstance(found.created, dt.datetime)


def test_an_unknown_token_and_an_inactive_user_are_refused(alice):
    assert_error(
        APIClient(HTTP_AUTHORIZATION="Token " + "0" * 40).get("/api/picks/"),
        401,
        "authentication-failed",
    )
    nul = APIClient(HTTP_AUTHORIZATION="Token abc\x00def")  # a 500 on PostgreSQL before
    assert_error(nul.get("/api/picks/"), 401, "authentication-failed")
    client = with_token(alice.user)
    assert client.get("/api/picks/").status_code == 200
    alice.user.is_active = False
    alice.user.save()
    assert_error(client.get("/api/picks/"), 401, "authentication-failed")


def test_a_token_of_a_user_who_is_no_engineer_is_refused_as_such(db):
    user = get_user_model().objects.create_user(username="nobody", password="x")
    body = assert_error(with_token(user).get("/api/picks/"), 403, "not-an-engineer")
    assert "not set up as an engineer" in body["message"]
