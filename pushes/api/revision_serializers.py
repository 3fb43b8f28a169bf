"""The answer to "where is my revision?" in the API: the commit, the branch it was cut into,
the branches a pick or a person put it on, and the commits that reverted it there."""

from __future__ import annotations

from rest_framework import serializers

from common.serializers import EnumField
from pushes.api.serializers import PickBriefSerializer
from pushes.choices import BranchState


class CommitSerializer(serializers.Serializer):
    sha = serializers.CharField()
    title = serializers.CharField()
    author_name = serializers.CharField()
    author_email = serializers.CharField()
    committed_at = serializers.DateTimeField()
    review_url = serializers.CharField()
    repository = serializers.CharField(source="repository.slug")
    trunk_position = serializers.IntegerField(source="position")


class BranchBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    state = EnumField(BranchState)


class BranchCommitSerializer(serializers.Serializer):
    """A commit on origin's release branch that carries the revision."""

    branch = serializers.CharField(source="branch.name")
    sha = serializers.CharField()
    how = serializers.CharField(
        help_text="pick (by Releasebot), trailer (by hand with -x), patch-id (by hand, the "
        "same change)"
    )
    shipped_with_label = serializers.CharField(source="shipped_with.label", allow_null=True)
    shipped_at = serializers.DateTimeField(source="shipped_with.pushed_at", allow_null=True)


class RevertCommitSerializer(serializers.Serializer):
    branch = serializers.CharField(source="branch.name")
    sha = serializers.CharField()
    title = serializers.CharField()
    reverts = serializers.CharField(help_text="The commit it reverts.")


class RevisionStatusSerializer(serializers.Serializer):
    """Where a trunk revision is: the branch cut with it, its picks, what origin's release
    branches carry of it (whoever pushed it), when it shipped."""

    commit = CommitSerializer(source="revision")
    cut_into = BranchBriefSerializer(
        allow_null=True, help_text="The first release branch cut with it in, if any."
    )
    cut_shipped_at = serializers.DateTimeField(
        allow_null=True, help_text="When that branch's weekly ship went out."
    )
    shipped_at = serializers.DateTimeField(
        allow_null=True, help_text="When it first shipped, by the cut or a pick."
    )
    picks = PickBriefSerializer(many=True)
    on_branches = BranchCommitSerializer(
        source="carried",
        many=True,
        help_text="Commits on origin's release branches that carry it: Releasebot's picks and "
        "picks people pushed by hand.",
    )
    reverts = RevertCommitSerializer(many=True, help_text="Commits on the branch reverting it.")
    story = serializers.ListField(
        child=serializers.CharField(), help_text="The status in plain sentences."
    )
