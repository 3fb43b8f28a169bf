"""The bot's grammar from a shell: python manage.py bot --as alice "status 3f2a9c1"."""

from __future__ import annotations

from typing import cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat import commands
from pushes.models import Engineer


class Command(BaseCommand):
    help = (
        "Say one command to the bot, as an engineer, and print its answer: the same grammar "
        'as /rb in Slack and the web chat console. Exits 1 when the bot refuses. Try "help".'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USER",
            help="The engineer's username (status and help work without one).",
        )
        parser.add_argument("words", nargs="+", metavar="COMMAND", help='e.g. "mine"')

    def handle(self, *args: object, **options: object) -> None:
        engineer = None
        if options["username"]:
            engineer = (
                Engineer.objects.select_related("user")
                .filter(user__username=options["username"])
                .first()
            )
            if engineer is None:
                raise CommandError(f"No engineer is called {options['username']!r}.")
        words = cast(list[str], options["words"])
        reply = commands.answer(" ".join(words), engineer=engineer)
        if reply.refused:
            raise CommandError(reply.text)
        self.stdout.write(reply.text)
