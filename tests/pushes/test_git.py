"""pushes.git on real repositories in temp folders: a bare remote, a managed bare clone."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pushes.git import (
    BranchMoved,
    Containment,
    GitError,
    InvalidName,
    PickResult,
    branch_advance,
    branch_create,
    branch_head,
    branch_move,
    commit_info,
    commits_touching,
    diff_stat,
    dry_run_pick,
    find_in_branch,
    is_ancestor,
    push,
    remote_branch_head,
    rev_parse,
    sync,
    tag_create,
    trunk_commits,
    trunk_ref,
    worktree,
)
from tests.repos import EPOCH, PEOPLE, RemoteRepo, branch_log, git, read_file, repo_state

BRANCH = "release/2026-11-22"
SETTINGS = "config/settings.py"


@pytest.fixture(autouse=True)
def _hermetic_git(monkeypatch):
    """pushes.git runs git with no global or system config, as on a fresh server."""
    for key in [key for key in os.environ if key.startswith("GIT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> RemoteRepo:
    return RemoteRepo(tmp_path_factory.mktemp("template"), commits=3)


@pytest.fixture
def remote(template, tmp_path) -> RemoteRepo:
    """A remote with three trunk commits, one per engineer."""
    return template.copy(tmp_path / "origin")


@pytest.fixture
def clone(tmp_path, remote) -> Path:
    path = tmp_path / "clones" / "app.git"
    sync(path, remote.url)
    return path


@pytest.fixture
def scratch(tmp_path) -> Path:
    path = tmp_path / "scratch"
    path.mkdir()
    return path


def pick_onto_branch(clone: Path, sha: str, scratch: Path) -> str:
    """Pick ``sha`` onto BRANCH the way a push does; return the branch's new head."""
    old = branch_head(clone, BRANCH)
    assert old is not None
    with worktree(clone, old, scratch) as tree:
        result = tree.cherry_pick(sha)
        assert result.applied and result.sha is not None
    branch_advance(clone, BRANCH, result.sha, old)
    return result.sha


def pick_without_trailer(clone: Path, sha: str, scratch: Path) -> str:
    """Pick ``sha`` onto BRANCH with a plain ``git cherry-pick`` (no -x), as a human might."""
    old = branch_head(clone, BRANCH)
    assert old is not None
    with worktree(clone, old, scratch) as tree:
        git(tree.path, "cherry-pick", sha)
        new = tree.head()
    branch_advance(clone, BRANCH, new, old)
    return new


def conflicting_history(remote: RemoteRepo, clone: Path) -> tuple[str, str, str]:
    """Cut BRANCH, then trunk changes one line twice: the second change needs the first."""
    cut = remote.commit({SETTINGS: "DEBUG = False\nTIMEOUT = 10\n"}, "Add settings")
    prerequisite = remote.commit({SETTINGS: "DEBUG = False\nTIMEOUT = 20\n"}, "Raise timeout")
    dependent = remote.commit({SETTINGS: "DEBUG = False\nTIMEOUT = 30\n"}, "Raise it again")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)
    return cut, prerequisite, dependent


# --- picks ----------------------------------------------------------------------------------


def test_a_clean_pick_advances_the_branch_with_the_x_trailer_and_keeps_the_author(
    remote, clone, scratch
):
    cut = remote.tip
    fix = remote.commit(
        {"src/login.py": "CRASH = False\n"},
        "Fix the login crash",
        author="bob",
        body="Differential Revision: https://phabricator.example.com/D777",
    )
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)

    with worktree(clone, cut, scratch) as tree:
        result = tree.cherry_pick(fix)
        assert result.applied and not result.already_applied
        assert result.sha == tree.head()
        branch_advance(clone, BRANCH, result.sha, cut)

    picked = commit_info(clone, branch_head(clone, BRANCH))
    assert picked.sha == result.sha and picked.parents == (cut,)
    assert picked.message.endswith(f"(cherry picked from commit {fix})")
    assert "D777" in picked.message and picked.title == "Fix the login crash"
    assert (picked.author_name, picked.author_email) == PEOPLE["bob"]
    assert picked.authored_at == commit_info(clone, fix).authored_at
    assert read_file(clone, f"refs/heads/{BRANCH}", "src/login.py") == "CRASH = False\n"
    assert list(scratch.iterdir()) == []


def test_a_conflicting_pick_leaves_the_branch_and_the_repository_untouched(remote, clone, scratch):
    cut, _, dependent = conflicting_history(remote, clone)
    before = repo_state(clone)

    with worktree(clone, cut, scratch) as tree:
        result = tree.cherry_pick(dependent)
        assert tree.head() == cut
        assert git(tree.path, "status", "--porcelain") == ""

    assert result == PickResult(applied=False, sha=None, conflict_files=(SETTINGS,))
    assert branch_head(clone, BRANCH) == cut
    assert repo_state(clone) == before
    assert list(scratch.iterdir()) == []
    assert git(clone, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_a_pick_whose_patch_is_already_applied_reports_already_applied(remote, clone, scratch):
    cut = remote.tip
    fix = remote.commit({"src/fix.py": "FIXED = True\n"}, "Fix it")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)
    head = pick_without_trailer(clone, fix, scratch)

    with worktree(clone, head, scratch) as tree:
        result = tree.cherry_pick(fix)
        assert tree.head() == head

    assert result.already_applied and not result.applied and result.sha is None


def test_a_merge_commit_is_picked_against_its_first_parent(remote, clone, scratch):
    cut = remote.tip
    merge = remote.merge({"src/feature.py": "ENABLED = True\n"}, "Merge the feature")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)

    head = pick_onto_branch(clone, merge, scratch)

    assert commit_info(clone, head).parents == (cut,)
    assert read_file(clone, head, "src/feature.py") == "ENABLED = True\n"


def test_reset_hard_takes_a_pick_back_off_without_moving_the_branch(remote, clone, scratch):
    cut = remote.tip
    fix = remote.commit({"src/fix.py": "FIXED = True\n"}, "Fix it")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)

    with worktree(clone, cut, scratch) as tree:
        assert tree.cherry_pick(fix).applied
        tree.reset_hard(cut)
        assert tree.head() == cut
        assert not (tree.path / "src/fix.py").exists()

    assert branch_head(clone, BRANCH) == cut


def test_a_dry_run_of_a_conflicting_pick_reports_the_files_and_never_moves_the_branch(
    remote, clone, scratch
):
    cut, prerequisite, dependent = conflicting_history(remote, clone)
    before = repo_state(clone)

    assert dry_run_pick(clone, BRANCH, dependent, scratch).conflict_files == (SETTINGS,)
    assert dry_run_pick(clone, BRANCH, prerequisite, scratch).applied

    assert branch_head(clone, BRANCH) == cut
    assert repo_state(clone) == before
    assert list(scratch.iterdir()) == []


def test_commits_touching_finds_the_prerequisite_of_a_conflicting_pick(remote, clone):
    cut, prerequisite, dependent = conflicting_history(remote, clone)
    remote.commit({"README.md": "Unrelated\n"}, "Document")
    sync(clone, remote.url)

    assert commits_touching(clone, cut, f"{dependent}~1", [SETTINGS]) == [prerequisite]
    assert commits_touching(clone, cut, dependent, [SETTINGS]) == [dependent, prerequisite]
    assert commits_touching(clone, cut, dependent, ["README.md"]) == []


def test_the_worktree_is_removed_even_when_the_block_raises(clone, scratch):
    with pytest.raises(RuntimeError), worktree(clone, trunk_ref("main"), scratch) as tree:
        assert (tree.path / "src/module1.py").exists()
        raise RuntimeError("a test run blew up")

    assert list(scratch.iterdir()) == []
    assert git(clone, "worktree", "list", "--porcelain").count("worktree ") == 1


# --- already in the branch? ---------------------------------------------------------------


def test_sixteen_worktrees_made_at_once_all_work_and_all_go(clone, scratch):
    # Git refuses a worktree added while another is half made ("failed to read
    # worktrees/worktree2/commondir"); sixteen pick requests at once used to meet that.
    start = threading.Barrier(16)
    heads: list[str] = []
    errors: list[Exception] = []

    def request() -> None:
        start.wait()
        try:
            with worktree(clone, "HEAD", scratch) as tree:
                heads.append(tree.head())
        except Exception as error:
            errors.append(error)

    for _ in range(3):  # a race: three bursts, so that the old code fails every time
        threads = [threading.Thread(target=request) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert heads == [rev_parse(clone, "HEAD")] * 48
    assert git(clone, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert list(scratch.iterdir()) == []


def test_a_commit_older_than_the_cut_is_in_the_branch_by_ancestry(remote, clone):
    first = remote.trunk[0]
    branch_create(clone, BRANCH, remote.tip)

    assert find_in_branch(clone, first, BRANCH, base=remote.tip) == Containment("ancestry", first)


def test_a_pick_made_with_x_is_found_by_its_trailer(remote, clone, scratch):
    cut = remote.tip
    fix = remote.commit({"src/fix.py": "FIXED = True\n"}, "Fix it")
    later = remote.commit({"src/later.py": "LATER = 1\n"}, "Later work")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)
    picked = pick_onto_branch(clone, fix, scratch)
    pick_onto_branch(clone, later, scratch)

    assert find_in_branch(clone, fix, BRANCH, base=cut) == Containment("trailer", picked)


def test_a_pick_made_without_x_is_found_by_patch_id(remote, clone, scratch):
    cut = remote.tip
    remote.commit({"src/module1.py": "VALUE = 'moved on'\n"}, "Shift the context")
    fix = remote.commit({"src/fix.py": "FIXED = True\n"}, "Fix it")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)
    picked = pick_without_trailer(clone, fix, scratch)

    assert "cherry picked" not in commit_info(clone, picked).message
    assert find_in_branch(clone, fix, BRANCH, base=cut) == Containment("patch-id", picked)


def test_a_commit_not_in_the_branch_is_not_found(remote, clone, scratch):
    cut = remote.tip
    picked = remote.commit({"src/fix.py": "FIXED = True\n"}, "Fix it")
    other = remote.commit({"src/other.py": "OTHER = True\n"}, "Something else")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)
    pick_onto_branch(clone, picked, scratch)

    assert find_in_branch(clone, other, BRANCH, base=cut) is None
    assert is_ancestor(clone, cut, f"refs/heads/{BRANCH}")
    assert not is_ancestor(clone, other, f"refs/heads/{BRANCH}")


def test_is_ancestor_refuses_an_unknown_commit(clone):
    with pytest.raises(GitError):
        is_ancestor(clone, "0123456789abcdef0123456789abcdef01234567", trunk_ref("main"))


# --- branches -------------------------------------------------------------------------------


def test_a_cut_creates_the_branch_at_a_trunk_commit_and_is_idempotent(remote, clone):
    cut = remote.trunk[-2]

    branch_create(clone, BRANCH, cut)
    branch_create(clone, BRANCH, cut[:12])

    assert branch_head(clone, BRANCH) == cut
    assert branch_head(clone, "release/2026-11-29") is None


def test_a_cut_refuses_a_branch_that_already_points_elsewhere(remote, clone):
    branch_create(clone, BRANCH, remote.trunk[-2])

    with pytest.raises(GitError, match="already exists"):
        branch_create(clone, BRANCH, remote.tip)

    assert branch_head(clone, BRANCH) == remote.trunk[-2]


def test_advancing_from_a_stale_sha_raises_branch_moved(remote, clone, scratch):
    cut = remote.tip
    first = remote.commit({"src/a.py": "A = 1\n"}, "A")
    second = remote.commit({"src/b.py": "B = 1\n"}, "B")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)
    moved_to = pick_onto_branch(clone, first, scratch)
    with worktree(clone, moved_to, scratch) as tree:
        late = tree.cherry_pick(second).sha

    with pytest.raises(BranchMoved):
        branch_advance(clone, BRANCH, late, old_sha=cut)

    assert branch_head(clone, BRANCH) == moved_to
    branch_advance(clone, BRANCH, late, old_sha=moved_to)
    branch_advance(clone, BRANCH, late, old_sha=moved_to)  # a retried task: already done
    assert branch_head(clone, BRANCH) == late


def test_branch_move_force_moves_latest_backwards(remote, clone):
    branch_move(clone, "latest", remote.tip)
    branch_move(clone, "latest", remote.trunk[-3])

    assert branch_head(clone, "latest") == remote.trunk[-3]


@pytest.mark.parametrize(
    "name",
    ["-f", "--force", "release/$(touch pwned)", "rel ease", "a..b", "HEAD", "x\ny", "a/-rf", ""],
)
def test_a_branch_name_git_could_misread_is_refused(clone, remote, name, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(InvalidName):
        branch_create(clone, name, remote.tip)

    assert not (tmp_path / "pwned").exists()


def test_a_branch_name_with_shell_metacharacters_git_allows_is_harmless(
    clone, remote, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    name = "release/x;touch${IFS}pwned|`touch${IFS}pwned`&&$HOME"

    branch_create(clone, name, remote.tip)

    assert branch_head(clone, name) == remote.tip
    assert git(clone, "for-each-ref", "--format=%(refname)", "refs/heads/release/").split() == [
        f"refs/heads/{name}"
    ]
    assert not (tmp_path / "pwned").exists() and not (clone / "pwned").exists()


def test_shas_and_revisions_that_look_like_options_are_refused(clone):
    with pytest.raises(InvalidName):
        commit_info(clone, "--output=/tmp/x")
    with pytest.raises(InvalidName):
        rev_parse(clone, "--all")
    assert rev_parse(clone, "0" * 40) is None
    assert (
        rev_parse(clone, trunk_ref("main"))
        == git(clone, "rev-parse", "refs/remotes/origin/main").strip()
    )


# --- history --------------------------------------------------------------------------------


def test_trunk_commits_streams_first_parent_history_oldest_first(remote, clone):
    merge = remote.merge({"src/feature.py": "ON = True\n"}, "Merge the feature")
    sync(clone, remote.url)

    commits = trunk_commits(clone, "main")

    assert iter(commits) is commits  # a generator, not a list
    listed = list(commits)
    assert [c.sha for c in listed] == remote.log("main")[::-1] == remote.trunk
    assert [c.title for c in listed] == [
        "Add module 1",
        "Add module 2",
        "Add module 3",
        "Merge the feature",
    ]
    assert listed[-1].sha == merge and len(listed[-1].parents) == 2
    first = listed[0]
    assert (first.author_name, first.author_email) == PEOPLE["alice"]
    assert first.authored_at == first.committed_at == datetime.fromtimestamp(EPOCH, UTC)
    assert "Differential Revision: https://phabricator.example.com/D101" not in first.message
    assert "Pull request: https://github.com/acme/app/pull/101" in first.message
    assert "Differential Revision: https://phabricator.example.com/D102" in listed[1].message


def test_trunk_commits_since_a_commit_excludes_it(remote, clone):
    history = remote.trunk

    after = [c.sha for c in trunk_commits(clone, "main", since=history[0])]

    assert after == history[1:]
    assert list(trunk_commits(clone, "main", since=history[-1])) == []


def test_trunk_commits_checks_names_at_once_and_reports_git_errors_while_iterating(clone):
    with pytest.raises(InvalidName):
        trunk_commits(clone, "--all")

    commits = trunk_commits(clone, "main", since="0" * 40)

    with pytest.raises(GitError, match="git log failed"):
        list(commits)


def test_trunk_commits_stopped_early_stops_git(clone):
    commits = trunk_commits(clone, "main")
    assert next(commits).title == "Add module 1"
    commits.close()  # must neither hang nor raise


def test_diff_stat_counts_lines_binary_files_and_renames(remote, clone):
    remote.commit({"docs/guide.md": "".join(f"line {n}\n" for n in range(40))}, "Add guide")
    sha = remote.commit(
        {"src/module1.py": "VALUE = 1\nOTHER = 2\nMORE = 3\n", "logo.png": b"\x89PNG\0\1\2\0"},
        "Mixed change",
        renames={"docs/guide.md": "docs/handbook.md"},
    )
    sync(clone, remote.url)

    stat = diff_stat(clone, sha)

    assert stat.files_changed == 3
    assert sorted(stat.files) == ["docs/handbook.md", "logo.png", "src/module1.py"]
    assert stat.binary_files == ("logo.png",)
    assert (stat.lines_added, stat.lines_deleted) == (2, 0)


def test_diff_stat_of_the_root_commit_and_of_a_merge(remote, clone):
    merge = remote.merge({"src/feature.py": "ON = True\nOFF = False\n"}, "Merge the feature")
    sync(clone, remote.url)

    assert diff_stat(clone, remote.trunk[0]).files == ("src/module1.py",)
    assert diff_stat(clone, merge).lines_added == 2


# --- sync, tags, push -----------------------------------------------------------------------


def test_sync_clones_a_configured_bare_repository(remote, clone):
    assert git(clone, "rev-parse", "--is-bare-repository").strip() == "true"
    assert (
        git(clone, "config", "remote.origin.fetch").strip() == "+refs/heads/*:refs/remotes/origin/*"
    )
    assert git(clone, "config", "user.name").strip() == "Releasebot"
    assert rev_parse(clone, trunk_ref("main")) == remote.tip
    assert (clone / "objects/info/commit-graphs").is_dir()
    assert [p.name for p in clone.parent.iterdir()] == ["app.git"]  # no staging folder left


def test_sync_fetches_new_trunk_commits(remote, clone):
    new = remote.commit({"src/new.py": "NEW = 1\n"}, "New work", author="carol")
    assert rev_parse(clone, new) is None

    sync(clone, remote.url)

    assert rev_parse(clone, trunk_ref("main")) == new
    assert commit_info(clone, new).author_email == PEOPLE["carol"][1]


def test_sync_prunes_a_worktree_whose_folder_was_lost(clone, tmp_path, remote):
    lost = tmp_path / "lost"
    git(clone, "worktree", "add", "--detach", str(lost), remote.tip)
    shutil.rmtree(lost)  # a crash took the folder but left git's record of it

    sync(clone, remote.url)

    assert git(clone, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_sync_refuses_a_transport_helper_url(tmp_path):
    with pytest.raises(InvalidName):
        sync(tmp_path / "x.git", "ext::sh -c touch% /tmp/pwned")


def test_tag_create_is_idempotent_and_refuses_another_commit(remote, clone):
    tag_create(clone, "push/2026-11-22/1", remote.tip, "Push 1 of release 2026-11-22")
    tag_create(clone, "push/2026-11-22/1", remote.tip, "Push 1 of release 2026-11-22")

    with pytest.raises(GitError, match="already exists"):
        tag_create(clone, "push/2026-11-22/1", remote.trunk[-2], "Another")

    assert git(clone, "cat-file", "-t", "refs/tags/push/2026-11-22/1").strip() == "tag"
    assert rev_parse(clone, "refs/tags/push/2026-11-22/1") == remote.tip


def test_push_lands_the_branch_and_the_tag_in_the_remote(remote, clone, scratch):
    cut = remote.tip
    fix = remote.commit({"src/fix.py": "FIXED = True\n"}, "Fix it")
    sync(clone, remote.url)
    branch_create(clone, BRANCH, cut)
    head = pick_onto_branch(clone, fix, scratch)
    tag_create(clone, "push/2026-11-22/1", head, "Push 1")

    push(clone, [f"refs/heads/{BRANCH}", "refs/tags/push/2026-11-22/1"])

    assert remote.head(f"refs/heads/{BRANCH}") == head
    assert remote.head("refs/tags/push/2026-11-22/1^{commit}") == head
    assert remote_branch_head(clone, BRANCH) == head
    assert remote_branch_head(clone, "release/1999-01-01") is None
    assert branch_log(remote.bare, f"refs/heads/{BRANCH}", cut)[0].startswith("Fix it")
    assert remote.head("main") == fix  # trunk itself is never pushed


def test_push_is_atomic_and_never_forces_a_release_branch(remote, clone):
    branch_create(clone, BRANCH, remote.tip)
    push(clone, [f"refs/heads/{BRANCH}"])
    branch_move(clone, BRANCH, remote.trunk[-2])
    tag_create(clone, "push/2026-11-22/2", remote.tip, "Push 2")

    with pytest.raises(GitError, match="push"):
        push(clone, [f"refs/heads/{BRANCH}", "refs/tags/push/2026-11-22/2"])

    assert remote.head(f"refs/heads/{BRANCH}") == remote.tip
    assert remote.head("refs/tags/push/2026-11-22/2") is None


def test_latest_is_force_pushed_with_a_lease(remote, clone):
    branch_move(clone, "latest", remote.tip)
    push(clone, ["+refs/heads/latest"])
    branch_move(clone, "latest", remote.trunk[-2])

    push(clone, ["+refs/heads/latest"])

    assert remote.head("refs/heads/latest") == remote.trunk[-2]


def test_git_errors_do_not_show_credentials_from_the_remote_url(tmp_path):
    url = "https://releasebot:s3cret-token@127.0.0.1:1/acme/app.git"  # nothing listens there

    with pytest.raises(GitError) as raised:
        sync(tmp_path / "app.git", url)

    assert "s3cret-token" not in str(raised.value)
    assert "s3cret-token" not in " ".join(raised.value.command) + raised.value.stderr


# --- running tests in a worktree ----------------------------------------------------------


def test_run_kills_a_command_that_outlives_its_timeout_with_its_children(clone, scratch):
    with worktree(clone, trunk_ref("main"), scratch) as tree:
        result = tree.run("sh -c 'sleep 30 & echo $! > child.pid; echo started; wait'", timeout=1)
        child = int((tree.path / "child.pid").read_text())

    assert result.timed_out and result.exit_code is None
    assert 1 <= result.duration < 5
    assert "started" in result.output
    assert not _alive(child)


def test_run_reports_a_failing_exit_code_and_both_streams(clone, scratch):
    with worktree(clone, trunk_ref("main"), scratch) as tree:
        result = tree.run("sh -c 'echo out; echo err >&2; exit 3'", timeout=10, env={"X": "1"})
        missing = tree.run("no-such-test-runner --all", timeout=10)
        passing = tree.run("sh -c 'test \"$RELEASE\" = 2026-11-22'", 10, {"RELEASE": "2026-11-22"})

    assert (result.exit_code, result.timed_out) == (3, False)
    assert "out" in result.output and "err" in result.output
    assert missing.exit_code == 127
    assert passing.exit_code == 0


def test_run_keeps_only_the_end_of_a_huge_output(clone, scratch):
    script = "import sys; sys.stdout.write('x' * 500_000 + 'THE END')"
    with worktree(clone, trunk_ref("main"), scratch) as tree:
        result = tree.run(f'{sys.executable} -c "{script}"', timeout=30)

    assert result.exit_code == 0
    assert result.output.endswith("THE END") and len(result.output) < 210_000


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for init to reap it counts as dead)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state in {"Z", "X"}:
            return False
        time.sleep(0.05)
    return True
