"""The grammar, directly: every command, and every way to get one wrong."""

from __future__ import annotations

import logging

import pytest

from chat import commands
from chat.commands import NOT_LINKED, SORRY, answer
from pushes import selectors, services
from pushes.choices import PickState
from pushes.models import Pick, Revision
from tests.chat.said import ok, refused
from tests.pushes.conftest import MONDAY

USAGE = {name: command.usage for name, command in commands.COMMANDS.items()}


@pytest.fixture
def requested(alice, branch, landed):
    """Alice's pick of the fix, as requested."""
    return services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash fix").pick


@pytest.fixture
def awaiting(requested, rel):
    """Alice's pick, approved and asked for confirmation for Tuesday's push."""
    services.pick_approve(pick_id=requested.pk, actor=rel)
    services.push_confirmations_open(push_id=requested.push_id)
    requested.refresh_from_db()
    assert requested.state == PickState.AWAITING_CONFIRMATION
    return requested


# --- help and unknown commands ----------------------------------------------------------


def test_help_lists_every_command_with_its_usage_to_a_release_engineer(rel):
    text = ok("help", rel)
    assert text.startswith("I answer these:\n")
    for usage in USAGE.values():
        assert f"• {usage}: " in text
    assert "pick REV [to BRANCH] [--backup @USER] [urgent] REASON" in text


def test_help_for_one_command_gives_its_usage_and_an_example(db):
    assert ok("help pick").startswith(
        "pick REV [to BRANCH] [--backup @USER] [urgent] REASON: ask for a trunk revision on the "
        "current release branch\ne.g. `pick 3f2a9c1 Fixes the checkout crash`"
    )


def test_an_empty_line_answers_with_help(db):
    assert ok("   ").startswith("I answer these:")


def test_an_unknown_command_suggests_the_closest_one_with_its_usage(db):
    assert refused("stauts 3f2a9c1") == (
        "I don't know `stauts`. Did you mean `status`? For example: `status 3f2a9c1`.\n"
        "Usage: status REV"
    )
    assert refused("help pik") == (
        "I don't know `pik`. Did you mean `pick`? For example: "
        "`pick 3f2a9c1 Fixes the checkout crash`.\n"
        "Usage: pick REV [to BRANCH] [--backup @USER] [urgent] REASON"
    )


def test_an_unknown_command_without_a_close_one_lists_them_all(db):
    assert refused("xyzzy") == (
        "I don't know `xyzzy`. I know `status`, `pick`, `withdraw`, `confirm`, `decline`, "
        "`mine`, `push`, `karma`, `help`. Try `help`, or ask as you would ask a person, e.g. "
        "`where is my revision 3f2a9c1?`"
    )


def test_rb_typed_out_of_habit_is_skipped(db):
    assert ok("rb help") == ok("/rb help") == ok("help")


def test_an_unexpected_failure_answers_a_short_apology_and_is_logged(
    db, monkeypatch, caplog, alice
):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(selectors, "revision_status", broken)
    with caplog.at_level(logging.ERROR, logger="chat.commands"):
        assert refused("status 3f2a9c1", alice) == SORRY
    assert "database on fire" in caplog.text  # the traceback is in the log, not the reply


def test_commands_that_need_an_engineer_say_so_to_someone_not_linked(db, branch, landed):
    for text in [f"pick {landed['fix']} r", "withdraw 1", "confirm", "decline", "mine"]:
        assert refused(text) == NOT_LINKED
    assert refused("karma") == NOT_LINKED


# --- status -----------------------------------------------------------------------------


def test_status_tells_a_picked_revisions_story_by_full_or_short_sha(requested, landed, remote):
    story = ok(f"status {landed['fix']}")
    assert story == ok(f"status {landed['fix'][:7].upper()}")
    lines = story.splitlines()
    assert lines[0] == f"{landed['fix'][:10]} Fix module 1"
    assert lines[1].startswith("by Alice Liddell, on main of Shop since ")
    assert lines[2] == (
        f"Pick #{requested.pk} to release/2026-11-22 by alice: requested in push 2026-11-24.1."
    )


def test_status_takes_a_review_url_or_number_and_works_for_anyone(branch, remote):
    by_url = ok("status https://github.com/acme/app/pull/101")
    assert by_url.splitlines()[0] == f"{remote.trunk[0][:10]} Add module 1"
    assert "In release/2026-11-22 by the cut; not shipped yet" in by_url
    assert ok("status D102").splitlines()[0] == f"{remote.trunk[1][:10]} Add module 2"


def test_status_blocks_link_to_the_revisions_page(branch, remote):
    reply = answer(f"status {remote.trunk[0]}", engineer=None)
    assert reply.blocks[0]["text"]["text"].startswith(f"*`{remote.trunk[0][:10]}` Add module 1*")
    assert reply.blocks[-1]["elements"][0]["text"] == (
        f"<http://127.0.0.1:8000/r/{remote.trunk[0]}/|Open the revision's page>"
    )


def test_status_of_an_ambiguous_short_sha_lists_the_candidates(repository, branch):
    for n, sha in enumerate(["abcdef1" + "0" * 33, "abcdef1" + "1" * 33], start=100):
        Revision.objects.create(
            repository=repository, sha=sha, position=n, author_name="A", author_email="a@x",
            committed_at=MONDAY, title=f"Candidate {n}",
        )  # fmt: skip
    assert refused("status abcdef1") == (
        "abcdef1 matches 2 commits (abcdef1111 Candidate 101; abcdef1000 Candidate 100). "
        "Give more digits."
    )


def test_status_of_an_unknown_or_malformed_revision_is_the_domains_answer(branch):
    assert refused("status deadbeef12") == "No trunk commit matches deadbeef12."
    assert refused("status fix-the-bug").startswith("'fix-the-bug' is not a revision")


def test_status_without_a_revision_answers_with_its_usage(db):
    assert refused("status") == (
        "Which revision? Give a SHA, a review URL or a review number.\nUsage: status REV"
    )


# --- pick -------------------------------------------------------------------------------


def test_a_pick_is_requested_and_the_reply_says_where_and_what_next(alice, branch, landed):
    text = ok(f"pick {landed['fix'][:8]} Checkout crashes on empty carts", alice)
    pick = Pick.objects.get()
    assert (pick.requestor, pick.reason) == (alice, "Checkout crashes on empty carts")
    assert text == (
        f"Pick #{pick.pk} of {pick.short_sha} (Fix module 1) on release/2026-11-22 for push "
        "2026-11-24.1 (Tue 24 Nov 11:00 PST): requested.\n"
        "• Size: +1 −1 in 1 file.\n"
        "• It applies cleanly on the branch now.\n"
        "Release engineering reviews it; I will ask you to confirm before its push."
    )


def test_a_pick_takes_a_branch_and_a_backup(alice, bob, branch, landed):
    text = ok(f"pick {landed['fix']} to release/2026-11-22 --backup @bob Crash fix", alice)
    pick = Pick.objects.get()
    assert (pick.branch, pick.backup, pick.reason) == (branch, bob, "Crash fix")
    assert "• Backup: bob may confirm in your place." in text


def test_to_followed_by_words_that_name_no_branch_is_part_of_the_reason(alice, branch, landed):
    ok(f"pick {landed['fix']} to fix the crash on checkout", alice)
    assert Pick.objects.get().reason == "to fix the crash on checkout"


def test_a_pick_without_a_revision_or_a_reason_answers_with_its_usage(alice, branch, landed):
    usage = "Usage: pick REV [to BRANCH] [--backup @USER] [urgent] REASON"
    assert refused("pick", alice) == (f"Which revision? Give a trunk SHA (7+ hex digits).\n{usage}")
    assert refused(f"pick {landed['fix']}", alice) == (
        f"Say why this pick cannot wait for the next train.\n{usage}"
    )
    assert not Pick.objects.exists()


def test_a_refused_pick_answers_with_the_domains_words(carol, alice, branch, landed):
    assert refused(f"pick {landed['fix']} Crash", carol) == (
        "Your push karma is 2 of 5 stars; picks are refused at 2 or fewer. Talk to release "
        "engineering to get back on track: rel (release engineer)."
    )
    assert refused(f"pick {landed['fix']} to release/1999-01-01 Crash", alice) == (
        "Shop has no release branch 'release/1999-01-01'."
    )
    assert refused(f"pick {landed['fix']} --backup @zed Crash", alice) == (
        "I don't know @zed: no engineer has that name or chat account."
    )
    assert not Pick.objects.exists()


def test_a_pick_that_would_conflict_warns_with_the_files(alice, branch, landed):
    text = ok(f"pick {landed['second']} Kill switch", alice)
    assert "• ⚠ It does not apply cleanly now: conflicts in src/feature.py." in text
    assert "Add feature" in text  # the likely prerequisite


def test_asking_again_answers_with_the_same_pick(requested, alice, bob, landed):
    assert ok(f"pick {landed['fix']} Crash fix", alice).startswith(
        f"You asked for this already: Pick #{requested.pk} of {requested.short_sha}"
    )
    assert refused(f"pick {landed['fix']} Me too", bob) == (
        f"{requested.short_sha} is already requested for release/2026-11-22 as pick "
        f"#{requested.pk} (requested, by alice)."
    )
    assert Pick.objects.count() == 1


# --- withdraw ---------------------------------------------------------------------------


def test_withdraw_by_number_or_by_revision(requested, alice, bob, branch, landed):
    assert ok(f"withdraw #{requested.pk}", alice) == (
        f"Pick #{requested.pk} ({requested.short_sha} Fix module 1) is withdrawn."
    )
    again = services.pick_request(requestor=alice, revision=landed["fix"], reason="Again").pick
    ok(f"withdraw {landed['fix'][:8]} Fixed by config", alice)
    again.refresh_from_db()
    assert again.state == PickState.WITHDRAWN
    assert again.events.last().reason == "Fixed by config"


def test_withdraw_refusals(requested, alice, bob):
    usage = "Usage: withdraw PICK|REV [REASON]"
    assert (
        refused(f"withdraw {requested.pk}", bob) == f"Only alice can withdraw pick #{requested.pk}."
    )
    assert (
        refused("withdraw", alice) == f"Which pick? Give its number (#12) or its revision.\n{usage}"
    )
    assert refused("withdraw yesterday", alice) == (
        f"`yesterday` is neither a pick (#12) nor a revision (7+ hex digits).\n{usage}"
    )
    assert refused("withdraw #999", alice) == "There is no pick #999."
    assert refused(f"withdraw {requested.sha[:8]}", bob) == (
        f"No pick of {requested.sha[:8]} is yours to withdraw."
    )
    ok(f"withdraw {requested.pk}", alice)
    assert refused(f"withdraw {requested.pk}", alice) == (
        f"Pick #{requested.pk} is withdrawn: it cannot be withdrawn now."
    )


# --- confirm and decline ----------------------------------------------------------------


def test_confirm_without_a_number_confirms_my_one_waiting_pick(awaiting, alice):
    assert ok("confirm", alice) == (
        f"✅ You are down for pick #{awaiting.pk} in push 2026-11-24.1 at Tue 24 Nov 11:00 PST.\n"
        "Be online then: I will tell you how it went."
    )
    awaiting.refresh_from_db()
    assert awaiting.state == PickState.CONFIRMED


def test_a_backup_confirms_for_the_requestor(alice, bob, rel, branch, landed):
    pick = services.pick_request(
        requestor=alice, revision=landed["fix"], reason="Crash", backup=bob
    ).pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    assert ok(f"confirm #{pick.pk}", bob).startswith(
        f"✅ You are down for pick #{pick.pk} (for alice) in push 2026-11-24.1"
    )


def test_confirm_refusals(requested, alice, bob, rel, landed):
    assert refused("confirm", alice) == "No pick waits for your confirmation."
    assert refused(f"confirm {requested.pk}", alice) == (
        f"Pick #{requested.pk} is requested: it cannot be confirmed now."
    )
    services.pick_approve(pick_id=requested.pk, actor=rel)
    assert (
        refused(f"confirm {requested.pk}", bob) == f"Only alice can confirm pick #{requested.pk}."
    )
    second = services.pick_request(requestor=alice, revision=landed["feature"], reason="Flag").pick
    services.pick_approve(pick_id=second.pk, actor=rel)
    assert refused("confirm", alice) == (
        f"Which one? You have 2: #{requested.pk} {requested.short_sha} Fix module 1 (approved, "
        f"push 2026-11-24.1); #{second.pk} {second.short_sha} Add feature (approved, push "
        f"2026-11-24.1). Say `confirm {requested.pk}`."
    )


def test_decline_rolls_my_pick_to_the_next_push(awaiting, alice):
    assert ok("decline On a plane", alice) == (
        f"↪ Not this time: pick #{awaiting.pk} rolls to push 2026-11-25.1 at Wed 25 Nov 11:00 PST."
    )
    awaiting.refresh_from_db()
    assert (awaiting.state, awaiting.push.label) == (PickState.DEFERRED, "2026-11-25.1")
    assert awaiting.events.last().reason == "On a plane"


def test_decline_refusals(requested, alice, bob):
    assert refused("decline", alice) == "No pick is yours to decline."
    assert (
        refused(f"decline #{requested.pk}", bob) == f"Only alice can decline pick #{requested.pk}."
    )
    assert refused(f"decline #{requested.pk}", alice) == (
        f"Pick #{requested.pk} is requested: there is nothing to decline."
    )


# --- mine, push, karma ------------------------------------------------------------------


def test_mine_lists_my_open_picks_with_what_is_expected_of_me(awaiting, alice, bob, landed):
    backed = services.pick_request(
        requestor=bob, revision=landed["feature"], reason="Flag", backup=alice
    ).pick
    assert ok("mine", alice) == (
        "Your open picks (2):\n"
        f"• #{awaiting.pk} {awaiting.short_sha} Fix module 1: confirm you are online for push "
        f"2026-11-24.1 at Tue 24 Nov 11:00 PST: `confirm {awaiting.pk}`, or it rolls to the "
        "next push\n"
        f"• #{backed.pk} {backed.short_sha} Add feature: requested, waiting for release "
        "engineering to approve it (backup for bob)"
    )
    assert ok("mine", bob).startswith("Your open picks (1):")


def test_mine_with_nothing_open(alice, branch):
    assert ok("mine", alice) == (
        "You have no open picks.\nAsk for one with `pick REV REASON`, or see `help`."
    )


def test_push_shows_the_next_push_its_picks_and_who_has_not_confirmed(
    awaiting, alice, bob, rel, landed
):
    other = services.pick_request(requestor=bob, revision=landed["feature"], reason="Flag").pick
    services.pick_approve(pick_id=other.pk, actor=rel)  # inside the window: asked at once
    services.pick_confirm(pick_id=awaiting.pk, actor=alice)
    assert ok("push") == (
        "Shop: push 2026-11-24.1 of release/2026-11-22 at Tue 24 Nov 11:00 PST (weekly ship, "
        "confirming).\n"
        f"• #{awaiting.pk} {awaiting.short_sha} Fix module 1 (alice): confirmed, push "
        "2026-11-24.1\n"
        f"• #{other.pk} {other.short_sha} Add feature (bob): awaiting confirmation, push "
        "2026-11-24.1\n"
        f"• Not confirmed yet: bob (#{other.pk})."
    )


def test_push_with_no_approved_picks_and_no_repository(db, requested):
    assert ok("push").endswith("• No approved picks in it yet.")
    requested.branch.repository.delete()
    assert ok("push") == "No repository is on the train yet."


def test_karma_shows_stars_and_who_changed_them_why(carol, alice):
    assert ok("karma", alice) == (
        "alice has ★★★★★ (5 of 5 stars).\nNo changes yet: everyone starts with five stars."
    )
    text = ok("karma @carol", alice)
    assert text.startswith(
        "carol has ★★☆☆☆ (2 of 5 stars). Picks are refused at this level. Talk to release "
        "engineering: rel (release engineer).\n"
    )
    assert " by rel: Reverted on push 3" in text.splitlines()[1]
    assert ok("karma <@UCAROL>", alice) == text == ok("karma <@UCAROL|carol>")
    assert refused("karma @nobody", alice) == (
        "I don't know @nobody: no engineer has that name or chat account."
    )
