from __future__ import annotations

from django.urls import path

from pushes import actions, views
from pushes.views import dashboard as dashboard_views
from pushes.views import karma as karma_views
from pushes.views import risk as risk_views

urlpatterns = [
    path("", views.home, name="home"),
    path("repositories/<slug:slug>/", views.repository, name="repository"),
    path("branches/<int:pk>/", views.branch, name="branch"),
    path("branches/<int:pk>/push-now/", views.branch_push_now, name="branch-push-now"),
    path("pushes/<int:pk>/", views.push, name="push"),
    path("pushes/<int:pk>/picks/", views.push_picks, name="push-picks"),
    path("pushes/<int:pk>/run/", views.push_run, name="push-run"),
    path("picks/new/", views.pick_new, name="pick-new"),
    path("picks/<int:pk>/", views.pick, name="pick"),
    path("engineers/<str:username>/", views.engineer, name="engineer"),
    path("inbox/", views.inbox, name="inbox"),
    path("r/", views.revision_search, name="revision-search"),
    path("r/<str:rev>/", views.revision, name="revision"),
]
# One URL per move of a pick, /picks/<id>/<action>/, named pick-<action>.
urlpatterns += [
    path(f"picks/<int:pk>/{action}/", views.pick_act, {"action": action}, name=f"pick-{action}")
    for action in actions.PICK_ACTIONS
]
# The release engineer's risk dashboard (htmx partials under it) and the engineer page's karma.
urlpatterns += [
    path("dashboard/risk/", risk_views.dashboard, name="risk-dashboard"),
    path("dashboard/risk/table/", risk_views.table, name="risk-table"),
    path("dashboard/risk/approve/", risk_views.bulk_approve, name="risk-bulk-approve"),
    path("dashboard/risk/picks/<int:pk>/", risk_views.pick_act, name="risk-pick-act"),
    path("engineers/<str:username>/unlike/", karma_views.unlike, name="engineer-unlike"),
    path("engineers/<str:username>/restore/", karma_views.restore, name="engineer-restore"),
]
# The push dashboard (its timelines polled as a partial) and the test console.
urlpatterns += [
    path("dashboard/pushes/", dashboard_views.pushes_dashboard, name="pushes-dashboard"),
    path("dashboard/pushes/live/", dashboard_views.pushes_dashboard_live, name="pushes-live"),
    path("tests/", dashboard_views.test_runs, name="test-runs"),
    path("tests/<int:pk>/", dashboard_views.test_run, name="test-run"),
]
