from __future__ import annotations

from django.urls import path

from chat import views

urlpatterns = [
    path("slack/events", views.slack_events, name="slack-events"),
    path("chat/", views.console, name="chat"),
]
