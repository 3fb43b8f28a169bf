"""Routes of the karma API, included under /api/karma/ (namespace "karma-api")."""

from __future__ import annotations

from django.urls import path

from karma.api import views

app_name = "karma-api"

urlpatterns = [
    path("", views.KarmaListView.as_view(), name="list"),
    path("<str:username>/", views.KarmaDetailView.as_view(), name="detail"),
    path("<str:username>/unlike/", views.KarmaUnlikeView.as_view(), name="unlike"),
    path("<str:username>/restore/", views.KarmaRestoreView.as_view(), name="restore"),
]
