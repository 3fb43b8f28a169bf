"""A push stopped between two phases, as a worker killed there leaves it: the database refuses
to record the push's step into a phase (a trigger), so every phase before it is done and
committed, this one's work may be done, and its record is not.

    push_stops_before(PushState.DEPLOYING)
    try:
        services.push_run(push_id=push.pk)  # raises DatabaseError
    finally:
        push_stops_cleared()
"""

from __future__ import annotations

from django.db import connection


def push_stops_before(phase: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE OR REPLACE FUNCTION push_stop() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'stopped'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER push_stop BEFORE INSERT ON pushes_pushevent FOR EACH ROW "
                f"WHEN (NEW.to_state = '{phase}' AND NEW.from_state <> '{phase}') "
                "EXECUTE FUNCTION push_stop()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER push_stop BEFORE INSERT ON pushes_pushevent "
                f"WHEN NEW.to_state = '{phase}' AND NEW.from_state <> '{phase}' "
                "BEGIN SELECT RAISE(ABORT, 'stopped'); END"
            )


def push_stops_cleared() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS push_stop ON pushes_pushevent")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS push_stop")
