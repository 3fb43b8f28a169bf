"""The trunk index as trunk grows: an incremental sync indexes exactly the commits after the
last indexed one, batches keep trunk's order, a forced push to trunk indexes it again from the
first commit, and a status question about a merge's sides reads an index, not the table."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from pushes import selectors, services
from pushes.models import Revision
from pushes.services import repositories
from tests.repos import git as run_git


def _indexed(repository) -> list[tuple[int, str, str]]:
    """(position, sha, merged_by) of every indexed commit, in trunk order."""
    return list(
        Revision.objects.filter(repository=repository)
        .order_by("position", "merged_by")
        .values_list("position", "sha", "merged_by")
    )


def test_an_incremental_sync_indexes_exactly_the_commits_after_the_last_indexed(repository, remote):
    assert services.trunk_sync(repository=repository) == 5
    before = _indexed(repository)
    new = [remote.commit({f"src/new{n}.py": f"N = {n}\n"}, f"Add new {n}") for n in range(12)]

    assert services.trunk_sync(repository=repository) == 12

    after = _indexed(repository)
    assert after[:5] == before  # what was indexed is untouched
    assert after[5:] == [(5 + n, sha, "") for n, sha in enumerate(new)]
    assert [sha for _, sha, _ in after] == list(reversed(remote.log()))
    repository.refresh_from_db()
    assert repository.trunk_indexed_sha == new[-1]
    assert services.trunk_sync(repository=repository) == 0
    assert _indexed(repository) == after


def test_a_sync_longer_than_a_batch_keeps_trunk_order_and_a_merges_sides_at_its_place(
    repository, remote, monkeypatch
):
    monkeypatch.setattr(repositories, "INDEX_BATCH", 3)
    landed = [remote.commit({f"src/a{n}.py": "A = 1\n"}, f"Add a{n}") for n in range(4)]
    merge = remote.merge({"src/side.py": "SIDE = 1\n"}, "Merge the side")
    landed += [merge, *(remote.commit({f"src/b{n}.py": "B = 1\n"}, f"Add b{n}") for n in range(3))]
    side = run_git(remote.bare, "rev-parse", f"{merge}^2").strip()

    assert services.trunk_sync(repository=repository) == 5 + len(landed) + 1

    first_line = [(p, sha) for p, sha, by in _indexed(repository) if not by]
    assert first_line == list(enumerate(reversed(remote.log())))
    brought = Revision.objects.get(repository=repository, sha=side)
    assert (brought.position, brought.merged_by) == (5 + 4, merge)
    assert brought.title == "Merge the side (side)"
    repository.refresh_from_db()
    assert repository.trunk_indexed_sha == landed[-1]


def test_a_forced_push_to_trunk_indexes_it_again_from_the_first_commit(repository, remote):
    services.trunk_sync(repository=repository)
    kept, dropped = remote.trunk[:3], remote.trunk[3:]
    run_git(remote.bare, "update-ref", "refs/heads/main", kept[-1])  # a force-push back
    remote.trunk = list(kept)
    rewritten = [remote.commit({f"src/r{n}.py": "R = 1\n"}, f"Rewrite {n}") for n in range(2)]

    assert services.trunk_sync(repository=repository) == 5

    assert _indexed(repository) == [(n, sha, "") for n, sha in enumerate(kept + rewritten)]
    assert not Revision.objects.filter(sha__in=dropped).exists()
    repository.refresh_from_db()
    assert repository.trunk_indexed_sha == rewritten[-1]
    status = selectors.revision_status(query=rewritten[0][:10])
    assert status.revision.position == 3


def test_the_status_question_about_a_merges_sides_reads_its_index(repository, remote):
    merge = remote.merge({"src/side.py": "SIDE = 1\n"}, "Merge the side")
    services.trunk_sync(repository=repository)

    with CaptureQueriesContext(connection) as queries:
        status = selectors.revision_status(query=merge[:10])

    assert status.revision.sha == merge
    asked = [q["sql"] for q in queries.captured_queries if '"merged_by" =' in q["sql"]]
    assert len(asked) == 1, asked
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: no scan wins
            cursor.execute(f"EXPLAIN {asked[0]}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {asked[0]}")
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "trunk_commit_merged_by" in plan, plan


def test_a_status_with_picks_is_five_queries_and_its_story_and_api_answer_ask_nothing_more(
    alice, rel, branch, landed
):
    from pushes.api.revision_serializers import RevisionStatusSerializer
    from pushes.choices import PickState

    shipped = services.pick_request(requestor=alice, revision=landed["fix"], reason="r").pick
    services.pick_approve(pick_id=shipped.pk, actor=rel)
    services.pick_confirm(pick_id=shipped.pk, actor=alice)
    for state in (PickState.PICKED, PickState.SHIPPED):
        services.pick_transition(pick_id=shipped.pk, to=state, actor=None)
    picked = services.pick_request(requestor=alice, revision=landed["feature"], reason="r").pick
    services.pick_approve(pick_id=picked.pk, actor=rel)
    services.pick_confirm(pick_id=picked.pk, actor=alice)
    services.pick_transition(pick_id=picked.pk, to=PickState.PICKED, actor=None)

    for sha, pick in ((landed["fix"], shipped), (landed["feature"], picked)):
        with CaptureQueriesContext(connection) as queries:
            status = selectors.revision_status(query=sha[:10])
        assert len(queries) == 5, [q["sql"] for q in queries.captured_queries]
        with CaptureQueriesContext(connection) as more:
            story = status.story
            answer = RevisionStatusSerializer(status).data
        assert f"Pick #{pick.pk} to {branch.name} by alice" in story[-1]
        assert answer["picks"][0]["push_label"] == pick.push.label
        assert status.picks[0].push.branch.repository.slug == "shop"
        assert more.captured_queries == []  # all it needs came with the five
