"""Load the demo: a generated shop repository, three weeks of its train, and people to log in as;
then, built now or before, a push asking its requestors to confirm (pushes.demo.window)."""

from __future__ import annotations

import textwrap

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from common import times
from pushes import demo


class Command(BaseCommand):
    help = (
        "Build the demo (a generated 'shop' repository with branches, pushes, picks and karma) "
        "unless it exists, and open a push's confirmation window unless one is open; --reset "
        "rebuilds it."
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
        self._window(demo.demo_window_open())
        self._logins()

    def _window(self, window: demo.DemoWindow) -> None:
        push = window.push
        if push is None:
            self.stdout.write(f"No confirmation window: {window.why_not}.")
            return
        repository = push.branch.repository
        how = "opened" if window.opened else "still open"
        due = times.when(push.scheduled_at, repository)
        self.stdout.write(
            f"Confirmation window {how}: push {push.label} of {push.branch.name} goes out {due}."
        )
        if window.waiting:
            asked = ", ".join(f"{p.requestor.user.username} (pick #{p.pk})" for p in window.waiting)
            self.stdout.write(f"  Asked to confirm: {asked}.")
            self.stdout.write("  Sign in as one of them and press \u201cI'm here\u201d.")

    def _logins(self) -> None:
        self.stdout.write(f"Open {settings.SITE_URL} and log in as (user / password: role):")
        for login in demo.LOGINS:
            if login.role != demo.ENGINEER:
                self.stdout.write(f"  {login.username} / {login.password}: {login.role}")
        others = ", ".join(login.username for login in demo.LOGINS if login.role == demo.ENGINEER)
        lines = textwrap.wrap(
            f"{others}: engineers, each with the username as password",
            width=96,
            initial_indent="  ",
            subsequent_indent="    ",
        )
        self.stdout.write("\n".join(lines))


def _states(counts: dict[str, int]) -> str:
    return ", ".join(f"{state} {count}" for state, count in sorted(counts.items()))
