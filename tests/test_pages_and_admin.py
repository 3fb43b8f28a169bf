from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse


def test_pages_ask_anonymous_visitors_to_log_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_home_page_explains_what_to_do_with_no_repository(client, alice):
    client.force_login(alice.user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"No repositories yet" in response.content


def test_a_wrong_password_gets_a_clear_message(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content


def test_the_nav_offers_release_engineering_only_to_release_engineers(client, rel, alice):
    from django.contrib.auth import get_user_model

    admin_only = get_user_model().objects.create_superuser("root", "root@example.com", "root")
    risk = reverse("risk-dashboard").encode()
    for user, shown in ((rel.user, True), (alice.user, False), (admin_only, False)):
        client.force_login(user)
        page = client.get(reverse("home")).content
        assert (b'href="' + risk + b'"' in page) is shown, user
        assert (b"release engineer</span>" in page) is shown, user
    # The link a superuser with no Engineer row no longer sees: the page refuses them.
    assert client.get(risk.decode()).status_code == 403


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize(
    "model",
    [m for m in apps.get_models() if m._meta.app_label in {"pushes", "karma", "forges"}],
    ids=lambda m: m.__name__,
)
def test_every_model_has_an_admin_that_renders(client, rel, model):
    assert model in admin.site._registry, f"{model.__name__} has no admin"
    rel.user.is_superuser = True
    rel.user.save()
    client.force_login(rel.user)
    meta = model._meta
    urls = [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
    # A record only a service makes (a rollback calls the deploy hook) has no add page.
    if admin.site._registry[model].has_add_permission(_request(rel.user)):
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    for url in urls:
        assert client.get(url).status_code == 200, url
