"""Token authentication for the event intake, the API's busiest write.

DRF's TokenAuthentication builds `Token.objects.select_related("user").get(key=…)` through the
ORM on every request, and compiling that query cost more than the event's own INSERT (and a
`raw()` queryset, which skips the compiling, still works out its column mapping on every call).
This is the same authentication (the `Authorization: Token …` header, the same 401 answers,
request.user and request.auth) with the lookup written out once as SQL from the models' metadata
and its rows read straight into the user model, converted as the ORM converts them.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class EventTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token_model = self.get_model()
        lookup = _lookup(token_model)
        with connection.cursor() as cursor:
            cursor.execute(lookup.sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        values = list(row)
        for n, converters, col in lookup.convert:
            for convert in converters:
                values[n] = convert(values[n], col, connection)
        user = lookup.user_model.from_db(connection.alias, lookup.attnames, values[:-1])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = token_model(key=key, user=user, created=values[-1])
        token._state.adding = False
        return user, token


@dataclass(frozen=True)
class _Lookup:
    sql: str
    user_model: type
    attnames: list[str]  # the user's fields, in the SELECT's order; the token's creation time last
    convert: list[tuple]  # (column index, converters, column) where the backend or field converts


_LOOKUPS: dict[tuple[str, type], _Lookup] = {}


def _lookup(token_model) -> _Lookup:
    """The user (all its concrete columns) joined to the token with the given key, and the
    token's creation time; worked out once per database vendor."""
    key = (connection.vendor, token_model)
    if key not in _LOOKUPS:
        quote = connection.ops.quote_name
        user_model = get_user_model()
        users, tokens = user_model._meta, token_model._meta
        user_fk = tokens.get_field("user")
        columns = [(f, f.get_col("u")) for f in users.concrete_fields]
        created = tokens.get_field("created")
        columns.append((created, created.get_col("t")))
        convert = []
        for n, (_field, col) in enumerate(columns):
            if converters := connection.ops.get_db_converters(col) + col.get_db_converters(connection):
                convert.append((n, converters, col))
        select = ", ".join(f"{col.alias}.{quote(field.column)}" for field, col in columns)
        _LOOKUPS[key] = _Lookup(
            sql=(f"SELECT {select} FROM {quote(users.db_table)} u JOIN {quote(tokens.db_table)} t"
                 f" ON t.{quote(user_fk.column)} = u.{quote(users.pk.column)} WHERE t.{quote(tokens.pk.column)} = %s"),
            user_model=user_model, attnames=[f.attname for f in users.concrete_fields], convert=convert,
        )
    return _LOOKUPS[key]


class EventTokenScheme(OpenApiAuthenticationExtension):
    """The same header as DRF's token scheme, under its own name: two classes may not share
    "tokenAuth" in the OpenAPI components (drf-spectacular warns, and --fail-on-warn fails)."""

    target_class = EventTokenAuthentication
    name = "eventTokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'The API token with the prefix "Token", as for every other endpoint.',
        }
