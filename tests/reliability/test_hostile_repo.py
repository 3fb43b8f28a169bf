"""A hostile repository: a 10 MB diff, binary files, a 1 MB commit message, file and branch names
full of shell metacharacters, a remote URL and a test command that try to reach a shell. Each
is picked and pushed, or refused with a clear error; nothing runs that was not meant to."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from pushes import git, services
from pushes.choices import PickState, PushKind, PushState, TestRunState
from pushes.models import Pick, Push, Repository, TestRun
from tests.reliability.invariants import assert_consistent
from tests.repos import git as run_git
from tests.workers import ROOT

NAMES = [
    "$(touch pwned).py", "`touch pwned`.sh", "a;b|c&.txt", "--help", "-rf", "sp ace.txt",
    "ünï cødé 文件.txt", ":(glob)*", "*.py", "\"quoted\".txt", "back\\slash", "new\nline.txt",
    "tab\tname", "'single'", "$HOME", "~", "a>b<c", "!bang", "#hash", "%41.txt",
]  # fmt: skip
BIG_LINES = 200_000  # 10.4 MB of text


def nowhere_pwned(*roots: Path) -> None:
    """No file named pwned* appeared in the test's folders, the project or /tmp."""
    found = [p for root in roots for p in Path(root).rglob("pwned*")]
    found += [p for p in (ROOT, Path("/tmp")) for p in p.glob("pwned*")]
    assert not found, found


@pytest.mark.django_db
def test_a_hostile_history_is_picked_and_pushed_with_true_stats_and_nothing_run(
    train_of, alice, rel, tmp_path
):
    train = train_of(picks=1, tests=False)
    remote = train.remote
    big = remote.commit(
        {"data/big.txt": "".join(f"line {n:07d} of a very large file\n" for n in range(BIG_LINES))},
        "A 10 MB change",
    )
    blob = bytes(range(256)) * 800  # 200 KB with every byte value, NULs included
    binary = remote.commit({"assets/blob.bin": blob, "assets/empty.bin": b"\0"}, "Binary files")
    body = "\n".join(f"Paragraph {n}: " + " ".join(["words"] * 30) for n in range(5500))
    body = body[:1_000_000].strip()  # 1 MB
    long_message = remote.commit({"src/long.py": "LONG = 1\n"}, "A 1 MB message", body=body)
    names = remote.commit({name: f"{name!r}\n" for name in NAMES}, "Files with hostile names")
    services.trunk_sync(repository=train.repository)

    picks = {}
    landed = {"big": big, "binary": binary, "message": long_message, "names": names}
    for label, sha in landed.items():
        result = services.pick_request(requestor=alice, revision=sha, reason=f"Hostile {label}")
        assert result.dry_run.applies
        picks[label] = result.pick
    assert (picks["big"].lines_added, picks["big"].files_changed) == (BIG_LINES, 1)
    assert (picks["binary"].lines_added, picks["binary"].files_changed) == (0, 2)
    assert picks["message"].title == "A 1 MB message"
    assert sorted(picks["names"].paths) == sorted(NAMES)
    assert (picks["names"].lines_added, picks["names"].files_changed) == (len(NAMES), len(NAMES))

    Pick.objects.filter(pk__in=[p.pk for p in picks.values()]).update(push=train.push)
    for pick in picks.values():
        services.pick_approve(pick_id=pick.pk, actor=rel)
        services.pick_confirm(pick_id=pick.pk, actor=alice)
    services.pick_withdraw(pick_id=train.picks[0], actor=rel)
    push = services.push_run(push_id=train.push.pk)
    assert (push.state, push.error) == (PushState.DONE, "")
    assert set(Pick.objects.filter(pk__in=[p.pk for p in picks.values()]).values_list(
        "state", flat=True
    )) == {PickState.SHIPPED}  # fmt: skip
    branch = train.branch.name
    for name in NAMES:  # each file arrived on the remote, byte for byte
        assert run_git(remote.bare, "show", f"{branch}:{name}") == f"{name!r}\n"
    shown = run_git(remote.bare, "cat-file", "-s", f"{branch}:assets/blob.bin")
    assert int(shown) == len(blob)
    picked = Pick.objects.get(pk=picks["message"].pk).result_sha
    message = run_git(remote.bare, "log", "-1", "--format=%B", picked)
    assert body in message
    assert_consistent(train.branch, remote.bare)
    nowhere_pwned(tmp_path, settings.DATA_DIR)


@pytest.mark.django_db
def test_a_pick_conflicting_on_hostile_file_names_names_them_exactly(train_of, alice, rel):
    train = train_of(picks=1, tests=False)
    remote = train.remote
    hostile = ["$(touch pwned).py", "a;b|c&.txt", "--help"]
    # The branch gets the files (a first pick); trunk changes them twice; the second change,
    # picked alone, misses its context on the branch.
    base = remote.commit({n: "one\n" for n in hostile}, "Add the files")
    prerequisite = remote.commit({n: "two\n" for n in hostile}, "Change them")
    wanted = remote.commit({n: "three\n" for n in hostile}, "Change them again")
    services.trunk_sync(repository=train.repository)
    base_pick = services.pick_request(requestor=alice, revision=base, reason="Needed").pick
    Pick.objects.filter(pk=base_pick.pk).update(push=train.push)
    services.pick_approve(pick_id=base_pick.pk, actor=rel)
    services.pick_confirm(pick_id=base_pick.pk, actor=alice)
    services.pick_withdraw(pick_id=train.picks[0], actor=rel)
    assert services.push_run(push_id=train.push.pk).state == PushState.DONE

    result = services.pick_request(requestor=alice, revision=wanted, reason="Needed")
    assert not result.dry_run.applies
    assert sorted(result.dry_run.conflict_files) == sorted(hostile)
    assert result.dry_run.prerequisites[0]["sha"] == prerequisite
    nowhere_pwned(Path(settings.DATA_DIR), remote.bare.parent)


@pytest.mark.django_db
def test_a_trunk_named_with_shell_metacharacters_is_only_a_name(train_of, alice, tmp_path):
    train = train_of(picks=1, tests=False)
    odd = "trunk;touch${IFS}pwned|$(touch${IFS}pwned)&`touch${IFS}pwned`"
    run_git(train.remote.bare, "update-ref", f"refs/heads/{odd}", train.remote.tip)
    late = train.remote.commit({"src/late.py": "LATE = 1\n"}, "Landed on main only")
    repository = Repository.objects.create(
        slug="odd", name="Odd", remote_url=train.remote.url, trunk_branch=odd
    )
    services.trunk_sync(repository=repository)
    indexed = list(repository.revisions.order_by("position").values_list("sha", flat=True))
    assert indexed[-1] == train.remote.trunk[-2] and late not in indexed  # odd's history only
    nowhere_pwned(tmp_path, settings.DATA_DIR)


HOSTILE_URLS = [
    "ext::sh -c touch% {sentinel}",
    "ext::touch {sentinel}",
    "--upload-pack=touch {sentinel}",
    "-u touch {sentinel}",
    "ssh://-oProxyCommand=touch%20{sentinel}/repo.git",
    "fd::17",
    "$(touch {sentinel})",
    "`touch {sentinel}`",
    "/nonexistent;touch {sentinel}",
]


@pytest.mark.django_db
def test_a_remote_url_that_tries_to_run_a_command_is_refused_and_runs_nothing(tmp_path, alice):
    sentinel = tmp_path / "pwned"
    for n, template in enumerate(HOSTILE_URLS):
        url = template.format(sentinel=sentinel)
        repository = Repository.objects.create(slug=f"evil{n}", name=f"Evil {n}", remote_url=url)
        with pytest.raises(git.GitError) as failed:
            services.trunk_sync(repository=repository)
        assert str(failed.value), url  # a message a person can read
        assert not sentinel.exists(), url
    nowhere_pwned(tmp_path, settings.DATA_DIR)


HOSTILE_COMMANDS = {
    "true; touch {sentinel}": (TestRunState.FAILED, 127, "true;: No such file or directory"),
    "$(touch {sentinel})": (TestRunState.FAILED, 127, "$(touch: No such file or directory"),
    "`touch {sentinel}`": (TestRunState.FAILED, 127, "`touch: No such file or directory"),
    "true && touch {sentinel}": (TestRunState.PASSED, 0, ""),  # `true` ignores its arguments
    "true > {sentinel}": (TestRunState.PASSED, 0, ""),
    "true | touch {sentinel}": (TestRunState.PASSED, 0, ""),
    "'unbalanced": (TestRunState.ERROR, None, "Cannot run the test command: No closing quotation"),
}


@pytest.mark.django_db
def test_a_test_command_or_deploy_hook_that_tries_to_reach_a_shell_runs_as_plain_argv(
    train_of, tmp_path
):
    train = train_of(picks=len(HOSTILE_COMMANDS), tests=False)
    sentinel = tmp_path / "pwned"
    hook = f"true; touch {sentinel}"
    for n, (template, expected) in enumerate(HOSTILE_COMMANDS.items()):
        command = template.format(sentinel=sentinel)
        Repository.objects.filter(pk=train.repository.pk).update(
            test_command=command, deploy_hook=hook
        )
        push = Push.objects.create(
            branch=train.branch, day=train.push.day, number=n + 2, state=PushState.CONFIRMING,
            kind=PushKind.DAILY, scheduled_at=timezone.now() - dt.timedelta(minutes=1),
        )  # fmt: skip
        Pick.objects.filter(pk=train.picks[n]).update(push=push)
        push = services.push_run(push_id=push.pk)
        run = TestRun.objects.get(pick_id=train.picks[n])
        assert (run.state, run.exit_code) == expected[:2], (command, run.log)
        assert expected[2] in run.log, (command, run.log)
        assert push.state == PushState.DONE
        assert push.error.startswith("deploy hook exited 127: true;: No such file"), push.error
        assert not sentinel.exists(), command
    nowhere_pwned(tmp_path, settings.DATA_DIR)
