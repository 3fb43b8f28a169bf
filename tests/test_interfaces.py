"""The interfaces PRODUCT.md fixes for round two, each where it is promised: in the API's schema
(with the method) or routed as a page or webhook."""

from __future__ import annotations

import pytest
from django.urls import resolve

from tests.api import client_for

pytestmark = pytest.mark.django_db

FIXED_API = [
    ("post", "/api/pushes/{id}/retry/"),
    ("post", "/api/picks/{id}/revert/"),
    ("get", "/api/pushes/{id}/notes/"),
    ("post", "/api/repositories/{slug}/freeze/"),
    ("post", "/api/repositories/{slug}/unfreeze/"),
    ("get", "/api/events/"),
    ("post", "/api/pushes/{id}/rollback/"),
    ("patch", "/api/repositories/{slug}/forge/"),
]


@pytest.mark.parametrize(("method", "path"), FIXED_API)
def test_the_schema_lists_the_fixed_endpoint(alice, method, path):
    schema = client_for(alice).get("/api/schema/", {"format": "json"}).json()
    assert method in schema["paths"].get(path, {}), sorted(schema["paths"])


@pytest.mark.parametrize("path", ["/engineers/", "/hooks/github/", "/hooks/gitlab/"])
def test_the_fixed_address_is_routed(path):
    assert resolve(path).url_name
