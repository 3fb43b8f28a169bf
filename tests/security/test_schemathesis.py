"""schemathesis against the API's own schema, on a live server with a train in it.

The `st` command line runs in its own process against pytest-django's live server, signed in
with a release engineer's DRF token, with every check on: no request may end in a server error,
every answer must be one the schema documents, invalid requests must be refused and valid ones
taken (see REFUSES_WELL_FORMED for the one adjustment, and why).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from pushes import services
from pushes.choices import PickState
from pushes.models import Pick, Revision, TestRun
from tests.pushes import conftest as train_fixtures
from tests.pushes.conftest import MONDAY

ST = Path(sys.executable).parent / "st"
# Sunday's cut of a real repository and the commits that landed after it, at Monday 10:00.
monday, branch, landed = train_fixtures.monday, train_fixtures.branch, train_fixtures.landed

# Operations where a well-formed request may still be refused with a 400, as their schema says:
# the domain's refusals are 400s in the error shape, and no schema can say which revision exists
# or how many stars someone has. For these, positive_data_acceptance also takes a 400; every
# other check, and every other operation, keeps schemathesis' defaults.
REFUSES_WELL_FORMED = {
    "picks_create": "unknown, ambiguous or already requested revision, karma, closed branch",
    "karma_unlike": "no star left to take",
    "karma_restore": "five stars already",
    "auth_token_create": "a wrong username or password",
    "repositories_forge_partial_update": "a review API Releasebot may not call (plain HTTP "
    "without review_allow_http, a private address), which depends on two fields at once",
    "repositories_partial_update": "an unknown time zone, a variable name Releasebot keeps to "
    "itself, a trunk branch git refuses or origin has not, a hook or review API over plain "
    "HTTP without its allow flag: the model's own checks, as in the admin",
    "repositories_freeze": "no reason (optional in the schema so every channel refuses it in "
    "the same words, as no-reason)",
}
# Cases per operation in the fuzzing phase. The coverage phase (every boundary and type the
# schema names, about 1,400 requests) and the stateful phase come on top: the whole run takes
# about 55 s on two cores, on SQLite or PostgreSQL. Deterministic, so a failure repeats.
MAX_EXAMPLES = 10


@pytest.fixture
def train(rel, alice, bob, carol, branch, landed):
    """Picks in several states, a test run and notifications: something for every list."""
    shipped = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=shipped.pk, actor=rel)
    services.pick_confirm(pick_id=shipped.pk, actor=alice)
    for state in (PickState.PICKED, PickState.SHIPPED):
        services.pick_transition(pick_id=shipped.pk, to=state, actor=None)
    services.pick_request(requestor=bob, revision=landed["feature"], reason="Launch", backup=alice)
    push = branch.pushes.order_by("scheduled_at").first()
    TestRun.objects.create(push=push, command="make test", state="passed", started_at=MONDAY)
    return branch


def st_config(path: Path) -> Path:
    """schemathesis.toml: the adjustment above, and real values (half the time) for the
    parameters that name things, so generated requests reach more than a 404."""
    shas = list(Revision.objects.values_list("sha", flat=True))
    revisions = [*shas, *(sha[:7] for sha in shas), "101", "D102", "#101"]
    dictionaries = {
        "revisions": revisions,
        "shas": [sha[:10] for sha in shas],
        "usernames": ["alice", "bob", "carol", "rel"],
        "picks": list(Pick.objects.values_list("pk", flat=True)),
    }
    bindings = {
        "revisions_retrieve": {"path.rev": "revisions"},
        "revisions_search": {"query.q": "revisions"},
        "picks_create": {"body.revision": "shas"},
        "karma_retrieve": {"path.username": "usernames"},
        "karma_unlike": {"path.username": "usernames"},
        "karma_restore": {"path.username": "usernames"},
    }
    lines = []
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(values)}", ""]
    lines += [f"# {operation}: a 400 for {why}" for operation, why in REFUSES_WELL_FORMED.items()]
    lines += [
        "[[operations]]",
        f"include-operation-id = {json.dumps(sorted(REFUSES_WELL_FORMED))}",
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", '
        '"404", "409"]',
        "",
    ]
    for operation, params in bindings.items():
        inline = ", ".join(
            f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}'
            for key, name in params.items()
        )
        lines += ["[[operations]]", f'include-operation-id = "{operation}"']
        lines += [f"parameters = {{ {inline} }}", ""]
    picks = '{ "path.id" = { dictionary = "picks", probability = 0.5 } }'
    lines += ["[[operations]]", 'include-path-regex = "^/api/picks/\\\\{id\\\\}/"']
    lines += [f"parameters = {picks}", ""]
    path.write_text("\n".join(lines))
    return path


def st_run(url: str, token: str, config: Path) -> subprocess.CompletedProcess:
    command = [
        str(ST), "--config-file", str(config), "run", f"{url}/api/schema/",
        "--header", f"Authorization: Token {token}",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers", "2",
        "--request-timeout", "30",
        "--no-color",
        "--report", "ndjson", "--report-dir", str(config.parent),
        "--output-truncate", "false",
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=config.parent, capture_output=True, text=True, timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    live_server, train, rel, tmp_path
):
    token = Token.objects.create(user=rel.user).key
    done = st_run(live_server.url, token, st_config(tmp_path / "schemathesis.toml"))
    output = done.stdout + done.stderr
    (tmp_path / "st.txt").write_text(output)
    assert done.returncode == 0, output
    tested = re.search(r"Tested: (\d+)", output)
    assert tested and int(tested.group(1)) >= 28, output  # every operation, none skipped
