from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from common.serializers import EnumField, StrictFieldsMixin
from forges.services.connection import FIELDS, forge_connection_health
from pushes.choices import ReviewTool
from pushes.models import Repository


class ForgeConnectionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A repository's GitHub or GitLab setup: the review tool's API (also where picks are
    written back), the project webhooks name, the webhook secret's variable, the pick label and
    how many older release branches stay open. Secrets are named, never shown."""

    review_tool = EnumField(ReviewTool, required=False)
    webhook_urls = serializers.SerializerMethodField()
    health = serializers.SerializerMethodField()

    class Meta:
        model = Repository
        fields = ["slug", *FIELDS, "webhook_urls", "health"]
        read_only_fields = ["slug"]
        extra_kwargs = {name: {"required": False} for name in FIELDS}

    def get_webhook_urls(self, repository: Repository) -> dict[str, str]:
        return {
            "github": f"{settings.SITE_URL}/hooks/github/",
            "gitlab": f"{settings.SITE_URL}/hooks/gitlab/",
        }

    def get_health(self, repository: Repository) -> dict[str, bool]:
        return forge_connection_health(repository)

    def validate(self, attrs: dict) -> dict:
        return attrs  # the model's own validation runs in the service, as in the admin
