"""The release engineer's risk dashboard: every open pick of the current train with its risk,
and in-place actions (htmx) that call the same services as the pick's page.

A move answers with the pick's row, swapped in place, its refusal (a DomainError) shown in the
row in the service's own words. An unlike and a bulk approval answer with the whole table (they
change many rows). The table polls itself every 10 s, keeping the filters in its URL.
Without JavaScript the filters, sorting and bulk approval still work as plain forms (a move
posted without htmx flashes and comes back), and each row links to its pick's page.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from html import escape
from typing import cast
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget
from django_htmx.middleware import HtmxDetails

from common.errors import DomainError
from common.templatetags.releasebot import state_badge
from common.times import when
from karma.models import MAX_STARS
from karma.services import karma_change
from karma.templatetags.karma import stars
from pushes import services
from pushes.choices import PickState
from pushes.forms import ReasonForm, RiskFilterForm
from pushes.models import Engineer, Pick
from pushes.moves import (
    APPROVE,
    REJECT,
    UNLIKE,
    Channel,
    Move,
    Reason,
    Target,
    moves_of,
)
from pushes.selectors.progress import pushes_in_progress
from pushes.selectors.risk_dashboard import (
    SORTS,
    RiskFilters,
    dashboard_risk,
    dashboard_risk_row,
)
from pushes.selectors.risk_rows import PICK_MOVES, RiskRow
from pushes.services.urgent import pick_urgent_note
from pushes.views.base import release_engineer_required
from pushes.views.engineers import karma_changed

BULK_LIMIT = 500


class HtmxRequest(HttpRequest):
    """A request through django-htmx's middleware (for type checkers)."""

    htmx: HtmxDetails


# The row's moves, as the registry has them for the dashboard.
_ROW_MOVES = {move.name: move for move in moves_of(Target.PICK, Channel.DASHBOARD)}


def _moved(move: Move, pick: Pick) -> str:
    """ "Approved for push 2026-11-25.1." or, if that is not all, what it is now."""
    verb = move.done.capitalize()
    where = f" for push {pick.push.label}" if pick.push and move is not REJECT else ""
    where += pick_urgent_note(pick=pick) if move is APPROVE else ""
    state = pick.get_state_display().lower()
    return f"{verb}{where}." if state == move.done else f"{verb}{where}: now {state}."


def _filters(params: QueryDict) -> tuple[RiskFilterForm, RiskFilters]:
    form = RiskFilterForm(params)
    form.is_valid()
    chosen = {name: value for name, value in form.cleaned_data.items() if value}
    return form, RiskFilters(**chosen)


def _query(filters: RiskFilters, **changes: str | int) -> str:
    values = {**filters.__dict__, **changes}
    if values.get("sort") == "risk":
        values.pop("sort")
    if values.get("page") == 1:
        values.pop("page")
    return urlencode({name: value for name, value in values.items() if value})


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def _prefix(name: str, sentinel: object) -> str:
    """A route's URL up to its argument, reversed once so rows build links by concatenation."""
    return reverse(name, args=[sentinel]).split(str(sentinel))[0]


def _table_context(
    request: HttpRequest,
    filters: RiskFilters,
    *,
    done: dict[int, str] | None = None,
    errors: dict[int, str] | None = None,
    **extra: object,
) -> dict[str, object]:
    """The table's context: the groups, each with its rows' HTML, and the sort links."""
    found = dashboard_risk(filters=filters)
    page = reverse("risk-dashboard")
    sorts = {}
    for name in SORTS:
        active = filters.sort.lstrip("-") == name
        flipped = f"-{name}" if filters.sort == name else name
        sorts[name] = {
            "href": _with_query(page, _query(filters, sort=flipped if active else name, page=1)),
            "active": active,
            "reversed": filters.sort.startswith("-"),
        }
    row_html = RowHtml()
    sections = []
    for group in found.groups:
        for row in group.rows:  # what a move just did to each pick, shown on its row
            row.done = (done or {}).get(row.pick.pk, "")
            row.error = (errors or {}).get(row.pick.pk, "")
        sections.append(
            {
                "push": group.push,
                "key": group.key,
                "count": group.count,
                "shown": len(group.rows),
                "flagged": group.flagged,
                "mark": mark_safe(f"<!--risk-rows:{group.key}-->"),
                "rows": "".join(row_html(row) for row in group.rows),
            }
        )
    first = (found.page - 1) * found.per_page + 1
    return {
        "sections": sections,
        "filters": filters,
        "filtered": any(
            (
                filters.state,
                filters.requestor,
                filters.risk,
                filters.push,
                filters.repository,
                filters.q,
            )
        ),  # fmt: skip
        "total": found.total,
        "flagged": found.flagged,
        "levels": found.levels,
        "pager": {
            "page": found.page,
            "pages": found.pages,
            "first": first if found.total else 0,
            "last": min(found.total, found.page * found.per_page),
            "previous": _with_query(page, _query(filters, page=found.page - 1))
            if found.page > 1
            else "",
            "next": _with_query(page, _query(filters, page=found.page + 1))
            if found.page < found.pages
            else "",
        },
        "sorts": sorts,
        "pushes": found.pushes,  # for the filters: the train's, read once with the page
        "repositories": found.repositories,
        "push_url": _prefix("push", 999999999),
        **extra,
    }


_TABLE_MARK = "<!--risk-table-->"


def _table(request: HttpRequest, context: dict[str, object]) -> list[str]:
    """The table as pieces of the response: the template renders it around a marker per group
    and each group's rows go in between.

    At thousands of picks the rows are megabytes; passed through the template they would be
    copied at every node they cross on the way out. Spliced in here, they are copied once.
    """
    rest = str(render_to_string("pushes/_risk_table.html", context, request))
    pieces = []
    for group in cast(list[dict[str, str]], context["sections"]):
        before, rest = rest.split(group["mark"], 1)
        pieces += [before, group["rows"]]
    pieces.append(rest)
    return pieces


class RowHtml:
    """Dashboard rows as HTML, built in Python.

    Through the template engine 3,000 rows took seconds: every variable, tag and number is
    resolved and localised one at a time. As f-strings they take milliseconds. Everything from
    the database is escaped; links are built from prefixes reversed once; the markup is ASCII
    (entities for the symbols) so the page joins and encodes on the fast path. The single-row
    answer of a move uses the same renderer.

    A row carries no form: its buttons post with htmx (hx-post), taking the row's reason field
    (hx-include, hx-target and hx-swap are inherited from the table) and the CSRF token from
    the page's hx-headers. Without JavaScript, the pick's page linked from the row has the same
    moves.
    """

    def __init__(self) -> None:
        self.pick = _prefix("pick", 999999999)
        self.engineer = _prefix("engineer", "~who~")
        self.revision = _prefix("revision", "~rev~")
        self.act = _prefix("risk-pick-act", 999999999)
        self.stars = {n: _ascii(stars(n)) for n in range(MAX_STARS + 1)}
        self.names: dict[str, str] = {}
        self.states = {
            value: _ascii(state_badge(value, label)) for value, label in PickState.choices
        }
        # Each move's button, before the reason field (a reason is optional) or after it
        # (required); "~act~" is the row's hx-post.
        self.buttons = {
            move.name: _button(move) for move in moves_of(Target.PICK, Channel.DASHBOARD)
        }
        self.unlike_confirm = _confirm(UNLIKE)
        needs = [
            move.name
            for move in (*moves_of(Target.PICK, Channel.DASHBOARD), UNLIKE)
            if move.reason == Reason.REQUIRED
        ]
        self.placeholder = f"Reason ({', '.join(needs)})"

    def __call__(self, row: RiskRow, reason: str = "") -> str:
        p = row.pick
        pk = p.pk
        risk = row.risk
        act = f'hx-post="{self.act}{pk}/" name="action"'
        name = self.names.get(p.requestor.username)
        if name is None:
            name = self.names[p.requestor.username] = escape(p.requestor.username)
        state = p.state
        moves = PICK_MOVES.get(state, ())
        if risk.flagged:
            head = f'<tr id="pick-{pk}" class="risk-row hot{" done" if row.done else ""}"'
            flag = _FLAG
        else:
            head = f'<tr id="pick-{pk}" class="risk-row{" done" if row.done else ""}"'
            flag = ""
        url = escape(p.review_url)
        if p.review_comments is None:
            comments = (
                f'<a href="{url}" title="Comments unknown">?</a>'
                if url
                else '<span class="muted" title="No review link">?</span>'
            )
        elif url:
            comments = f'<a href="{url}" title="Open the review">{p.review_comments}</a>'
        else:
            comments = str(p.review_comments)
        if p.confirmed_at:
            at = when(p.confirmed_at, p.branch.repository)
            confirmed = f'<span class="ok-text nowrap">&#10003; {at}</span>'
        elif state == "awaiting-confirmation":
            confirmed = '<span class="warn-text">waiting</span>'
        else:
            confirmed = '<span class="muted">&mdash;</span>'
        reasons = (
            f'<div class="small risk-reasons">{escape(", ".join(risk.reasons))}</div>'
            if risk.reasons
            else ""
        )
        rolled = f'<div class="muted small">rolled {p.rolls}&times;</div>' if p.rolls else ""
        before = "".join(self.buttons[name][0] for name in moves).replace("~act~", act)
        after = "".join(self.buttons[name][1] for name in moves).replace("~act~", act)
        if row.error:
            note = f'<div class="errors row-note" role="alert">{escape(row.error)}</div>'
        elif row.done:
            note = f'<div class="ok-text small row-note" role="status">{escape(row.done)}</div>'
        else:
            note = ""
        return (
            f'{head} data-state="{state}"><td><input type="checkbox" name="pick" value="{pk}" '
            f'form="risk-bulk" aria-label="Select pick #{pk}"'
            f"{'' if 'approve' in moves else ' disabled'}></td>"
            f'<td class="nowrap"><a href="{self.pick}{pk}/">#{pk}</a>{flag}<div><a '
            f'class="mono small muted" href="{self.revision}{p.sha}/">{p.sha[:10]}</a></div></td>'
            f'<td class="risk-title">{_URGENT if p.urgent else ""}{escape(p.title)}</td>'
            f'<td class="nowrap"><a href="{self.engineer}{name}/">{name}</a>'
            f"<div>{self.stars.get(row.stars, '')}</div></td>"
            f'<td class="num nowrap"><span class="added">+{p.lines_added}</span> '
            f'<span class="deleted">&minus;{p.lines_deleted}</span><div class="muted small">'
            f"{p.files_changed} file{'' if p.files_changed == 1 else 's'}</div></td>"
            f'<td class="num">{comments}</td>'
            f'<td><span class="badge {_RISK_TONE[risk.level]}" data-risk="{risk.level}">'
            f"{risk.level} risk{' &#9873;' if risk.flagged else ''}"
            f"</span>{reasons}</td>"
            f'<td class="num">{row.age_text}</td>'
            f"<td>{self.states.get(state, state)}{rolled}</td><td>{confirmed}</td>"
            f'<td class="risk-actions">{before}<input type="text" name="reason" maxlength="2000" '
            f'value="{escape(reason) if reason else ""}" placeholder="{self.placeholder}" '
            f'aria-label="Reason for pick #{pk}">{after}<button class="btn small danger" {act} '
            f'value="{UNLIKE.name}" title="Take a star off {name}"{self.unlike_confirm}>'
            f"{UNLIKE.label}</button>"
            f"{note}</td></tr>"
        )


def _button(move: Move) -> tuple[str, str]:
    tone = f" {move.tone}" if move.tone else ""
    title = f' title="{escape(move.hint)}"' if move.hint else ""
    html = (
        f'<button class="btn small{tone}" ~act~ value="{move.name}"{title}{_confirm(move)}>'
        f"{escape(move.label)}</button>"
    )
    return ("", html) if move.reason == Reason.REQUIRED else (html, "")


def _confirm(move: Move) -> str:
    """The question app.js asks in a dialog before the button's request, if the move has one."""
    return f' data-confirm="{_ascii(escape(move.confirm))}"' if move.confirm else ""


_URGENT = '<span class="badge bad" title="Asked for as urgent">urgent</span> '
_FLAG = ' <span class="flag" title="Large and controversial: look closely">&#9873;</span>'
_RISK_TONE = {"low": "ok", "medium": "warn", "high": "bad"}


def _ascii(html: str) -> str:
    return str(html).encode("ascii", "xmlcharrefreplace").decode("ascii")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a table is built.

    Thousands of rows allocate tens of thousands of small objects, none in cycles, all freed by
    reference counting once the page is built. Left on, the collector would scan them again
    and again and promote them, bringing on full collections of the whole heap.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@release_engineer_required
@require_GET
def dashboard(request: HttpRequest, me: Engineer) -> HttpResponse:
    form, filters = _filters(request.GET)
    query = _query(filters)
    with _gc_paused():
        context = _table_context(request, filters)
        context.update(
            form=form,
            in_progress=pushes_in_progress(),  # a push running now, shown live above the table
            table_url=_with_query(reverse("risk-table"), query),
            bulk_url=_with_query(reverse("risk-bulk-approve"), query),
            clear_url=reverse("risk-dashboard"),
            nav="risk",
        )
        context["table_mark"] = mark_safe(_TABLE_MARK)
        page = render_to_string("pushes/dashboard_risk.html", context, request)
        head, tail = page.split(_TABLE_MARK, 1)
        return HttpResponse([head, *_table(request, context), tail])


@release_engineer_required
@require_GET
def table(request: HttpRequest, me: Engineer) -> HttpResponse:
    """The table alone, polled by the dashboard with its filters in the query string."""
    _, filters = _filters(request.GET)
    with _gc_paused():
        return HttpResponse(_table(request, _table_context(request, filters)))


@release_engineer_required
@require_POST
def pick_act(request: HtmxRequest, pk: int, me: Engineer) -> HttpResponse:
    """One button of a row: approve, defer, reject (a reason) or unlike the requestor."""
    action = request.POST.get("action", "")
    form = ReasonForm(request.POST)
    valid = form.is_valid()
    reason = form.cleaned_data["reason"] if valid else ""
    error = done = ""
    try:
        if not valid:
            raise DomainError(str(form.errors["reason"][0]))
        if action == UNLIKE.name:
            done = _unlike(request, pk, reason)
        elif action in _ROW_MOVES:
            move = _ROW_MOVES[action]
            done = _moved(move, move.service_function(pick_id=pk, actor=me, reason=reason))
        else:
            raise DomainError("Choose approve, defer, reject or unlike.", code="bad-action")
    except DomainError as refused:
        error = refused.message
    if not request.htmx:
        (messages.error if error else messages.success)(request, f"Pick #{pk}: {error or done}")
        return redirect("risk-dashboard")
    if action == "unlike" and not error:
        # Every row of the requestor changes stars (and maybe risk): answer with the table.
        _, filters = _filters(_current_query(request))
        context = _table_context(request, filters, done={pk: done}, notice=f"Pick #{pk}: {done}")
        response = HttpResponse(_table(request, context))
        return reswap(retarget(response, "#risk-table"), "innerHTML")
    row = dashboard_risk_row(pick_id=pk)
    if row is None:
        raise Http404(f"There is no pick #{pk}.")
    row.error, row.done = error, done
    return HttpResponse(RowHtml()(row, reason=reason if error else ""))


def _unlike(request: HttpRequest, pk: int, reason: str) -> str:
    row = dashboard_risk_row(pick_id=pk)
    if row is None:
        raise Http404(f"There is no pick #{pk}.")
    requestor = row.pick.requestor
    event = karma_change(
        actor=request.user, user_id=requestor.user_id, change=UNLIKE.name, reason=reason, pick_id=pk
    )
    return karma_changed(requestor, event.delta, event.stars_after)


@release_engineer_required
@require_POST
def bulk_approve(request: HtmxRequest, me: Engineer) -> HttpResponse:
    """Approve the ticked picks one by one with the pick page's service; refusals stay on
    their rows, the rest are approved."""
    _, filters = _filters(request.GET)
    ids = list(dict.fromkeys(int(v) for v in request.POST.getlist("pick") if v.isdigit()))
    approved: dict[int, str] = {}
    refused: dict[int, str] = {}
    for pk in ids[:BULK_LIMIT]:
        try:
            moved = services.pick_approve(pick_id=pk, actor=me)
        except DomainError as error:
            refused[pk] = error.message
        else:
            approved[pk] = _moved(APPROVE, moved)
    notice = _bulk_notice(approved, refused, len(ids))
    if not request.htmx:
        (messages.warning if refused or not ids else messages.success)(request, notice)
        return redirect(_with_query(reverse("risk-dashboard"), _query(filters)))
    context = _table_context(
        request,
        filters,
        done=approved,
        errors=refused,
        notice=notice,
        notice_bad=bool(refused or not ids),
    )
    return HttpResponse(_table(request, context))


def _bulk_notice(approved: dict[int, str], refused: dict[int, str], asked: int) -> str:
    if not asked:
        return "Tick the picks to approve first."
    parts = [f"Approved {len(approved)} pick{'s' if len(approved) != 1 else ''}."]
    if refused:
        parts.append(f"{len(refused)} refused: " + "; ".join(refused.values()))
    if asked > BULK_LIMIT:
        parts.append(f"Only the first {BULK_LIMIT} were taken; approve the rest next.")
    return " ".join(parts)


def _current_query(request: HtmxRequest) -> QueryDict:
    """The dashboard's filters as the browser shows them (htmx sends the page's URL)."""
    return QueryDict(urlsplit(request.htmx.current_url or "").query)
