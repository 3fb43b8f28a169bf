from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.env import env_bool, env_int, env_list


def test_env_bool_reads_common_spellings(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env_bool("X_FLAG", True) is False


def test_env_bool_refuses_a_value_it_cannot_read(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG")


def test_env_int_refuses_garbage_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "3")
    with pytest.raises(ImproperlyConfigured, match="below the minimum of 5"):
        env_int("X_NUM", 10, minimum=5)
    monkeypatch.delenv("X_NUM")
    assert env_int("X_NUM", 10) == 10


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("X_LIST", " a, b,,c ")
    assert env_list("X_LIST", []) == ["a", "b", "c"]


@pytest.mark.django_db
def test_the_embedded_defaults_are_sqlite_in_wal_mode_and_the_file_broker(settings):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("running on DATABASE_URL")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    assert settings.DATABASES["default"]["OPTIONS"]["timeout"] >= 5


def test_celery_is_configured_for_at_least_once_delivery(settings):
    from releasebot.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    options = app.conf.broker_transport_options
    if app.conf.broker_url.startswith("filesystem"):
        assert options["data_folder_in"] == options["data_folder_out"]
        assert options["data_folder_in"].startswith("/")
    else:
        assert options["visibility_timeout"] >= 3600
