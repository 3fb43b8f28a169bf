"""Routes of the REST API, included under /api/ (namespace "api")."""

from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from pushes.api import people, revisions, views
from pushes.api.me import MeView
from pushes.api.preferences import PreferencesView
from pushes.api.progress import PushProgressView

app_name = "api"

router = SimpleRouter()
router.register("repositories", views.RepositoryViewSet, basename="repository")
router.register("branches", views.BranchViewSet, basename="branch")
router.register("pushes", views.PushViewSet, basename="push")
router.register("picks", views.PickViewSet, basename="pick")
router.register("test-runs", views.TestRunViewSet, basename="test-run")
router.register("inbox", views.InboxViewSet, basename="inbox")

urlpatterns = [
    # First: the API's busiest question is matched before the router's patterns are tried.
    path("revisions/", revisions.RevisionSearchView.as_view(), name="revision-search"),
    # `path`, not `str`: a URL-encoded review URL arrives here with its slashes decoded.
    path("revisions/<path:rev>/", revisions.revision_status, name="revision"),
    *router.urls,
    path("engineers/", people.EngineerListView.as_view(), name="engineer-list"),
    path("events/", people.EventListView.as_view(), name="event-list"),
    path("me/", MeView.as_view(), name="me"),
    path("me/preferences/", PreferencesView.as_view(), name="me-preferences"),
    path("pushes/<int:pk>/progress/", PushProgressView.as_view(), name="push-progress"),
    # Any other address, even one with a newline in it (which `.` alone does not match).
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found),
]
