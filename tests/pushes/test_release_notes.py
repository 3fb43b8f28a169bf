"""Release notes of a push run on a real repository: which picks, in which group, each line,
and the same notes in the API (Markdown), on the push page and in the Slack summary."""

from __future__ import annotations

import datetime as dt

import pytest

from pushes import services
from pushes.choices import PickState, PushState
from pushes.models import FreezeWindow, Pick, Push
from pushes.risk import Risk
from pushes.selectors.release_notes import (
    LEFT_OUT,
    NoteGroup,
    NoteLine,
    ReleaseNotes,
    push_notes,
    release_notes,
)
from tests.api import assert_error, client_for
from tests.chat.conftest import eager_celery, slack, stub  # noqa: F401
from tests.conftest import make_engineer
from tests.pushes.conftest import LA
from tests.repos import review_line

TUESDAY_1030 = dt.datetime(2026, 11, 24, 10, 30, 5, tzinfo=LA)
TUESDAY_1100 = dt.datetime(2026, 11, 24, 11, 0, 5, tzinfo=LA)
DOCS_TITLE = "Document *module_1* [draft] <b>"


@pytest.fixture
def ran(alice, bob, rel, remote, repository, branch, landed, monday):
    """Tuesday's first push, run: alice's fix ships (bob, her backup, confirmed it), her docs
    change ships and is reverted after, bob's feature breaks the tests, rel's change conflicts,
    and dave never confirms."""
    repository.test_command = "test ! -e src/feature.py"  # the feature breaks the tests
    repository.chat_channel = "CSHOP"
    repository.save()
    dave = make_engineer("dave")
    docs = remote.commit(
        {"src/docs.py": "DOCS = 1\n"}, DOCS_TITLE, author="alice", body=review_line(102)
    )
    other = remote.commit({"src/other.py": "OTHER = 1\n"}, "Other fix", author="rel")
    services.trunk_sync(repository=repository)
    asks = {
        "fix": (alice, landed["fix"]),
        "docs": (alice, docs),
        "feature": (bob, landed["feature"]),
        "second": (rel, landed["second"]),
        "other": (dave, other),
    }
    picks = {}
    for name, (who, sha) in asks.items():
        backup = bob if name == "fix" else None  # bob confirms alice's fix for her
        pick = services.pick_request(
            requestor=who, revision=sha, reason="Needed", backup=backup
        ).pick
        services.pick_approve(pick_id=pick.pk, actor=rel)
        picks[name] = pick
    Pick.objects.filter(pk=picks["fix"].pk).update(
        review_url="https://github.com/acme/app/pull/101"
    )
    monday.move_to(TUESDAY_1030)
    services.train_advance()
    services.pick_confirm(pick_id=picks["fix"].pk, actor=bob)
    for name in ("docs", "feature", "second"):
        services.pick_confirm(pick_id=picks[name].pk, actor=asks[name][0])
    monday.move_to(TUESDAY_1100)
    push = services.push_run(push_id=picks["fix"].push_id)
    assert push.state == PushState.DONE
    services.pick_revert(pick_id=picks["docs"].pk, actor=rel, reason="Broke the docs build")
    return push, {name: Pick.objects.get(pk=pick.pk) for name, pick in picks.items()}


def risk_of(pick: Pick) -> str:
    assert pick.decided_risk, "approved: its risk was kept"
    return Risk.from_record(pick.decided_risk).summary


def test_the_notes_group_every_pick_the_push_dealt_with_by_outcome(ran):
    push, picks = ran
    notes = release_notes(push=push)
    grouped = {group.title: [line.pick.pk for line in group.lines] for group in notes.groups}
    assert grouped == {
        "Shipped": [picks["fix"].pk],
        "Conflicts": [picks["second"].pk],
        "Tests failed": [picks["feature"].pk],
        # Not confirmed: the push rolled it on to the next one while it ran.
        "Left out / rolled to a later push": [picks["other"].pk],
        "Reverted": [picks["docs"].pk],
    }
    assert picks["other"].state == PickState.DEFERRED and picks["other"].push_id != push.pk
    notes_by_pick = {line.pick.pk: line.note for group in notes.groups for line in group.lines}
    assert notes_by_pick[picks["second"].pk] == "conflicts in src/feature.py"
    assert notes_by_pick[picks["other"].pk] == (
        "Not confirmed before the push; now in push 2026-11-25.1"
    )
    assert notes_by_pick[picks["docs"].pk] == "Broke the docs build"
    assert notes.when == "finished Tue 24 Nov 2026 11:00 PST"


def test_the_markdown_has_a_heading_and_a_line_per_pick_with_review_requestor_and_risk(ran):
    push, picks = ran
    text = push_notes(push=push)
    fix, docs, feature = picks["fix"], picks["docs"], picks["feature"]
    test_run = feature.test_runs.get()
    lines = text.splitlines()
    assert lines[:3] == [
        "# Push 2026-11-24.1 of release/2026-11-22",
        "",
        "Weekly ship · tag `push/release/2026-11-22/2026-11-24.1` · Done · "
        "finished Tue 24 Nov 2026 11:00 PST",
    ]
    assert [line for line in lines if line.startswith("## ")] == [
        "## Shipped (1)",
        "## Conflicts (1)",
        "## Tests failed (1)",
        "## Left out / rolled to a later push (1)",
        "## Reverted (1)",
    ]
    assert (
        f"- #{fix.pk} `{fix.short_sha}` Fix module 1 · "
        "[review](https://github.com/acme/app/pull/101) · requested by alice · "
        f"risk {risk_of(fix)} — confirmed by bob (backup for alice)"
    ) in lines
    # People's text shows as it is: Markdown's formatting characters are escaped.
    assert (
        f"- #{docs.pk} `{docs.short_sha}` Document \\*module\\_1\\* \\[draft\\] \\<b\\> · "
        "[review](https://phabricator.example.com/D102) · requested by alice · "
        f"risk {risk_of(docs)} — Broke the docs build"
    ) in lines
    assert (
        f"- #{feature.pk} `{feature.short_sha}` Add feature · no review link · requested by bob"
        f" · risk {risk_of(feature)} — Tests failed (test run #{test_run.pk}); taken back off."
    ) in lines
    assert text.endswith("\n")


def test_a_skipped_push_lists_the_picks_it_carried_on(repository, branch, landed, alice, rel):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    push = Push.objects.get(pk=Pick.objects.get(pk=pick.pk).push_id)
    # Before anything ran, the push's picks are on their way.
    assert [g.title for g in release_notes(push=push).groups] == ["Not out yet"]
    FreezeWindow.objects.create(
        repository=repository,
        starts_at=push.scheduled_at - dt.timedelta(hours=1),
        ends_at=push.scheduled_at + dt.timedelta(hours=1),
        reason="Black Friday",
    )
    push = services.push_run(push_id=push.pk)
    assert push.state == PushState.SKIPPED
    [group] = release_notes(push=push).groups
    assert group.outcome == LEFT_OUT
    [line] = group.lines
    assert line.pick.pk == pick.pk
    assert line.note.startswith("Push 2026-11-24.1 was skipped (frozen: Black Friday).")
    # The next push has it now, on its way.
    nxt = release_notes(push=Pick.objects.get(pk=pick.pk).push)
    assert [(g.title, [x.pick.pk for x in g.lines]) for g in nxt.groups] == [
        ("Not out yet", [pick.pk])
    ]


def test_the_api_answers_the_notes_as_markdown(ran, alice):
    push, _ = ran
    response = client_for(alice).get(f"/api/pushes/{push.pk}/notes/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content.decode() == push_notes(push=push)
    # A refusal is the API's error shape, in JSON, as everywhere else.
    missing = client_for(alice).get("/api/pushes/999999/notes/")
    assert missing["Content-Type"] == "application/json"
    assert_error(missing, 404, "not-found")


def test_the_schema_says_the_notes_are_markdown(alice):
    schema = client_for(alice).get("/api/schema/?format=json").json()
    answers = schema["paths"]["/api/pushes/{id}/notes/"]["get"]["responses"]
    assert list(answers["200"]["content"]) == ["text/markdown"]
    assert list(answers["404"]["content"]) == ["application/json"]


def test_the_push_page_shows_the_notes_with_a_link_to_the_markdown(ran, client, alice):
    push, picks = ran
    client.force_login(alice.user)
    page = client.get(f"/pushes/{push.pk}/").content.decode()
    notes = page[page.index('id="release-notes"') :]
    assert f'href="/api/pushes/{push.pk}/notes/" type="text/markdown">Markdown</a>' in notes
    for title in ("Shipped (1)", "Conflicts (1)", "Tests failed (1)", "Reverted (1)"):
        assert title in notes
    assert "Left out / rolled to a later push (1)" in notes
    assert 'href="https://github.com/acme/app/pull/101" rel="noopener noreferrer">review</a>' in (
        notes
    )
    # The title is shown as text, never as markup.
    assert "Document *module_1* [draft] &lt;b&gt;" in notes
    assert "conflicts in src/feature.py" in notes
    assert "style=" not in notes


@pytest.mark.django_db(transaction=True)
def test_the_slack_summary_carries_the_notes(slack, stub, ran):  # noqa: F811
    push, picks = ran
    posted = [
        call
        for call in stub.take()
        if call.method == "chat.postMessage" and call.body["channel"] == "CSHOP"
    ]
    assert len(posted) == 1
    text = posted[0].block_text
    fix, docs, other = picks["fix"], picks["docs"], picks["other"]
    # Posted as the push finished: the docs change was reverted only after.
    assert text.splitlines()[:4] == [
        "*:package: Push 2026-11-24.1 of release/2026-11-22*: 2 picks shipped in "
        "`push/release/2026-11-22/2026-11-24.1`.",
        "*Shipped* (2)",
        f"• #{fix.pk} `{fix.short_sha}` Fix module 1 · "
        f"<https://github.com/acme/app/pull/101|review> · alice · risk {risk_of(fix)}: "
        "confirmed by bob (backup for alice)",
        f"• #{docs.pk} `{docs.short_sha}` Document *module_1* [draft] &lt;b&gt; · "
        f"<https://phabricator.example.com/D102|review> · alice · risk {risk_of(docs)}",
    ]
    for heading in ("*Conflicts* (1)", "*Tests failed* (1)"):
        assert heading in text
    assert (
        f"• #{other.pk} `{other.short_sha}` Other fix · dave · risk {risk_of(other)}: "
        "Not confirmed before the push; now in push 2026-11-25.1"
    ) in text
    assert text.splitlines()[-1] == (
        f"<http://127.0.0.1:8000/pushes/{push.pk}/|Open the push> · "
        f"<http://127.0.0.1:8000/api/pushes/{push.pk}/notes/|Markdown>"
    )


def test_a_long_list_in_slack_stays_within_a_section_and_says_how_many_more(branch, alice):
    from chat import blocks

    push = branch.pushes.order_by("scheduled_at").first()
    risk = Risk(level="low", reasons=(), size=10, churn=0, flagged=False)
    lines = [
        NoteLine(
            pick=Pick(pk=n, sha=f"{n:040x}", title="A title " * 30, requestor=alice), risk=risk
        )
        for n in range(1, 41)
    ]
    notes = ReleaseNotes(
        push=push,
        repository=branch.repository,
        when="",
        groups=[NoteGroup(outcome="shipped", title="Shipped", lines=lines)],
    )
    [section] = blocks.notes_sections(notes)
    text = section["text"]["text"]
    assert len(text) <= blocks.SECTION_LIMIT
    shown = text.count("\n• ")
    assert 0 < shown <= blocks.NOTES_LINES
    assert text.endswith(
        f"…and {40 - shown} more on <http://127.0.0.1:8000/pushes/{push.pk}/|the push>."
    )
