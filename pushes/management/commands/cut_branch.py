"""Cut release branches: the due ones (what beat does every minute), or one repository now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common import times
from pushes import services
from pushes.models import Repository


class Command(BaseCommand):
    help = (
        "Cut each active repository's weekly release branch when it is due. With --now, cut "
        "trunk's head now (named by today's date) for --repository, or for every repository."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repository", metavar="SLUG", help="Only this repository.")
        parser.add_argument("--now", action="store_true", help="Cut now, whatever the cadence.")

    def handle(self, *args: object, **options: object) -> None:
        repositories = Repository.objects.filter(is_active=True)
        if options["repository"]:
            repositories = repositories.filter(slug=options["repository"])
            if not repositories.exists():
                raise CommandError(f"no active repository with slug {options['repository']!r}")
        if options["now"]:
            branches = [services.branch_cut(repository=r) for r in repositories]
        else:
            branches = services.branch_cut_due(repositories=repositories)
        if not branches:
            self.stdout.write("Nothing due: every repository already has this week's branch.")
        for branch in branches:
            self.stdout.write(
                f"{branch.repository.slug}: {branch.name} at {branch.base_sha[:10]} "
                f"(cut {times.when(branch.cut_at, branch.repository, year=True)})"
            )
