"""Token authentication for the event intake, the API's busiest write.

DRF's TokenAuthentication builds `Token.objects.select_related("user").get(key=…)` through the
ORM on every request, and compiling that query cost more than the event's own INSERT. This is the
same authentication (the `Authorization: Token …` header, the same 401 answers, request.user and
request.auth) with the lookup written out once as SQL from the models' metadata.
"""

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class EventTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        token_model = self.get_model()
        user = next(iter(get_user_model().objects.raw(_sql(token_model), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = token_model(key=key, user=user, created=_created(token_model, user.token_created))
        token._state.adding = False
        return user, token


def _created(token_model, value):
    """The creation time as the ORM would have read it (SQLite returns text for a raw column)."""
    col = token_model._meta.get_field("created").get_col("t")
    for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
        value = convert(value, col, connection)
    return value


_SQL: dict[str, str] = {}


def _sql(token_model) -> str:
    """The user (all its columns) joined to the token with the given key, and the token's
    creation time; written once per database vendor."""
    if connection.vendor not in _SQL:
        quote = connection.ops.quote_name
        users = get_user_model()._meta
        tokens = token_model._meta
        user_fk = tokens.get_field("user")
        _SQL[connection.vendor] = (
            f"SELECT u.*, t.{quote(tokens.get_field('created').column)} AS token_created"
            f" FROM {quote(users.db_table)} u JOIN {quote(tokens.db_table)} t"
            f" ON t.{quote(user_fk.column)} = u.{quote(users.pk.column)}"
            f" WHERE t.{quote(tokens.pk.column)} = %s"
        )
    return _SQL[connection.vendor]


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
