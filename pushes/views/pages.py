"""Pages of the train. Each view parses, calls one selector or service, and renders.

A refusal from the domain (DomainError) is shown in its own words, the same ones the API and
the bot use: on the form that was sent, as a flash message after a button, or as an error page.
Which buttons a page shows, and what each does, the moves registry (pushes.moves) says.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from common.errors import DomainError
from pushes import demo, selectors, services
from pushes.forms import PickRequestForm, ReasonForm
from pushes.models import Engineer, Pick, Push, ReleaseBranch, Repository
from pushes.moves import APPROVE, CONFIRM, MOVES, Channel, Reason, moves_offered
from pushes.selectors.freezes import repository_frozen
from pushes.selectors.people import engineer_change_failure
from pushes.selectors.progress import (
    pick_test_runs_empty_text,
    push_progress,
    push_test_runs_empty_text,
    pushes_in_progress,
)
from pushes.selectors.release_notes import release_notes
from pushes.selectors.search import search_find
from pushes.services.picks import pick_request_outlook
from pushes.services.urgent import pick_urgent_note
from pushes.views.base import back, engineer_required, refused, signed_in_engineer

# --- reading ------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {"trains": selectors.train_overview(), "nav": "train"}
    context["try_this"] = demo.demo_try_this(engineer=signed_in_engineer(request))  # demo only
    context["in_progress"] = pushes_in_progress()  # each shown in its repository's section
    return render(request, "pushes/home.html", context)


@login_required
def repository(request: HttpRequest, slug: str) -> HttpResponse:
    repo = get_object_or_404(Repository, slug=slug)
    branches = repo.branches.order_by("-cut_at")
    frozen = repository_frozen(repository=repo)
    context = {"repository": repo, "branches": branches, "frozen": frozen}
    return render(request, "pushes/repository.html", context)


@login_required
def branch(request: HttpRequest, pk: int) -> HttpResponse:
    branch = get_object_or_404(ReleaseBranch.objects.select_related("repository"), pk=pk)
    context = selectors.branch_page(branch=branch)
    context["moves"] = moves_offered(branch, signed_in_engineer(request), Channel.PAGE)
    return render(request, "pushes/branch.html", context)


def _push_context(request: HttpRequest, pk: int) -> dict[str, object]:
    push = get_object_or_404(Push.objects.select_related("branch__repository"), pk=pk)
    context = selectors.push_page(push=push)
    context["moves"] = moves_offered(push, signed_in_engineer(request), Channel.PAGE)
    progress = push_progress(push_id=push.pk)
    context["progress"] = progress
    context["polling"] = progress.polling  # from "Run now" on, not only once a worker has it
    return context


@login_required
def push(request: HttpRequest, pk: int) -> HttpResponse:
    context = _push_context(request, pk)
    shown = context["push"]
    assert isinstance(shown, Push)
    context["notes"] = release_notes(push=shown)  # the page's alone: its polled part has none
    context["test_runs_empty"] = push_test_runs_empty_text(push=shown)
    return render(request, "pushes/push.html", context)


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
    context["frozen"] = repository_frozen(repository=pick.branch.repository)
    context["change_failure"] = engineer_change_failure(engineer=pick.requestor)
    offered = moves_offered(pick, signed_in_engineer(request), Channel.PAGE)
    context["moves"] = offered
    context["can_confirm"] = CONFIRM in offered
    context["test_runs_empty"] = pick_test_runs_empty_text(pick=pick)
    return render(request, "pushes/pick.html", context)


# --- "where is my revision?" --------------------------------------------------------------


@login_required
def revision_search(request: HttpRequest) -> HttpResponse:
    """The nav's search box: `/r/?q=...`. "#70" goes to pick 70 when there is one; a SHA or
    D123 to `/r/<q>/`; a review URL or "#45" (which cannot sit in a path) is looked up here and
    sent to its commit's page; anything else lists the people it matches
    (pushes.selectors.search has the rule)."""
    query = request.GET.get("q", "").strip()
    if not query:
        return render(request, "pushes/revision_search.html", {"title": "Find a revision"})
    try:
        found = search_find(query=query)
    except DomainError as error:
        return refused(request, error, query=query)
    if found.pick is not None:
        return redirect(found.pick)
    if found.revision:
        return redirect("revision", rev=found.revision)
    context = {"title": f"People matching {query[:40]}", "query": query, "people": found.people}
    return render(request, "pushes/revision_search.html", context)


@login_required
def revision(request: HttpRequest, rev: str) -> HttpResponse:
    try:
        status = selectors.revision_status(query=rev)
    except DomainError as error:
        return refused(request, error, query=rev)
    return render(
        request,
        "pushes/revision.html",
        {
            "status": status,
            "revision": status.revision,
            "pickable": selectors.revision_pickable(status),
            "held_by": selectors.revision_held_by(status),
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
                    revision=data["revision"],
                    reason=data["reason"],
                    branch_name=chosen.name if chosen else None,
                    repository=chosen.repository if chosen else None,
                    backup=data["backup"],
                    urgent=data["urgent"],
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
    # Asked before anything is typed, with the rule the request itself asks first.
    outlook = pick_request_outlook(engineer=me)
    if error is not None and outlook.refusal and error.message == outlook.refusal.message:
        error = None  # said once, above the form
    context = {"form": form, "error": error, "outlook": outlook, "nav": "pick-new"}
    return render(request, "pushes/pick_new.html", context, status=status)


@engineer_required
@require_POST
def pick_move(request: HttpRequest, pk: int, move: str, me: Engineer) -> HttpResponse:
    """One button of a pick's page or of the inbox: call the move's service, flash, go back."""
    chosen = MOVES[move]
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["reason"][0]))
        return back(request, reverse("pick", args=[pk]))
    reason = {} if chosen.reason == Reason.NONE else {"reason": form.cleaned_data["reason"]}
    try:
        moved = chosen.service_function(pick_id=pk, actor=me, **reason)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        done = f"{chosen.done}: {chosen.after}" if chosen.after else chosen.done
        urgent = pick_urgent_note(pick=moved).replace(", started", ". Its push was started")
        urgent = urgent if chosen is APPROVE else ""
        messages.success(request, f"Pick #{moved.pk} {done}{urgent}. It is now {_state(moved)}.")
    return back(request, reverse("pick", args=[pk]))


def _state(pick: Pick) -> str:
    if pick.push:
        return f"{pick.get_state_display().lower()} (push {pick.push.label})"
    if pick.is_open:  # no push to wait for: say what happens instead
        return selectors.pick_next_step(pick)
    return pick.get_state_display().lower()


@engineer_required
@require_POST
def push_move(request: HttpRequest, pk: int, move: str, me: Engineer) -> HttpResponse:
    """ "Run now" on a push, or "Push now" on a branch: queue the push for a worker; its page
    then shows it pick by pick. Before the push's slot it asks first, saying who would wait."""
    chosen = MOVES[move]
    early = {"early": request.POST.get("early") == "1"} if chosen.asks_first else {}
    if chosen.reason != Reason.NONE:  # a rollback says why
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return refused(request, DomainError(str(form.errors["reason"][0]), code="invalid"))
        early["reason"] = form.cleaned_data["reason"]
    try:
        started = chosen.service_function(**{f"{chosen.target}_id": pk}, actor=me, **early)
    except services.PushEarly as question:
        return render(
            request,
            "pushes/push_early.html",
            {
                "question": question,
                "move": chosen,
                "pk": pk,
                "back": reverse(str(chosen.target), args=[pk]),
            },
        )
    except DomainError as error:
        return refused(request, error)
    then = ": it starts in a moment" if chosen.background else ""
    messages.success(request, f"Push {started.label} of {started.branch.name} {chosen.done}{then}.")
    return redirect(started)


# --- the inbox ----------------------------------------------------------------------------


@engineer_required
def inbox(request: HttpRequest, me: Engineer) -> HttpResponse:
    """The engineer's notices, newest first; looking at them marks them read."""
    rows = selectors.inbox_rows(engineer=me)
    services.notification_mark_read(engineer=me)
    return render(
        request,
        "pushes/inbox.html",
        {"rows": rows, "nav": "inbox", "limit": selectors.INBOX_SIZE, "inbox_unread": 0},
    )
