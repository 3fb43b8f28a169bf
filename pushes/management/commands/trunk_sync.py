"""Fetch each repository's trunk and index its new commits (what beat does every minute)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from pushes import services
from pushes.models import Repository


class Command(BaseCommand):
    help = "Fetch trunk and index new commits for every active repository (or --repository)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repository", metavar="SLUG")

    def handle(self, *args: object, **options: object) -> None:
        repositories = Repository.objects.filter(is_active=True)
        if options["repository"]:
            repositories = repositories.filter(slug=options["repository"])
        for repository in repositories:
            added = services.trunk_sync(repository=repository)
            self.stdout.write(f"{repository.slug}: {added} new trunk commits indexed")
