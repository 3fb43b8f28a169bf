"""The authorization matrix's rows: every API operation and every page, and who may use it.

tests/security/test_authorization.py runs each row as every role and checks that no URL of the
project is missing; tests/security/test_csrf.py posts every one of them without a CSRF token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver

from tests.security.world import (
    ADMIN,
    ANONYMOUS,
    BARE,
    ENGINEERS,
    OTHER,
    OWNER,
    RELEASE,
    RELEASE_ENGINEERS,
    ROLES,
    SIGNED_IN,
)

NOBODY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Row:
    """One API operation or page action, and who may do it.

    `allowed` get `ok`. For the rest: a visitor is sent to log in (pages) or gets a 401 (API);
    roles in `guarded` get a 403 (a refused page, or the API's error); any other signed-in role
    is refused by the service and told so (a flash message on a page). `changes`: the allowed
    roles whose call changes the database; `queues`: an allowed call queues a task.
    """

    key: str  # the operationId, or the URL's name (#variant when one URL has several rows)
    method: str
    url: str  # a template filled from World.values()
    allowed: frozenset[str]
    data: dict | None = None
    ok: int = 200
    changes: frozenset[str] = NOBODY
    queues: bool = False
    guarded: frozenset[str] = NOBODY
    code: str = "forbidden"  # the API's error code for a refused engineer
    public: bool = False  # pages: a visitor is treated like anyone else
    htmx: bool = False
    status: dict[str, int] = field(default_factory=dict)  # explicit statuses that override

    def path(self, world) -> str:
        return self.url.format(**world.values())


def api(key, method, url, allowed=ENGINEERS, data=None, *, changes=None, **options) -> Row:
    if changes is None:
        changes = allowed if method == "POST" else NOBODY
    return Row(key, method, url, frozenset(allowed), data, changes=frozenset(changes), **options)


def page(key, url, allowed=SIGNED_IN, *, guarded=NOBODY, **options) -> Row:
    return Row(key, "GET", url, frozenset(allowed), guarded=frozenset(guarded), **options)


def post(key, url, data, allowed, *, changes=None, guarded=frozenset({BARE}), **options) -> Row:
    changes = allowed if changes is None else changes
    options.setdefault("ok", 302)
    return Row(
        key,
        "POST",
        url,
        frozenset(allowed),
        data,
        changes=frozenset(changes),
        guarded=frozenset(guarded),
        **options,
    )


OWNER_AND_RE = RELEASE_ENGINEERS | {OWNER}
NOT_RE = SIGNED_IN - RELEASE_ENGINEERS
REASON = {"reason": "Too risky for a Friday"}

API_ROWS = [
    # Reading: any engineer; a login with no engineer record has no identity on the train.
    api("repositories_list", "GET", "/api/repositories/"),
    api("repositories_retrieve", "GET", "/api/repositories/{slug}/"),
    api("repositories_forge_retrieve", "GET", "/api/repositories/{slug}/forge/"),
    # A repository's GitHub or GitLab setup: release engineers change it.
    api(
        "repositories_forge_partial_update",
        "PATCH",
        "/api/repositories/{slug}/forge/",
        RELEASE_ENGINEERS,
        {"pick_label": "backport"},
        changes=RELEASE_ENGINEERS,
    ),
    # Every setting of a repository, and its deploy lock: release engineers. A freeze tells
    # alice of her open picks; the world is not frozen, so an unfreeze is refused (409).
    api(
        "repositories_partial_update",
        "PATCH",
        "/api/repositories/{slug}/",
        RELEASE_ENGINEERS,
        {"pick_label": "hotfix", "max_rolls": 4},
        changes=RELEASE_ENGINEERS,
    ),
    api(
        "repositories_freeze",
        "POST",
        "/api/repositories/{slug}/freeze/",
        RELEASE_ENGINEERS,
        {"reason": "Incident 42"},
    ),
    api(
        "repositories_unfreeze",
        "POST",
        "/api/repositories/{slug}/unfreeze/",
        RELEASE_ENGINEERS,
        {"reason": "All clear"},
        status={RELEASE: 409, ADMIN: 409},
    ),
    api("branches_list", "GET", "/api/branches/"),
    api("branches_retrieve", "GET", "/api/branches/{branch}/"),
    api("pushes_list", "GET", "/api/pushes/"),
    api("pushes_retrieve", "GET", "/api/pushes/{push}/"),
    api("pushes_notes", "GET", "/api/pushes/{push}/notes/"),
    api("pushes_progress", "GET", "/api/pushes/{push}/progress/"),
    api("picks_list", "GET", "/api/picks/"),
    api("picks_retrieve", "GET", "/api/picks/{requested}/"),
    api("revisions_search", "GET", "/api/revisions/?q={sha}"),
    api("revisions_retrieve", "GET", "/api/revisions/{sha}/"),
    api("test_runs_list", "GET", "/api/test-runs/"),
    api("test_runs_retrieve", "GET", "/api/test-runs/{run}/"),
    api("inbox_list", "GET", "/api/inbox/"),
    api("karma_list", "GET", "/api/karma/"),
    api("karma_retrieve", "GET", "/api/karma/{owner}/"),
    api("engineers_list", "GET", "/api/engineers/?sort=-failure_rate"),
    api("events_list", "GET", "/api/events/"),
    api("events_list#csv", "GET", "/api/events/?format=csv&move=approved"),
    # Changing: any engineer asks; release engineering decides; the requestor answers.
    api(
        "picks_create",
        "POST",
        "/api/picks/",
        ENGINEERS,
        {"revision": "{free}", "reason": "Checkout crashes"},
        ok=201,
    ),
    api("picks_approve", "POST", "/api/picks/{requested}/approve/", RELEASE_ENGINEERS, {}),
    api("picks_reject", "POST", "/api/picks/{requested}/reject/", RELEASE_ENGINEERS, REASON),
    # Revert and rollback: release engineers; the world has no shipped pick nor a push that
    # went out, so they are refused to them too, as the wrong state (409), changing nothing.
    api(
        "picks_revert",
        "POST",
        "/api/picks/{requested}/revert/",
        RELEASE_ENGINEERS,
        REASON,
        changes=NOBODY,
        status={RELEASE: 409, ADMIN: 409},
    ),
    api(
        "pushes_rollback",
        "POST",
        "/api/pushes/{push}/rollback/",
        RELEASE_ENGINEERS,
        REASON,
        changes=NOBODY,
        status={RELEASE: 409, ADMIN: 409},
    ),
    api("picks_defer", "POST", "/api/picks/{requested}/defer/", RELEASE_ENGINEERS, {}),
    api("picks_withdraw", "POST", "/api/picks/{requested}/withdraw/", OWNER_AND_RE, {}),
    api("picks_confirm", "POST", "/api/picks/{approved}/confirm/", {OWNER}, {}),
    api("picks_decline", "POST", "/api/picks/{approved}/decline/", {OWNER}, {}),
    api(
        "branches_push_now",
        "POST",
        "/api/branches/{branch}/push-now/",
        RELEASE_ENGINEERS,
        {"early": True},
        ok=202,
        changes=NOBODY,
        queues=True,
    ),
    api(
        "pushes_run",
        "POST",
        "/api/pushes/{push}/run/",
        RELEASE_ENGINEERS,
        {"early": True},
        ok=202,
        changes=NOBODY,
        queues=True,
    ),
    api(
        "pushes_retry",
        "POST",
        "/api/pushes/{failed}/retry/",
        RELEASE_ENGINEERS,
        {},
        ok=202,
        queues=True,
    ),
    # Marks your own notices read: only alice has unread ones.
    api("inbox_read", "POST", "/api/inbox/read/", ENGINEERS, {}, changes={OWNER}),
    api(
        "karma_unlike",
        "POST",
        "/api/karma/{owner}/unlike/",
        RELEASE_ENGINEERS,
        {"reason": "Broke search on push 1"},
    ),
    api(
        "karma_restore",
        "POST",
        "/api/karma/{carol}/restore/",
        RELEASE_ENGINEERS,
        {"reason": "We talked it through", "stars": 1},
    ),
    # Who you are and whether you may request a pick now: every engineer reads their own.
    api("me_retrieve", "GET", "/api/me/"),
    # Your own notification preferences: every engineer reads and changes theirs.
    api("me_preferences_retrieve", "GET", "/api/me/preferences/"),
    api(
        "me_preferences_partial_update",
        "PATCH",
        "/api/me/preferences/",
        ENGINEERS,
        {"notify_channel": True, "quiet_hours": {"from": "22:00", "until": "07:00"}},
        changes=ENGINEERS,
    ),
    # Anyone with an account trades their password for a token (their own: see the test).
    api(
        "auth_token_create",
        "POST",
        "/api/auth/token/",
        SIGNED_IN,
        {"username": "{username}", "password": "{username}"},
        changes=NOBODY,
        status={ANONYMOUS: 400},
    ),
    # The schema itself: any signed-in account (it describes the API, it holds no data).
    api("api-schema", "GET", "/api/schema/", SIGNED_IN),
]

PAGE_ROWS = [
    # Public: the login page, the browser's search description, logging out.
    page("login", "/login/", ROLES, public=True),
    page("opensearch", "/opensearch.xml", ROLES, public=True),
    post("logout", "/logout/", {}, ROLES, changes=NOBODY, guarded=NOBODY, public=True),
    # Reading: anyone signed in; pages that act as an engineer need an engineer record.
    page("home", "/"),
    page("repository", "/repositories/{slug}/"),
    page("branch", "/branches/{branch}/"),
    page("push", "/pushes/{push}/"),
    page("push-picks", "/pushes/{push}/picks/"),
    page("push-progress", "/pushes/{push}/progress/"),
    page("pick", "/picks/{requested}/"),
    page("engineers", "/engineers/?sort=-failure_rate"),
    page("engineer", "/engineers/{owner}/"),
    page("revision-search", "/r/"),
    page("revision", "/r/{sha}/"),
    page("chat", "/chat/"),
    page("api-docs", "/api/docs/"),
    page("pick-new", "/picks/new/", ENGINEERS, guarded={BARE}),
    # Looking at the inbox marks it read: alice's notices change, nobody else has any.
    page("inbox", "/inbox/", ENGINEERS, guarded={BARE}, changes=frozenset({OWNER})),
    page("pushes-dashboard", "/dashboard/pushes/", ENGINEERS, guarded={BARE}),
    page("pushes-live", "/dashboard/pushes/live/", ENGINEERS, guarded={BARE}),
    page("test-runs", "/tests/", ENGINEERS, guarded={BARE}),
    page("test-run", "/tests/{run}/", ENGINEERS, guarded={BARE}),
    page("risk-dashboard", "/dashboard/risk/", RELEASE_ENGINEERS, guarded=NOT_RE),
    page("risk-table", "/dashboard/risk/table/", RELEASE_ENGINEERS, guarded=NOT_RE),
    # Forms and buttons. A move an engineer may not make is refused by the service, in a flash.
    post(
        "pick-new",
        "/picks/new/",
        {"revision": "{free}", "reason": "Checkout crashes", "branch": "", "backup": ""},
        ENGINEERS,
    ),
    post("pick-approve", "/picks/{requested}/approve/", {}, RELEASE_ENGINEERS),
    post("pick-reject", "/picks/{requested}/reject/", REASON, RELEASE_ENGINEERS),
    post("pick-revert", "/picks/{requested}/revert/", REASON, NOBODY),  # not shipped: a flash
    post(
        "push-rollback",
        "/pushes/{push}/rollback/",
        REASON,
        RELEASE_ENGINEERS,
        changes=NOBODY,
        guarded=NOT_RE,
        ok=409,
    ),
    post("pick-defer", "/picks/{requested}/defer/", {}, RELEASE_ENGINEERS),
    post("pick-withdraw", "/picks/{requested}/withdraw/", {}, OWNER_AND_RE),
    post("pick-confirm", "/picks/{approved}/confirm/", {}, {OWNER}),
    post("pick-decline", "/picks/{approved}/decline/", {}, {OWNER}),
    post(
        "push-run",
        "/pushes/{push}/run/",
        {"early": "1"},
        RELEASE_ENGINEERS,
        changes=NOBODY,
        queues=True,
        guarded=NOT_RE,
    ),
    post(
        "push-retry",
        "/pushes/{failed}/retry/",
        {},
        RELEASE_ENGINEERS,
        queues=True,
        guarded=NOT_RE,
    ),
    post(
        "branch-push-now",
        "/branches/{branch}/push-now/",
        {"early": "1"},
        RELEASE_ENGINEERS,
        changes=NOBODY,
        queues=True,
        guarded=NOT_RE,
    ),
    post(
        "risk-bulk-approve",
        "/dashboard/risk/approve/",
        {"pick": ["{requested}"]},
        RELEASE_ENGINEERS,
        guarded=NOT_RE,
    ),
    post(
        "risk-pick-act#approve",
        "/dashboard/risk/picks/{requested}/",
        {"action": "approve", "reason": ""},
        RELEASE_ENGINEERS,
        guarded=NOT_RE,
    ),
    post(
        "risk-pick-act#unlike-htmx",
        "/dashboard/risk/picks/{requested}/",
        {"action": "unlike", "reason": "Broke search on push 1"},
        RELEASE_ENGINEERS,
        guarded=NOT_RE,
        htmx=True,
        ok=200,
    ),
    # The engineer page's "How you hear from the bot" form: yours only.
    post(
        "engineer#preferences",
        "/engineers/{owner}/",
        {"notify_direct": "on", "quiet_from": "22:00", "quiet_until": "07:00", "time_zone": ""},
        {OWNER},
        guarded=SIGNED_IN - {OWNER},
    ),
    post(
        "engineer-unlike",
        "/engineers/{owner}/unlike/",
        {"reason": "Broke search on push 1"},
        RELEASE_ENGINEERS,
        guarded=NOT_RE,
    ),
    post(
        "engineer-restore",
        "/engineers/{carol}/restore/",
        {"reason": "We talked it through", "stars": "1"},
        RELEASE_ENGINEERS,
        guarded=NOT_RE,
    ),
    # The deploy lock's buttons, refused as a page (as the push buttons are). The world is not
    # frozen: an unfreeze is refused to release engineers too, as not frozen (409).
    post(
        "repository-freeze",
        "/repositories/{slug}/freeze/",
        {"reason": "Incident 42"},
        RELEASE_ENGINEERS,
        guarded=NOT_RE,
    ),
    post(
        "repository-unfreeze",
        "/repositories/{slug}/unfreeze/",
        {"reason": "All clear"},
        RELEASE_ENGINEERS,
        changes=NOBODY,
        guarded=NOT_RE,
        ok=409,
    ),
    # The chat console says one line to the bot as you: the bot's grammar refuses the rest.
    post(
        "chat",
        "/chat/",
        {"text": "withdraw #{requested} Not needed"},
        OWNER_AND_RE,
        guarded=NOBODY,
    ),
    # Slack signs its requests; a session (or none) gets nothing without a signature.
    post(
        "slack-events",
        "/slack/events",
        {"command": "/rb", "text": "withdraw #{requested}"},
        NOBODY,
        guarded=NOBODY,
        public=True,
        status={role: 401 for role in ROLES},
    ),
    # GitHub and GitLab sign their deliveries: a session (or none) without the forge's event
    # and delivery headers gets a 400 in the error shape, and nothing changes.
    *(
        post(
            name,
            url,
            {},
            NOBODY,
            guarded=NOBODY,
            public=True,
            status={role: 400 for role in ROLES},
        )
        for name, url in (("hook-github", "/hooks/github/"), ("hook-gitlab", "/hooks/gitlab/"))
    ),
    # The API's catch-all answers any other address with a 404 in its error shape, to anyone.
    post(
        "api:pushes.api.views.not_found",
        "/api/no-such-thing/",
        {},
        NOBODY,
        guarded=NOBODY,
        public=True,
        status={role: 404 for role in ROLES},
    ),
    # The Django admin: staff only, and what a staff member sees depends on their permissions.
    # rel is staff with no model permissions; superusers see everything.
    page(
        "admin:index",
        "/admin/",
        {RELEASE, ADMIN, BARE},
        guarded=NOBODY,
        status={OWNER: 302, OTHER: 302},
    ),
    page(
        "admin:pushes_pick_changelist",
        "/admin/pushes/pick/",
        {ADMIN, BARE},
        guarded={RELEASE},
        status={OWNER: 302, OTHER: 302},
    ),
]


# --- filling in and walking URLs ----------------------------------------------------------


def fill(value, values: dict):
    """A row's URL or data with the world's ids in place of its {placeholders}."""
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    return value


def shape(path: str) -> str:
    """/api/picks/{id}/ and /api/picks/{requested}/ alike: /api/picks/{}/."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])


def sample(path: str) -> str:
    """A schema path with a value in each parameter, to resolve it to its URL's name."""
    return re.sub(r"\{[^}]*\}", "1", path)


def walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    """(route, name) of every URL under `resolver`, named as `resolve()` names it: with its
    namespaces, and an unnamed URL by its view's dotted path."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace or "") if part)
            yield from walk(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            callback = entry.callback
            name = entry.name or f"{callback.__module__}.{callback.__qualname__}"
            yield prefix + str(entry.pattern), f"{namespace}:{name}" if namespace else name
