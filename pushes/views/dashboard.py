"""The push dashboard and the test console: parse the query string, call their selectors
(pushes.selectors.push_dashboard, pushes.selectors.test_console), render.

Charts are drawn here from the metrics' plain values (pushes.charts) and inlined as SVG.
"""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from pushes import charts
from pushes.choices import PushState, TestRunState
from pushes.models import Engineer, Pick, Push, Repository, TestRun
from pushes.selectors import push_dashboard, window
from pushes.selectors.test_console import console_test_runs
from pushes.services.push_merge import LOG_LIMIT
from pushes.views.base import engineer_required

TEST_RUNS_PER_PAGE = 50
POLL_RUNNING, POLL_IDLE = "every 3s", "every 30s"


# --- the push dashboard -------------------------------------------------------------------


def _timeline_context() -> dict[str, object]:
    timelines = push_dashboard.train_timelines()
    running = push_dashboard.pushes_running(timelines)
    return {
        "timelines": timelines,
        "running": running,
        "poll": POLL_RUNNING if running else POLL_IDLE,
    }


def _charts(board: push_dashboard.PushDashboard, *, nonce: str) -> dict[str, str]:
    """The three graphs, their <style> elements under the request's CSP nonce (pushes.charts)."""
    asked = [p for p in board.pushes if p.asked]
    timed = [(p.push, took) for p in board.pushes if (took := p.push.duration) is not None]
    svgs = {
        "per_day": charts.picks_per_day_chart(
            board.per_day.days, board.per_day.series, push_dashboard.OUTCOMES, nonce=nonce
        ),
        "confirmation": charts.confirmation_chart(
            [p.push.label[5:] for p in asked],
            [p.asked for p in asked],
            [p.confirmed for p in asked],
            nonce=nonce,
        ),
        "duration": charts.duration_chart(
            [push.label[5:] for push, _ in timed],
            [took.total_seconds() / 60 for _, took in timed],
            [push.state == PushState.FAILED for push, _ in timed],
            nonce=nonce,
        ),
    }
    # pygal escapes every label it writes; the values are our own numbers and push labels.
    return {name: mark_safe(svg) for name, svg in svgs.items()}


@engineer_required
@require_GET
def pushes_dashboard(request: HttpRequest, me: Engineer) -> HttpResponse:
    """The train's timeline, the window's graphs and the delivery metrics of one repository."""
    weeks = window.weeks_parse(request.GET.get("weeks", window.WEEKS_DEFAULT))
    repository, repositories = push_dashboard.dashboard_repository(slug=request.GET.get("repo"))
    context: dict[str, object] = {
        "nav": "pushes",
        "weeks": weeks,
        "week_choices": [1, 2, 4, 8, 12],
        "repository": repository,
        "repositories": repositories,
        **_timeline_context(),
    }
    if repository is not None:
        board = push_dashboard.push_dashboard(repository=repository, weeks=weeks)
        # Reading the nonce (csp.middleware) is what puts it in this response's policy.
        charts_svg = _charts(board, nonce=str(request.csp_nonce))  # type: ignore[attr-defined]
        context.update(board=board, charts=charts_svg, outcomes=push_dashboard.OUTCOMES)
    return render(request, "pushes/dashboard_pushes.html", context)


@engineer_required
@require_GET
def pushes_dashboard_live(request: HttpRequest, me: Engineer) -> HttpResponse:
    """The timelines alone, polled by the dashboard: every 3 s while a push runs."""
    return render(request, "pushes/_dash_timelines.html", _timeline_context())


# --- the test console ---------------------------------------------------------------------


class TestRunFilter(forms.Form):
    __test__ = False  # a form, not a pytest test class

    push = forms.IntegerField(required=False, min_value=1)
    pick = forms.IntegerField(required=False, min_value=1)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *TestRunState.choices])

    def value(self, name: str) -> object:
        return self.cleaned_data.get(name) if name not in self.errors else None

    def number(self, name: str) -> int | None:
        """A whole-number filter (push, pick); None when missing or invalid."""
        value = self.value(name)
        return value if isinstance(value, int) else None

    def text(self, name: str) -> str | None:
        """A text filter (state); None when invalid."""
        value = self.value(name)
        return value if isinstance(value, str) else None


@engineer_required
@require_GET
def test_runs(request: HttpRequest, me: Engineer) -> HttpResponse:
    """Every test run, newest first, 50 a page; `?push=`, `?pick=` and `?state=` filter it."""
    form = TestRunFilter(request.GET)
    form.is_valid()  # a bad filter is shown on the form and left out, the rest still applies
    push_id, pick_id, state = form.number("push"), form.number("pick"), form.text("state")
    runs = console_test_runs(push_id=push_id, pick_id=pick_id, state=state or None)
    page = Paginator(runs, TEST_RUNS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "nav": "tests",
        "form": form,
        "page": page,
        "runs": page.object_list,
        "filters": query.urlencode(),
        "push": Push.objects.select_related("branch").filter(pk=push_id).first()
        if push_id
        else None,
        "pick": Pick.objects.filter(pk=pick_id).first() if pick_id else None,
        "state": state,
        "states": TestRunState,
    }
    if not page.object_list:  # then say which repositories run no tests at all
        idle = Repository.objects.filter(is_active=True, test_command="").order_by("name")
        context["without_tests"] = list(idle.values_list("name", flat=True))
    return render(request, "pushes/tests.html", context)


@engineer_required
@require_GET
def test_run(request: HttpRequest, pk: int, me: Engineer) -> HttpResponse:
    """One test run: its command, exit code, timing and full log."""
    run = get_object_or_404(
        TestRun.objects.select_related("push__branch__repository", "pick"), pk=pk
    )
    return render(
        request,
        "pushes/test_run.html",
        {
            "run": run,
            "push": run.push,
            "repository": run.push.branch.repository,
            "log_limit": LOG_LIMIT,
            "nav": "tests",
        },
    )
