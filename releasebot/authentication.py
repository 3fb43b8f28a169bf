"""How API calls say who they are: a token (scripts, the CLI) or the web session."""

from __future__ import annotations

import hashlib
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from pushes import statuscache
from pushes.models import Engineer


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication in one query that also reads the engineer (every API call
    asks who the engineer is).

    It runs on every API call, so the query is written once from the models' own fields and
    sent as is (building it with the ORM each time cost twice what the database does), and
    with Redis its row is kept in memory until a token, a user or an engineer changes.
    """

    @staticmethod
    def kept_engineer(key: str) -> bool | None:
        """`kept_engineer_token`: for a lean path in front of an engineers-only view."""
        return kept_engineer_token(key)

    def authenticate_credentials(self, key: str):
        if "\x00" in key:  # PostgreSQL refuses NUL in text: no token has one
            raise exceptions.AuthenticationFailed("Invalid token.")
        values = _token_values(key)
        if values is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token, user, engineer = _instances(values)
        if not user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        token._state.fields_cache["user"] = user
        user._state.fields_cache["engineer"] = engineer  # None: no engineer (as select_related)
        if engineer is not None:
            engineer._state.fields_cache["user"] = user
        return user, token


def kept_engineer_token(key: str) -> bool | None:
    """From the rows kept in memory only, never the database: True when `key` is the token of
    an active user who is an engineer (what the API's ENGINEERS permission asks), False when
    its kept row says otherwise, None when no row is kept for it now. A fast path answers only
    on True and leaves every other case to DRF, whose refusals it then gives."""
    generation = statuscache.current_generation() if statuscache.enabled() else None
    if generation is None:
        return None
    values = statuscache.tokens.get(hashlib.sha256(key.encode()).digest(), generation)
    if values is None:
        return None
    active, engineer_pk = _kept_fields()
    return bool(values[1][active]) and values[2][engineer_pk] is not None


@cache
def _kept_fields() -> tuple[int, int]:
    """Where the user's `is_active` and the engineer's primary key sit in `_token_values`."""
    (_, _), (_, user), (engineer_model, engineer) = _token_query()[0]
    names = [name for name, _, _ in user]
    pk = engineer_model._meta.pk.attname
    return names.index("is_active"), [name for name, _, _ in engineer].index(pk)


def _token_values(key: str) -> list[list] | None:
    """The values of token, user and engineer for this key, as the ORM converts them; kept in
    memory beside the status answers, and like them dropped whenever a token, a user or an
    engineer changes (pushes/statuscache.py)."""
    generation = statuscache.current_generation() if statuscache.enabled() else None
    kept = hashlib.sha256(key.encode()).digest()
    if generation is not None:
        values = statuscache.tokens.get(kept, generation)
        if values is not None:
            return values
    plan, sql = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    values, start = [], 0
    for _, fields in plan:
        converted = []
        for (_, converters, column), value in zip(fields, row[start:], strict=False):
            for convert in converters:
                value = convert(value, column, connection)
            converted.append(value)
        values.append(converted)
        start += len(fields)
    if generation is not None:
        statuscache.tokens.put(kept, generation, values)
    return values


@cache
def _token_query() -> tuple[list, str]:
    """How to read one row (token, user, engineer) by token key: per model, its fields with
    the database's converters for each, as the ORM would apply them; and the SQL."""
    plan, select = [], []
    for model, alias in ((Token, "t"), (get_user_model(), "u"), (Engineer, "e")):
        fields = []
        for field in model._meta.concrete_fields:
            column = field.get_col(alias)
            converters = connection.ops.get_db_converters(column) + column.get_db_converters(
                connection
            )
            fields.append((field.attname, converters, column))
            select.append(f"{alias}.{connection.ops.quote_name(field.column)}")
        plan.append((model, fields))
    quote = connection.ops.quote_name
    token, user, engineer = Token._meta, get_user_model()._meta, Engineer._meta
    user_id = quote(user.pk.column)
    sql = (
        f"SELECT {', '.join(select)} FROM {quote(token.db_table)} t "
        f"JOIN {quote(user.db_table)} u ON u.{user_id} = t.{quote(token.get_field('user').column)} "
        f"LEFT JOIN {quote(engineer.db_table)} e "
        f"ON e.{quote(engineer.get_field('user').column)} = u.{user_id} "
        f"WHERE t.{quote(token.pk.column)} = %s"
    )
    return plan, sql


def _instances(values: list[list]) -> list:
    """New model instances from `_token_values`; None for an engineer not there."""
    made = []
    for (model, fields), row in zip(_token_query()[0], values, strict=True):
        names = [name for name, _, _ in fields]
        pk = row[names.index(model._meta.pk.attname)]
        made.append(None if pk is None else model.from_db(connection.alias, names, list(row)))
    return made
