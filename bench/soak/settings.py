"""Settings for the soak's processes: Releasebot's, plus the soak task and the broker to try.

SOAK_BROKER: `files` (Releasebot's embedded broker, the default), `kombu-files` (kombu's own
filesystem transport with remote control on, as `make run` had before), `sqlite` (kombu's
SQLAlchemy transport on a SQLite file; needs SQLAlchemy). Redis: set REDIS_URL instead.
SOAK_POLLING: the file brokers' polling interval in seconds.
"""

import os

from releasebot.settings import *  # noqa: F403
from releasebot.settings import CELERY_BROKER_TRANSPORT_OPTIONS, DATA_DIR, REDIS_URL

CELERY_IMPORTS = ["bench.soak.tasks"]

_broker = os.environ.get("SOAK_BROKER", "files")
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "polling_interval": float(os.environ.get("SOAK_POLLING", "0.05")),
    }
    if _broker == "kombu-files":
        CELERY_BROKER_TRANSPORT = "filesystem"
        CELERY_WORKER_ENABLE_REMOTE_CONTROL = True
    elif _broker == "sqlite":
        CELERY_BROKER_URL = f"sqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}"
        CELERY_BROKER_TRANSPORT = "sqlalchemy"
        # This transport hands every option to SQLAlchemy's create_engine: none, so it polls
        # at kombu's default (1 s).
        CELERY_BROKER_TRANSPORT_OPTIONS = {}
        CELERY_WORKER_ENABLE_REMOTE_CONTROL = False  # no fanout on this transport
    elif _broker != "files":
        raise ValueError(f"SOAK_BROKER={_broker!r}: files, kombu-files or sqlite")
