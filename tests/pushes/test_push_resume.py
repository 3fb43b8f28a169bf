"""A push resumed after a crash asks the branch once which of its picks it carries already
(`push_merge.merge_resumed`, `git.branch_carries`) and applies every pick exactly once: one the
crash left on the branch unrecorded, one whose pick changed its patch (found only by its `-x`
trailer), one a person applied by hand without `-x` (found only by patch-id), one recorded
whose commit the branch never got."""

from __future__ import annotations

import subprocess
from pathlib import Path

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pushes import git, services
from pushes.choices import PickState, PushState
from pushes.models import Pick, Push
from pushes.services.pick_records import pick_record_picked
from tests.repos import RemoteRepo
from tests.repos import git as run_git

CONTEXT = "".join(f"line {n}\n" for n in range(1, 10))


def _lines(**changed: str) -> str:
    return "".join(f"{changed.get(f'l{n}', f'line {n}')}\n" for n in range(1, 10))


def _confirmed(branch, alice, shas: list[str]) -> tuple[Push, list[Pick]]:
    push = branch.pushes.filter(kind="daily").order_by("scheduled_at").first()
    picks = []
    for sha in shas:
        pick = services.pick_request(requestor=alice, revision=sha, reason="Needed").pick
        Pick.objects.filter(pk=pick.pk).update(state=PickState.CONFIRMED, push=push)
        picks.append(Pick.objects.get(pk=pick.pk))
    return push, picks


def _local_in_line_with_origin(repository, branch) -> tuple[Path, str]:
    """The managed clone fetched, its branch where origin's is (what a run does first)."""
    path = services.clone_path(repository)
    git.sync(path, repository.remote_url)
    local, remote = git.branch_tip(path, branch.name), git.remote_tip(path, branch.name)
    assert remote is not None
    if local != remote:
        git.branch_advance(path, branch.name, remote, local)
    return path, remote


def _crash(push: Push, path: Path, head: str, landed: list[Pick], *, recorded: set[int],
           unmoved: Pick | None = None) -> str:  # fmt: skip
    """What a run killed part-way leaves: `landed` picked onto the branch (those in
    `recorded` recorded as picked), and `unmoved` recorded with a commit the branch never got.
    Returns the branch's head."""
    with git.worktree(path, head) as tree:
        for pick in landed:
            made = tree.cherry_pick(pick.sha)
            assert made.sha, made
            if pick.pk in recorded:
                assert pick_record_picked(pick, made.sha)
            git.branch_advance(path, push.branch.name, made.sha, head)
            head = made.sha
        if unmoved is not None:
            made = tree.cherry_pick(unmoved.sha)
            assert made.sha and pick_record_picked(unmoved, made.sha)
    Push.objects.filter(pk=push.pk).update(state=PushState.MERGING, started_at=timezone.now())
    return head


def _patch_id(repo: Path, sha: str) -> str:
    shown = run_git(repo, "show", sha)
    done = subprocess.run(
        ["git", "patch-id", "--stable"], input=shown, capture_output=True, text=True, check=True
    )
    return done.stdout.split()[0] if done.stdout else ""


def _trailers(remote: RemoteRepo, branch) -> list[str]:
    log = run_git(
        remote.bare, "log", "--reverse", "--format=%B", f"{branch.base_sha}..{branch.name}"
    )
    prefix = "(cherry picked from commit "
    lines = [line for line in log.splitlines() if line.startswith(prefix)]
    return [line.removeprefix(prefix).rstrip(")") for line in lines]


def _changes(remote: RemoteRepo, branch, name: str) -> int:
    """How many commits on origin's branch since the cut change file `name`."""
    span = f"{branch.base_sha}..{branch.name}"
    return len(run_git(remote.bare, "log", "--format=%H", span, "--", name).split())


def test_a_resumed_push_applies_each_pick_once_found_by_trailer_patch_id_or_record(
    repository, remote, branch, alice, tmp_path
):
    remote.commit({"src/ctx.py": CONTEXT}, "Add the context file")  # after the cut: trunk's
    # By hand on the branch: the same file with another second line, so that a pick of a
    # change to its fifth line carries other context, and another patch-id, than on trunk.
    work = tmp_path / "work"
    remote.hand_commit(branch.name, work, "src/ctx.py", _lines(l2="line two"), "Hotfix ctx")
    names = ["landed", "reshaped", "recorded", "by hand"] + [f"later {n}" for n in range(4)]
    shas = {}
    for name in names:
        if name == "reshaped":
            shas[name] = remote.commit({"src/ctx.py": _lines(l5="line five")}, "Change line 5")
        else:
            slug = name.replace(" ", "_")
            shas[name] = remote.commit({f"src/{slug}.py": f"NAME = {name!r}\n"}, f"Add {slug}")
    services.trunk_sync(repository=repository)
    push, picks = _confirmed(branch, alice, [shas[name] for name in names])
    # A person applies one pick by hand, without -x: only its patch-id tells.
    remote.hand_pick(branch.name, work, shas["by hand"], x=False)
    by_name = dict(zip(names, picks, strict=True))

    path, head = _local_in_line_with_origin(repository, branch)
    landed, reshaped, recorded = by_name["landed"], by_name["reshaped"], by_name["recorded"]
    head = _crash(push, path, head, [landed, reshaped], recorded={landed.pk}, unmoved=recorded)
    # The scenario is what it says: the reshaped pick's patch-id is not its revision's, and
    # the pick made by hand has no trailer.
    carrier = git.branch_picks(path, branch.base_sha, head)[reshaped.sha]
    assert _patch_id(path, carrier) != _patch_id(path, reshaped.sha)
    assert shas["by hand"] not in git.branch_picks(path, branch.base_sha, head)

    done = services.push_run(push_id=push.pk)

    assert done.state == PushState.DONE, done.error
    assert set(Pick.objects.filter(push=push).values_list("state", flat=True)) == {"shipped"}
    trailers = _trailers(remote, branch)
    expected = [shas[name] for name in names if name != "by hand"]
    assert sorted(trailers) == sorted(expected)  # each once; the hand pick has none
    for name in names:
        file = "src/ctx.py" if name == "reshaped" else f"src/{name.replace(' ', '_')}.py"
        assert _changes(remote, branch, file) == (2 if name == "reshaped" else 1), name
    events = {
        name: list(Pick.objects.get(pk=pick.pk).events.filter(to_state="picked")
                   .values_list("reason", flat=True))
        for name, pick in by_name.items()
    }  # fmt: skip
    assert events["reshaped"] == [f"Found on the branch as {carrier[:10]} (trailer)."]
    hand = run_git(
        remote.bare, "log", "--format=%H", "-1", f"{branch.name}", "--", "src/by_hand.py"
    )
    assert events["by hand"] == [f"Found on the branch as {hand.strip()[:10]} (patch-id)."]
    assert len(events["recorded"]) == 2  # recorded by the crashed run, applied by this one
    assert any("(the run before stopped)" in reason for reason in events["recorded"])
    assert len(events["landed"]) == 1  # recorded by the crashed run only
    on_branch = set(run_git(remote.bare, "rev-list", f"{branch.base_sha}..{branch.name}").split())
    assert {p.result_sha for p in Pick.objects.filter(push=push)} <= on_branch


def test_the_one_pass_finds_what_the_search_of_each_pick_finds(
    repository, remote, branch, alice, tmp_path
):
    """`git.branch_carries` answers as `git.find_in_branch` does, commit by commit: how, and
    which commit on the branch carries it."""
    work = tmp_path / "work"
    remote.commit({"src/ctx.py": CONTEXT}, "Add the context file")
    remote.hand_commit(branch.name, work, "src/ctx.py", _lines(l2="line two"), "Hotfix ctx")
    shas = [
        remote.commit({"src/ctx.py": _lines(l5="line five")}, "Change line 5"),
        remote.commit({"src/a.py": "A = 1\n"}, "Add a"),
        remote.commit({"src/b.py": "B = 1\n"}, "Add b"),
        remote.commit({"src/empty.py": "E = 1\n"}, "Add e"),
        remote.commit({"src/empty.py": None}, "Remove e"),
        remote.commit({"src/c.py": "C = 1\n"}, "Add c"),
    ]
    remote.hand_pick(branch.name, work, shas[0])  # -x, context changed
    remote.hand_pick(branch.name, work, shas[1], x=False)  # patch-id only
    remote.hand_pick(branch.name, work, shas[2])  # -x, same patch
    path, head = _local_in_line_with_origin(repository, branch)
    asked = [*remote.trunk[-7:], *shas]

    found = git.branch_carries(path, branch.base_sha, head, list(dict.fromkeys(asked)))

    for sha in dict.fromkeys(asked):
        assert found.get(sha) == git.find_in_branch(path, sha, branch.name, branch.base_sha), sha
    assert {found[s].how for s in shas[:3]} == {"trailer", "patch-id"}
    assert shas[5] not in found


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=st.lists(st.sampled_from(["none", "landed", "recorded", "unmoved"]), min_size=3,
                  max_size=6),
)  # fmt: skip
def test_wherever_a_run_stopped_the_resumed_push_applies_each_pick_once(tmp_path_factory, db, plan):
    """A crash after the first k picks, each of them landed (recorded or not), the next
    recorded without its commit on the branch: the resumed push ships each pick once."""
    landed_until = next((n for n, how in enumerate(plan) if how in ("none", "unmoved")), len(plan))
    plan = plan[:landed_until] + plan[landed_until:landed_until + 1] + ["none"] * (
        len(plan) - landed_until - 1
    )  # fmt: skip
    plan = ["none" if how == "unmoved" and n != landed_until else how for n, how in enumerate(plan)]
    _resume_case(tmp_path_factory.mktemp("case"), plan)


def _resume_case(root: Path, plan: list[str]) -> None:
    import datetime as dt

    from pushes.models import Repository
    from tests.conftest import make_engineer
    from tests.pushes.conftest import SUNDAY_CUT

    alice = make_engineer(f"alice{root.name}")
    remote = RemoteRepo(root / "remote", commits=3)
    repository = Repository.objects.create(
        slug=f"r{root.name}".replace("_", "-")[:40], name=root.name, remote_url=remote.url,
        time_zone="America/Los_Angeles",
    )  # fmt: skip
    branch = services.branch_cut(repository=repository, at=SUNDAY_CUT)
    branch.pushes.all().delete()
    shas = [remote.commit({f"src/p{n}.py": f"P = {n}\n"}, f"Pick {n}") for n in range(len(plan))]
    services.trunk_sync(repository=repository)
    push = Push.objects.create(
        branch=branch, day=timezone.localdate(), number=9, state=PushState.CONFIRMING,
        scheduled_at=timezone.now() - dt.timedelta(minutes=1),
    )  # fmt: skip
    picks = []
    for position, sha in enumerate(shas, start=4):
        picks.append(Pick.objects.create(
            branch=branch, push=push, sha=sha, trunk_position=position, title=sha[:7],
            author_name="A", author_email="a@example.com", requestor=alice, reason="r",
            state=PickState.CONFIRMED,
        ))  # fmt: skip
    path, head = _local_in_line_with_origin(repository, branch)
    landed = [p for p, how in zip(picks, plan, strict=True) if how in ("landed", "recorded")]
    unmoved = next((p for p, how in zip(picks, plan, strict=True) if how == "unmoved"), None)
    recorded = {p.pk for p, how in zip(picks, plan, strict=True) if how == "recorded"}
    _crash(push, path, head, landed, recorded=recorded, unmoved=unmoved)

    done = services.push_run(push_id=push.pk)

    assert done.state == PushState.DONE, (plan, done.error)
    assert sorted(_trailers(remote, branch)) == sorted(shas), plan
    assert set(Pick.objects.filter(push=push).values_list("state", flat=True)) == {"shipped"}
