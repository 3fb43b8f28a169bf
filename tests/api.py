"""Helpers for API tests: a client signed in as someone, and the one error shape."""

from __future__ import annotations

from rest_framework.test import APIClient


def client_for(engineer) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=engineer.user)
    return client


def assert_error(response, status: int, code: str) -> dict:
    """The response is an error in the API's one shape, with this status and code."""
    body = response.json()
    assert response.status_code == status, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"error", "message", "details"}
    return body
