"""Pages of the train. Each view parses, calls one selector or service, and renders.

A refusal from the domain (DomainError) is shown in its own words, the same ones the API and
the bot use: on the form that was sent, as a flash message after a button, or as an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from pushes import actions, selectors, services
from pushes.choices import PUSH_RUNNING_STATES
from pushes.forms import PickRequestForm, ReasonForm
from pushes.models import Engineer, Notification, Pick, Push, ReleaseBranch, Repository
from releasebot.errors import DomainError, Forbidden

NO_ENGINEER = (
    "Your account has no engineer record, so it cannot request or answer picks. "
    "Ask an admin to add one for you."
)
INBOX_SIZE = 100


def _engineer(request: HttpRequest) -> Engineer | None:
    return getattr(request.user, "engineer", None)


def engineer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, with an engineer row, passed to the view as `me`; else a page saying so."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        me = _engineer(request)
        if me is None:
            return _refused(request, Forbidden(NO_ENGINEER))
        return view(request, *args, me=me, **kwargs)

    return wrapper


def _refused(request: HttpRequest, error: DomainError, **extra: object) -> HttpResponse:
    context = {"error": error, "title": "Refused", **extra}
    return render(request, "pushes/refused.html", context, status=error.status)


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Back where the button was (a `next` on this site), else `default`."""
    target = request.POST.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(target if safe and target.startswith("/") else default)


# --- reading ------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "pushes/home.html", {"trains": selectors.train_overview(), "nav": "train"}
    )


@login_required
def repository(request: HttpRequest, slug: str) -> HttpResponse:
    repo = get_object_or_404(Repository, slug=slug)
    branches = repo.branches.order_by("-cut_at")
    return render(request, "pushes/repository.html", {"repository": repo, "branches": branches})


@login_required
def branch(request: HttpRequest, pk: int) -> HttpResponse:
    branch = get_object_or_404(ReleaseBranch.objects.select_related("repository"), pk=pk)
    context = selectors.branch_page(branch=branch)
    context["can_push"] = actions.branch_can_push(branch, _engineer(request))
    return render(request, "pushes/branch.html", context)


def _push_context(request: HttpRequest, pk: int) -> dict[str, object]:
    push = get_object_or_404(Push.objects.select_related("branch__repository"), pk=pk)
    context = selectors.push_page(push=push)
    context["can_run"] = actions.push_can_run(push, _engineer(request))
    context["polling"] = push.state in PUSH_RUNNING_STATES
    return context


@login_required
def push(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "pushes/push.html", _push_context(request, pk))


@login_required
@require_GET
def push_picks(request: HttpRequest, pk: int) -> HttpResponse:
    """The push's picks table alone, polled by the push page while the push runs."""
    return render(request, "pushes/_push_picks.html", _push_context(request, pk))


@login_required
def pick(request: HttpRequest, pk: int) -> HttpResponse:
    pick = get_object_or_404(
        Pick.objects.select_related(
            "branch__repository", "push", "requestor__user", "backup__user"
        ),
        pk=pk,
    )
    context = selectors.pick_page(pick=pick)
    context["actions"] = actions.pick_actions(pick, _engineer(request))
    return render(request, "pushes/pick.html", context)


def engineer(request: HttpRequest, username: str) -> HttpResponse:
    """The engineer's page lives with its karma forms in pushes.views.karma."""
    from pushes.views.karma import engineer_page  # imported late: karma.py imports this module

    return engineer_page(request, username)


# --- "where is my revision?" --------------------------------------------------------------


@login_required
def revision_search(request: HttpRequest) -> HttpResponse:
    """The nav's search box: `/r/?q=...`. A SHA or D123 goes to `/r/<q>/`; a review URL or
    "#45" (which cannot sit in a path) is looked up here and sent to its commit's page."""
    query = request.GET.get("q", "").strip()
    if not query:
        return render(request, "pushes/revision_search.html", {"title": "Find a revision"})
    if query.isascii() and query.isalnum():
        return redirect("revision", rev=query)
    try:
        commit = selectors.revision_lookup(query=query)
    except DomainError as error:
        return _refused(request, error, query=query)
    return redirect("revision", rev=commit.sha)


@login_required
def revision(request: HttpRequest, rev: str) -> HttpResponse:
    try:
        status = selectors.revision_status(query=rev)
    except DomainError as error:
        return _refused(request, error, query=rev)
    return render(
        request,
        "pushes/revision.html",
        {
            "status": status,
            "commit": status.commit,
            "pickable": actions.revision_pickable(status),
            "held_by": actions.revision_held_by(status),
        },
    )


# --- asking for a pick --------------------------------------------------------------------


@engineer_required
def pick_new(request: HttpRequest, me: Engineer) -> HttpResponse:
    error = None
    if request.method == "POST":
        form = PickRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            chosen = data["branch"]
            try:
                result = services.pick_request(
                    requestor=me,
                    rev=data["revision"],
                    reason=data["reason"],
                    branch_name=chosen.name if chosen else None,
                    repository=chosen.repository if chosen else None,
                    backup=data["backup"],
                )
            except DomainError as refused:
                error = refused
            else:
                created = result.pick
                where = f" for push {created.push.label}" if created.push else ""
                flash = messages.success if result.dry_run.applies else messages.warning
                flash(
                    request,
                    f"Pick #{created.pk} of {created.short_sha} requested on "
                    f"{created.branch.name}{where}. {result.dry_run.summary}",
                )
                return redirect(created)
    else:
        form = PickRequestForm(
            initial={
                "revision": request.GET.get("rev", "")[:40],
                "branch": request.GET.get("branch"),
            }
        )
    status = 200 if request.method == "GET" else (error.status if error else 400)
    return render(
        request,
        "pushes/pick_new.html",
        {"form": form, "error": error, "nav": "pick-new"},
        status=status,
    )


_PICK_MOVES: dict[str, tuple[Callable[..., Pick], str, bool]] = {
    # action: (service, past tense, takes a reason)
    "approve": (services.pick_approve, "approved", True),
    "reject": (services.pick_reject, "rejected", True),
    "defer": (services.pick_defer, "deferred", True),
    "withdraw": (services.pick_withdraw, "withdrawn", True),
    "confirm": (services.pick_confirm, "confirmed: you are down to support its push", False),
    "decline": (services.pick_decline, "declined for this push", True),
}


@engineer_required
@require_POST
def pick_act(request: HttpRequest, pk: int, action: str, me: Engineer) -> HttpResponse:
    """One button of a pick's page or of the inbox: call the service, flash, go back."""
    service, done, takes_reason = _PICK_MOVES[action]
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["reason"][0]))
        return _back(request, reverse("pick", args=[pk]))
    kwargs = {"reason": form.cleaned_data["reason"]} if takes_reason else {}
    try:
        moved = service(pick_id=pk, actor=me, **kwargs)
    except DomainError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Pick #{moved.pk} {done}. It is now {_state(moved)}.")
    return _back(request, reverse("pick", args=[pk]))


def _state(pick: Pick) -> str:
    where = f" (push {pick.push.label})" if pick.push else ""
    return f"{pick.get_state_display().lower()}{where}"


# --- running pushes -----------------------------------------------------------------------

ONLY_RELEASE_ENGINEERS = "Only release engineers can start a push."


@engineer_required
@require_POST
def push_run(request: HttpRequest, pk: int, me: Engineer) -> HttpResponse:
    """ "Run now": queue the push for a worker; the page then shows it pick by pick."""
    try:
        push = services.push_request_run(push_id=pk, actor=me)
    except DomainError as error:
        return _refused(request, error)
    messages.success(
        request, f"Push {push.label} of {push.branch.name} queued: it starts in a moment."
    )
    return redirect(push)


@engineer_required
@require_POST
def branch_push_now(request: HttpRequest, pk: int, me: Engineer) -> HttpResponse:
    """ "Push now": the branch's next push (or a new one), queued to run at once."""
    branch = get_object_or_404(ReleaseBranch.objects.select_related("repository"), pk=pk)
    try:
        with transaction.atomic():
            started = services.push_start_now(branch=branch, actor=me)
            services.push_request_run(push_id=started.pk, actor=me)
    except DomainError as error:
        return _refused(request, error)
    messages.success(request, f"Push {started.label} of {branch.name} queued: it starts now.")
    return redirect(started)


# --- the inbox ----------------------------------------------------------------------------


@engineer_required
def inbox(request: HttpRequest, me: Engineer) -> HttpResponse:
    """The engineer's notices, newest first; looking at them marks them read."""
    notices = list(
        Notification.objects.filter(engineer=me).select_related(
            "pick__push", "pick__branch__repository", "push__branch__repository"
        )[:INBOX_SIZE]
    )
    rows = actions.inbox_rows(notices, me)
    services.notification_mark_read(engineer=me)
    return render(
        request,
        "pushes/inbox.html",
        {"rows": rows, "nav": "inbox", "limit": INBOX_SIZE, "inbox_unread": 0},
    )
