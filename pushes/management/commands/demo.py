"""Load the demo: a generated shop repository, three weeks of its train, and people to log in as."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pushes import demo


class Command(BaseCommand):
    help = (
        "Build the demo (a generated 'shop' repository with branches, pushes, picks and karma) "
        "unless it exists; --reset rebuilds it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo and build it again."
        )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "The demo runs only with DEBUG=1: its people sign in with their username as "
                "password, which nobody may on a real Releasebot. `make run` sets DEBUG=1."
            )
        summary = demo.demo_build(reset=bool(options["reset"]))
        if summary.created:
            self.stdout.write(self.style.SUCCESS("Demo built:"))
            for name, count in summary.counts.items():
                self.stdout.write(f"  {count:5d} {name}")
            self.stdout.write("  pushes: " + _states(summary.pushes))
            self.stdout.write("  picks:  " + _states(summary.picks))
        else:
            self.stdout.write("The demo is already there (--reset rebuilds it).")
        self.stdout.write(f"Open {settings.SITE_URL} and log in as (user / password):")
        for username, label in demo.LOGINS:
            self.stdout.write(f"  {username} / {label}")


def _states(counts: dict[str, int]) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(counts.items()))
