"""The benchmark's own database: `releasebot_bench` (or BENCH_DATABASE_NAME) on the PostgreSQL
server DATABASE_URL names (never the database it names), or a SQLite file in the run's folder
when DATABASE_URL is unset.

`database_url()` is decided before Django starts; `database_reset()` drops and creates it
again (an empty, migrated database for each scale) with Django already running.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

# BENCH_DATABASE_NAME lets two bench runs share one PostgreSQL server.
NAME = os.environ.get("BENCH_DATABASE_NAME", "releasebot_bench")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", NAME):
    raise SystemExit(f"make bench: BENCH_DATABASE_NAME must be a plain identifier, not {NAME!r}")


def database_url(data_dir: str) -> str:
    """PostgreSQL's `releasebot_bench` when DATABASE_URL is set; else SQLite in `data_dir`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{data_dir}/bench.sqlite3"
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"make bench: DATABASE_URL must be PostgreSQL or unset, not {url!r}")
    return urlunsplit(parts._replace(path=f"/{NAME}"))


def database_reset() -> None:
    """Drop and create the bench database, then migrate it: each scale starts empty."""
    from django.core.management import call_command
    from django.db import connection, connections

    connections.close_all()
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        assert settings["NAME"] == NAME, settings["NAME"]  # never any other database
        import psycopg

        with psycopg.connect(
            dbname="postgres",
            autocommit=True,
            host=settings.get("HOST") or "127.0.0.1",
            port=settings.get("PORT") or 5432,
            user=settings.get("USER") or None,
            password=settings.get("PASSWORD") or None,
        ) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {NAME}")
    else:
        path = str(settings["NAME"])
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    call_command("migrate", verbosity=0)


def database_drop() -> None:
    """Remove the bench database at the end of the run."""
    from django.db import connection, connections

    connections.close_all()
    if connection.vendor != "postgresql":
        return
    import psycopg

    settings = connection.settings_dict
    assert settings["NAME"] == NAME, settings["NAME"]
    with psycopg.connect(
        dbname="postgres",
        autocommit=True,
        host=settings.get("HOST") or "127.0.0.1",
        port=settings.get("PORT") or 5432,
        user=settings.get("USER") or None,
        password=settings.get("PASSWORD") or None,
    ) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
