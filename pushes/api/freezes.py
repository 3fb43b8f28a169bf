"""A repository's freeze in the API's answers: `frozen` on a repository."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pushes.models import Repository
from pushes.selectors.freezes import UNTIL_UNFROZEN, Frozen, repository_frozen


class FreezeSerializer(serializers.Serializer):
    """The freeze in force: no picks are taken and no push goes out."""

    reason = serializers.CharField(read_only=True)
    since = serializers.DateTimeField(read_only=True)
    by = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The release engineer who froze it; null for a window planned in the admin.",
    )
    until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=f"Its planned end; null: {UNTIL_UNFROZEN}.",
    )


@extend_schema_field(FreezeSerializer(allow_null=True))
class FrozenField(serializers.Field):
    """The repository's freeze in force now, or null. Read with `source="*"`."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, repository: Repository) -> dict | None:
        frozen: Frozen | None = repository_frozen(repository=repository)
        return None if frozen is None else FreezeSerializer(frozen).data
