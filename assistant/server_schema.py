"""What `assistant serve` promises in ``/openapi.json``: the request bodies say what is
accepted (so a request the schema allows is answered, not refused), and every error a route
can give is documented with its one envelope. FastAPI's own 422 is not: the server answers
a request that breaks the schema with 400 and a line naming the field (``on_invalid``)."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel


class ErrorDetail(BaseModel):
    message: str  # one line: the input and the reason, and what to do
    type: str  # the exception's name, or OpenAI's error type
    code: int  # the HTTP status again


class ErrorBody(BaseModel):
    error: ErrorDetail


def _error(why: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": why}


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error("bad input (a field, a date, the question): one line saying which and why"),
    401: _error("missing or wrong API key (only when the server has ASSISTANT_API_KEY)"),
    404: _error("no such document, or no such path"),
    405: _error("the method is not served on this path (the Allow header lists those that are)"),
    413: _error("the request body or an upload is over ASSISTANT_MAX_REQUEST_MB"),
    503: _error("the store, the Chroma server or the LLM backend is unavailable; try again"),
}

# A date as the API takes it (``parse_day``): the JSON Schema format, so clients and
# generators send YYYY-MM-DD.
DAY = {"format": "date", "examples": ["2025-09-22"]}
# A chat request holds at least one user message with some text.
_TEXT = {"type": "string", "pattern": r"\S"}
HAS_A_USER_MESSAGE = {"contains": {
    "type": "object", "required": ["role", "content"],
    "properties": {"role": {"const": "user"}, "content": {"anyOf": [_TEXT, {
        "type": "array", "contains": {"type": "object", "required": ["type", "text"],
                                      "properties": {"type": {"const": "text"},
                                                     "text": _TEXT}}}]}}}}

# An ingest sends at least one file or one address.
AT_LEAST_ONE_SOURCE = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "anyOf": [{"required": [field], "properties": {field: {"type": "array", "minItems": 1}}}
              for field in ("files", "url")]}}}}}


def openapi_without_422(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: FastAPI's schema with its per-route 422 (never sent) left out."""
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema
    return build
