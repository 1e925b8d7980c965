"""The OpenAPI schema documents the errors every operation can answer, not only its success.

drf-spectacular describes an operation's success (and the codes an ``extend_schema`` names); the
errors DRF and our middleware give every view are left out. This AutoSchema adds them once, from
what the operation itself shows (its path, parameters, request body, permissions and throttles),
so no view has to repeat them and a new view is documented the moment it exists:

======  =====================================================  =========================================
status  when                                                   body
======  =====================================================  =========================================
400     a request body, or query parameters (filters) to       ``ValidationErrors``: ``{field: [msg]}``,
        validate                                               ``[msg]`` or ``{"detail": msg}`` (bad JSON)
401     authentication required (any permission but AllowAny)  ``ErrorDetail``
403     a permission beyond "is authenticated" (roles,         ``ErrorDetail``
        superuser-only writes), or an unsafe method (roles on
        the parent, CSRF for session clients)
404     a path or query parameter: what it names does not      ``ErrorDetail``
        exist or is another advertiser's (never leak
        existence), or the ``page`` is past the end
409     a change (POST, PUT, PATCH, DELETE) to an existing     ``ErrorDetail``
        object (a path parameter): its state may refuse it
        (archived is final, a rule with history, an accepted
        recommendation, a job no longer awaiting confirmation)
413     a request body: RequestSizeLimitMiddleware refuses it  ``RequestTooLarge`` (``limit_bytes``)
        by Content-Length before anything reads it
415     a request body in a media type the view cannot parse   ``ErrorDetail``
429     the view has throttles                                 ``ErrorDetail``
======  =====================================================  =========================================

A conflict on a collection (an idempotency key reused with another body on POST) is declared by
its view with ``extend_schema(responses={409: …})``. A code an operation declares itself (e.g. a
400 or 409 with its own body) is kept as it is.

Error bodies are always JSON: DRF renders exceptions with the view's JSON renderer, the size limit
answers with a JsonResponse, and Django's own 400 and 404 (a URL no route matches, such as a
malformed id, or a multipart body with too many parts) are JSON under /api/ (backend/api/errors.py).
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework.permissions import AllowAny, IsAuthenticated

ERROR_MEDIA_TYPE = "application/json"

ERROR_COMPONENTS = {
    "ErrorDetail": {
        "type": "object",
        "description": "DRF's error shape for authentication, permission, not found, unsupported media "
                       "type, throttling and state conflicts.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    "RequestTooLarge": {
        "type": "object",
        "description": "The request body is larger than this endpoint accepts (refused before it is read).",
        "properties": {"detail": {"type": "string"}, "limit_bytes": {"type": "integer"}},
        "required": ["detail", "limit_bytes"],
    },
    "ValidationErrors": {
        "description": "Refused input, nothing written: messages by field (`non_field_errors` for the "
                       "whole object; nested objects and lists nest the same way), a list of messages, or "
                       "`{\"detail\": message}` when the body cannot be parsed.",
        "anyOf": [
            {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [{"type": "array"}, {"type": "object"}, {"type": "string"}],
                },
            },
            {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
        ],
    },
}

ERRORS = {
    "400": ("ValidationErrors", "Invalid input; nothing was changed."),
    "401": ("ErrorDetail", "Not authenticated: send `Authorization: Token <key>`."),
    "403": ("ErrorDetail", "Authenticated, but the role (or superuser) this needs is missing."),
    "404": ("ErrorDetail", "Not found, or not visible to the caller (another advertiser's objects)."),
    "413": ("RequestTooLarge", "The request body is too large for this endpoint."),
    "409": ("ErrorDetail", "The object's current state does not allow this (e.g. archived is final)."),
    "415": ("ErrorDetail", "The request body's media type is not accepted here."),
    "429": ("ErrorDetail", "Throttled: retry after the `Retry-After` header's seconds."),
    "503": ("ErrorDetail", "The database or Redis is unavailable (backend/unavailable.py): retry after the "
                           "`Retry-After` header's seconds."),
}

# Permissions that decide on authentication alone: with only these, an authenticated caller is never 403.
_AUTHENTICATION_ONLY = (AllowAny, IsAuthenticated)
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self.error_statuses(operation):
            if code not in responses:
                component, description = ERRORS[code]
                responses[code] = {
                    "description": description,
                    "content": {ERROR_MEDIA_TYPE: {"schema": self._error_component(component).ref}},
                }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def error_statuses(self, operation: dict) -> list[str]:
        """The error statuses DRF, our permissions and our middleware can answer for this operation."""
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        permissions = self.view.get_permissions()
        needs_auth = not all(isinstance(p, AllowAny) for p in permissions)
        codes = []
        if has_body or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        if needs_auth:
            codes.append("401")
            if self.method in _UNSAFE or not all(isinstance(p, _AUTHENTICATION_ONLY) for p in permissions):
                codes.append("403")
        if any(p["in"] in ("path", "query") for p in parameters):
            codes.append("404")
        if self.method in _UNSAFE and any(p["in"] == "path" for p in parameters):
            codes.append("409")
        if has_body:
            codes += ["413", "415"]
        if self.view.get_throttles():
            codes.append("429")
        codes.append("503")  # every request may meet a dependency that is away
        return codes

    def _error_component(self, name: str) -> ResolvedComponent:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name,
                                      schema=ERROR_COMPONENTS[name])
        self.registry.register_on_missing(component)
        return component
