"""The project's URLs with the bot's first, for tests that run before (or after) the project
includes `chat.urls` itself: the first match wins, so either way is the same."""

from __future__ import annotations

from django.urls import include, path

from releasebot.urls import urlpatterns as project

urlpatterns = [path("", include("chat.urls")), *project]
