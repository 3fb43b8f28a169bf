from __future__ import annotations

from django.urls import path

from pushes.moves import Channel, Target, moves_of
from pushes.views import dashboard, engineers, freezes, pages, progress, risk

urlpatterns = [
    path("", pages.home, name="home"),
    path("repositories/<slug:slug>/", pages.repository, name="repository"),
    path("repositories/<slug:slug>/freeze/", freezes.repository_freeze, name="repository-freeze"),
    path(
        "repositories/<slug:slug>/unfreeze/",
        freezes.repository_unfreeze,
        name="repository-unfreeze",
    ),
    path("branches/<int:pk>/", pages.branch, name="branch"),
    path("pushes/<int:pk>/", pages.push, name="push"),
    path("pushes/<int:pk>/picks/", pages.push_picks, name="push-picks"),
    path("pushes/<int:pk>/progress/", progress.push_progress_part, name="push-progress"),
    path("picks/new/", pages.pick_new, name="pick-new"),
    path("picks/<int:pk>/", pages.pick, name="pick"),
    path("engineers/", engineers.engineers_list, name="engineers"),
    path("engineers/<str:username>/", engineers.engineer_page, name="engineer"),
    path("inbox/", pages.inbox, name="inbox"),
    path("r/", pages.revision_search, name="revision-search"),
    path("r/<str:rev>/", pages.revision, name="revision"),
]
# One URL per move a page offers, from the moves registry: /picks/<id>/approve/ named
# pick-approve, /pushes/<id>/run/ (push-run), /branches/<id>/push-now/ (branch-push-now),
# /engineers/<name>/unlike/ (engineer-unlike).
_MOVE_PAGES = {
    Target.PICK: ("picks", pages.pick_move),
    Target.PUSH: ("pushes", pages.push_move),
    Target.BRANCH: ("branches", pages.push_move),
}
urlpatterns += [
    path(f"{prefix}/<int:pk>/{move.slug}/", view, {"move": move.name}, name=move.url_name)
    for target, (prefix, view) in _MOVE_PAGES.items()
    for move in moves_of(target, Channel.PAGE)
]
urlpatterns += [
    path(
        f"engineers/<str:username>/{move.slug}/",
        engineers.karma_change,
        {"move": move.name},
        name=move.url_name,
    )
    for move in moves_of(Target.ENGINEER, Channel.PAGE)
]
# The release engineer's risk dashboard, with htmx partials under it.
urlpatterns += [
    path("dashboard/risk/", risk.dashboard, name="risk-dashboard"),
    path("dashboard/risk/table/", risk.table, name="risk-table"),
    path("dashboard/risk/approve/", risk.bulk_approve, name="risk-bulk-approve"),
    path("dashboard/risk/picks/<int:pk>/", risk.pick_act, name="risk-pick-act"),
]
# The push dashboard (its timelines polled as a partial) and the test console.
urlpatterns += [
    path("dashboard/pushes/", dashboard.pushes_dashboard, name="pushes-dashboard"),
    path("dashboard/pushes/live/", dashboard.pushes_dashboard_live, name="pushes-live"),
    path("tests/", dashboard.test_runs, name="test-runs"),
    path("tests/<int:pk>/", dashboard.test_run, name="test-run"),
]
