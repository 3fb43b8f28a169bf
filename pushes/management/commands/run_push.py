"""Run a push by hand: the next push of each repository's current branch, or one by id."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from common.errors import DomainError
from pushes import selectors, services
from pushes.models import Push, Repository


class Command(BaseCommand):
    help = (
        "Run a push now, in this process: the next push (the weekly ship or a daily push) of "
        "each active repository's current branch, or --push ID. --retry sends a failed push "
        "round again from where it failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repository", metavar="SLUG", help="Only this repository.")
        parser.add_argument("--push", type=int, metavar="ID", help="This push.")
        parser.add_argument("--retry", action="store_true", help="Retry a failed --push.")

    def handle(self, *args: object, **options: object) -> None:
        try:
            for push_id in self._push_ids(options):
                if options["retry"]:
                    push = services.push_retry(push_id=push_id)
                else:
                    push = services.push_run(push_id=push_id)
                self._report(push)
        except DomainError as error:
            raise CommandError(error.message) from None

    def _push_ids(self, options: dict) -> list[int]:
        if options["push"]:
            if not Push.objects.filter(pk=options["push"]).exists():
                raise CommandError(f"There is no push #{options['push']}.")
            return [options["push"]]
        if options["retry"]:
            raise CommandError("--retry needs --push ID.")
        repositories = Repository.objects.filter(is_active=True)
        if options["repository"]:
            repositories = repositories.filter(slug=options["repository"])
            if not repositories.exists():
                raise CommandError(f"No active repository {options['repository']!r}.")
        ids = []
        for repository in repositories:
            branch = selectors.branch_current(repository=repository)
            if branch is None:
                self.stderr.write(f"{repository.slug}: no open branch; cut one first.")
                continue
            ids.append(services.push_start_now(branch=branch).pk)
        return ids

    def _report(self, push: Push) -> None:
        counts: dict[str, int] = {}
        for state in push.picks.values_list("state", flat=True):
            counts[state] = counts.get(state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no picks"
        line = f"{push.branch.name} push {push.label}: {push.state} ({summary})"
        if push.tag:
            line += f", tagged {push.tag}"
        self.stdout.write(line)
        if push.error:
            self.stdout.write(f"  {push.error}")
