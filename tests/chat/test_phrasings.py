"""The grammar reads people: every command asked the way people ask it, through the one
parser Slack, the web console and `manage.py bot` share (chat.phrasings)."""

from __future__ import annotations

import pytest

from chat import commands, phrasings
from karma.models import KarmaEvent
from pushes import services
from pushes.choices import PickState
from pushes.models import Pick
from pushes.selectors.freezes import repository_freeze_now
from tests.chat.said import ok, refused

SHA = "3f2a9c1"


def reads(text: str) -> tuple[str, str]:
    return phrasings.read(text, commands.COMMANDS)


# --- the table --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "read_as"),
    [
        # status, every way people ask where a revision is
        ("where is abc1234", ("status", "abc1234")),
        ("where is my revision abc1234?", ("status", "abc1234")),
        ("where's abc1234", ("status", "abc1234")),
        ("Where’s `abc1234`?", ("status", "abc1234")),
        ("is abc1234 out?", ("status", "abc1234")),
        ("is abc1234 shipped?", ("status", "abc1234")),
        ("is abc1234 deployed yet?", ("status", "abc1234")),
        ("is abc1234 in prod yet?", ("status", "abc1234")),
        ("has abc1234 shipped?", ("status", "abc1234")),
        ("has my commit abc1234 been deployed to production yet?", ("status", "abc1234")),
        ("when will abc1234 ship?", ("status", "abc1234")),
        ("status of abc1234", ("status", "abc1234")),
        ("what's the status of abc1234?", ("status", "abc1234")),
        ("what about D123", ("status", "D123")),
        ("#70?", ("status", "#70")),
        ("https://github.com/acme/app/pull/101", ("status", "https://github.com/acme/app/pull/101")),
        ("STATUS ABC1234", ("status", "ABC1234")),
        ("status (abc1234).", ("status", "abc1234")),
        ("could you please tell me where abc1234 is? thanks!", ("status", "abc1234")),
        ("hey rb, is abc1234 out?", ("status", "abc1234")),
        ("<@U0BOT> where is abc1234", ("status", "abc1234")),
        ("@releasebot: has abc1234 shipped", ("status", "abc1234")),
        # pick
        ("pick abc1234 because checkout crashes", ("pick", "abc1234 because checkout crashes")),
        (
            "please cherry-pick abc1234 to release/2026-11-22 because checkout crashes",
            ("pick", "abc1234 to release/2026-11-22 because checkout crashes"),
        ),
        ("Cherry pick `abc1234`: it crashes", ("pick", "abc1234 it crashes")),
        ("I need a pick of abc1234, it crashes", ("pick", "abc1234 it crashes")),
        # confirm and decline
        ("I'm here", ("confirm", "")),
        ("here", ("confirm", "")),
        ("yes, I'm here", ("confirm", "")),
        ("Yes I am here for #70!", ("confirm", "#70")),
        ("confirm #70", ("confirm", "#70")),
        ("not this time, on a plane", ("decline", "on a plane")),
        ("sorry, I can't make it: on a plane", ("decline", "on a plane")),
        # withdraw
        ("withdraw #70", ("withdraw", "#70")),
        ("cancel my pick #70", ("withdraw", "#70")),
        ("please cancel my pick #70, fixed by config", ("withdraw", "#70 fixed by config")),
        # release engineering
        ("approve #70", ("approve", "#70")),
        ("approve pick #70", ("approve", "#70")),
        ("reject #70 because it is too large", ("reject", "#70 because it is too large")),
        ("defer #70 to the next push", ("defer", "#70")),
        ("freeze because checkout is down", ("freeze", "because checkout is down")),
        ("stop all pushes because checkout is down", ("freeze", "because checkout is down")),
        ("lift the freeze", ("unfreeze", "")),
        ("take a star off @alice because #12 broke it", ("unlike", "@alice because #12 broke it")),
        ("run the next push now", ("push now", "")),
        # the rest
        ("my picks", ("mine", "")),
        ("who hasn't confirmed?", ("push", "")),
        ("when is the next push?", ("push", "")),
        ("my karma", ("karma", "")),
        ("how many stars does @carol have?", ("karma", "@carol")),
        ("help", ("help", "")),
        ("what can you do?", ("help", "")),
        ("how do I cherry-pick?", ("help", "cherry-pick")),
        # every command's own syntax is read as it was
        ("push now shop early", ("push now", "shop early")),
        ("pick abc1234 to rel/x --backup @bob Fix", ("pick", "abc1234 to rel/x --backup @bob Fix")),
        ("decline On a plane", ("decline", "On a plane")),
        ("rb help", ("help", "")),
        ("/rb mine", ("mine", "")),
    ],
)  # fmt: skip
def test_a_natural_phrasing_reads_as_its_command(said, read_as):
    assert reads(said) == read_as


def test_every_command_has_phrasings_and_each_example_reads_as_its_command():
    assert set(phrasings.BY_NAME) == set(commands.COMMANDS)
    for verb in phrasings.VERBS:
        for phrasing in verb.phrasings:
            assert reads(phrasing.example)[0] == verb.name, phrasing.example
        for example in verb.examples:
            assert reads(example)[0] == verb.name, example


def test_a_line_no_phrasing_reads_keeps_its_first_word_for_the_refusal():
    assert reads("stauts 3f2a9c1") == ("stauts", "3f2a9c1")
    assert reads("   ") == ("", "")


# --- the same answers as the commands' own syntax --------------------------------------------


def test_where_is_my_revision_answers_the_status_story(alice, branch, landed):
    sha = landed["fix"]
    story = ok(f"status {sha[:8]}")
    assert story.splitlines()[0] == f"{sha[:10]} Fix module 1"
    for said in [
        f"where is my revision {sha[:8]}?",
        f"Where's `{sha[:8]}`?",
        f"is {sha[:8]} out?",
        f"is {sha[:8].upper()} in prod yet?",
        f"has {sha[:8]} shipped?",
        f"hey rb, status of {sha[:8]} please",
    ]:
        assert ok(said, alice) == story, said


def test_a_pick_number_alone_asks_about_that_picks_revision(alice, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    story = ok(f"#{pick.pk}?", alice)
    assert story.splitlines()[0] == f"{landed['fix'][:10]} Fix module 1"
    assert f"Pick #{pick.pk} to release/2026-11-22 by alice: requested" in story


def test_please_cherry_pick_because_requests_the_pick_with_the_reason_alone(alice, branch, landed):
    text = ok(
        f"Please cherry-pick `{landed['fix'][:8]}` to release/2026-11-22 because checkout "
        "crashes on empty carts. Thanks!",
        alice,
    )
    pick = Pick.objects.get()
    assert text.startswith(f"Pick #{pick.pk} of {pick.short_sha}")
    assert (pick.branch.name, pick.reason) == (
        "release/2026-11-22",
        "checkout crashes on empty carts.",
    )


def test_a_reason_keeps_its_own_backticks_and_words(alice, branch, landed):
    ok(f"pick {landed['fix'][:8]} because `cart.total()` is None for empty carts", alice)
    assert Pick.objects.get().reason == "`cart.total()` is None for empty carts"


def test_because_of_stays_in_the_reason(alice, branch, landed):
    ok(f"pick {landed['fix'][:8]} because of the outage", alice)
    assert Pick.objects.get().reason == "because of the outage"


def test_im_here_confirms_my_waiting_pick(alice, rel, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    services.push_confirmations_open(push_id=pick.push_id)
    assert ok("yes, I'm here!", alice).startswith(f"✅ You are down for pick #{pick.pk} in push")
    pick.refresh_from_db()
    assert pick.state == PickState.CONFIRMED


def test_not_this_time_declines_with_the_reason(alice, rel, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    services.pick_approve(pick_id=pick.pk, actor=rel)
    services.push_confirmations_open(push_id=pick.push_id)
    assert ok("Not this time, I'm on a plane", alice).startswith("↪ Not this time")
    pick.refresh_from_db()
    assert pick.state == PickState.DEFERRED
    assert pick.events.last().reason == "I'm on a plane"


def test_cancel_my_pick_withdraws_it_and_only_mine(alice, bob, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    assert refused(f"cancel my pick #{pick.pk}", bob) == (
        f"Only alice can withdraw pick #{pick.pk}."
    )
    assert ok(f"please cancel my pick #{pick.pk}, fixed by a config change", alice) == (
        f"Pick #{pick.pk} ({pick.short_sha} Fix module 1) is withdrawn."
    )
    pick.refresh_from_db()
    assert pick.state == PickState.WITHDRAWN
    assert pick.events.last().reason == "fixed by a config change"


def test_reject_because_stores_the_reason_without_because(alice, rel, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    assert refused(f"reject #{pick.pk} because it is too large", alice).startswith("Only release")
    assert Pick.objects.get(pk=pick.pk).state == PickState.REQUESTED
    ok(f"Reject pick #{pick.pk} because it is too large for a pick", rel)
    pick.refresh_from_db()
    assert pick.state == PickState.REJECTED
    assert pick.events.last().reason == "it is too large for a pick"


def test_approve_pick_by_number(alice, rel, branch, landed):
    pick = services.pick_request(requestor=alice, revision=landed["fix"], reason="Crash").pick
    assert ok(f"@releasebot approve pick #{pick.pk} please", rel).startswith(
        f"Pick #{pick.pk} ({pick.short_sha} Fix module 1) was approved for push"
    )


def test_freeze_because_freezes_with_the_reason(rel, repository, branch):
    ok("freeze because checkout is down", rel)
    assert repository_freeze_now(repository=repository).reason == "checkout is down"
    ok("lift the freeze", rel)
    assert repository_freeze_now(repository=repository) is None


def test_take_a_star_off_unlikes_with_the_reason(rel, alice):
    ok("take a star off @alice because pick #12 broke search", rel)
    assert KarmaEvent.objects.get(user=alice.user).reason == "pick #12 broke search"


# --- help and what is not understood ----------------------------------------------------------


def test_help_shows_a_natural_way_to_say_each_command(alice):
    text = ok("what can you do?", alice)
    assert text.startswith("I answer these:\n")
    assert (
        "• status REV: where a revision is: trunk, branch, pick, push, shipped (or "
        "`where is my revision 3f2a9c1?`)" in text
    )
    assert "(or `cancel my pick #12`)" in text and "(or `yes, I'm here`)" in text


def test_help_for_one_command_lists_its_phrasings_from_the_table(db):
    text = ok("how do I cherry-pick?")
    assert text.startswith("pick REV [to BRANCH] [--backup @USER] [urgent] REASON: ")
    for example in phrasings.BY_NAME["pick"].said_as():
        assert f"`{example}`" in text


def test_an_unknown_line_with_a_revision_suggests_asking_where_it_is(alice, branch, landed):
    text = refused(f"gimme the lowdown on {landed['fix'][:8]}", alice)
    assert text.startswith(
        f"I don't know `gimme`. Did you mean `status`? For example: "
        f"`where is {landed['fix'][:8]}?`."
    )
    assert not Pick.objects.exists()


def test_an_unknown_sentence_says_what_the_bot_knows_with_an_example(alice):
    text = refused("what is the weather like", alice)
    assert text.startswith("I didn't understand that. I know `status`, `pick`,")
    assert text.endswith("e.g. `where is my revision 3f2a9c1?`")


def test_a_mistyped_synonym_suggests_its_command(alice):
    assert refused("cancle #12", alice).startswith(
        "I don't know `cancle`. Did you mean `withdraw`? For example: `withdraw #12`."
    )
