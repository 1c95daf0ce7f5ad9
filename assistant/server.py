"""`assistant serve`: one warm Assistant behind HTTP, a thin layer over the Python API.

- ``/v1/models``, ``/v1/chat/completions``: OpenAI-compatible (see server_openai.py), with
  the verified citations as top-level extension fields.
- ``/api/...``: what chat completions cannot say (ask, search, sources, documents, ingest,
  remove); ``/healthz``; ``/``: the web page.
- Errors are one line in OpenAI's envelope ``{"error": {"message", "type", "code"}}`` with
  the right status: 400 bad input, 401 no or wrong key, 404 unknown document, 413 too
  large, 503 the LLM backend or the store is unavailable.
- Requests run in a thread pool: reads are concurrent; an ingest holds the store's write
  lock while answers go on (each thread reads the last committed state).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import re
import threading
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Iterator

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.answering import MAX_QUESTION_CHARS
from assistant.api import Assistant
from assistant.errors import (AssistantError, ConfigError, LLMError, NotFound, StoreBusy,
                              StoreError, TooLarge)
from assistant.server_openai import add_openai_routes, cited
from assistant.server_schema import AT_LEAST_ONE_SOURCE, DAY, ERRORS, openapi_without_422

DOC_ID = re.compile(r"^[0-9a-f]{16}$")
OPEN_PATHS = {"/", "/healthz", "/favicon.ico"}
# The page's icon: a speech bubble with a quotation mark, as SVG (browsers ask for it).
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="2" y="3" '
           b'width="28" height="21" rx="6" fill="#1a56b8"/><path d="M9 24l-2 6 8-6z" '
           b'fill="#1a56b8"/><text x="16" y="21" font-size="18" text-anchor="middle" '
           b'fill="#fff" font-family="Georgia,serif">&#8220;</text></svg>')


def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": " ".join(message.split()), "type": kind,
                                   "code": status}}, status_code=status)


def status_of(e: AssistantError) -> int:
    if isinstance(e, NotFound):
        return 404
    if isinstance(e, TooLarge):
        return 413
    if isinstance(e, (LLMError, StoreBusy, StoreError)):
        return 503
    return 400


class AskBody(BaseModel):
    model_config = ConfigDict(strict=True)  # a field of the wrong type is refused, not cast
    # Blank and too long are refused by the answerer, which says why in its own words.
    question: str = Field(json_schema_extra={"pattern": r"\S", "minLength": 1,
                                             "maxLength": MAX_QUESTION_CHARS})
    as_of: str | None = Field(None, json_schema_extra=DAY)  # checked by parse_day


# What ``POST /api/ingest`` fetches: web addresses only (never a path on the server).
WEB_ADDRESS = re.compile(r"^https?://[^\s/?#]+")
WebAddress = Annotated[str, Field(json_schema_extra={"pattern": WEB_ADDRESS.pattern})]


def create_app(assistant: Assistant, api_key: str | None = None,
               cors_origins: list[str] | None = None, max_request_mb: float = 30.0,
               host: str = "127.0.0.1") -> FastAPI:
    """The app serving ``assistant``. With ``api_key``, /v1, /api and /mcp need
    ``Authorization: Bearer <key>``. /mcp is the MCP server's streamable HTTP transport."""
    from assistant.mcp_server import build_server, http_routes

    mcp = build_server(assistant)
    mcp_routes = http_routes(mcp, host)
    app = FastAPI(title="assistant", version="0.1.0",
                  description="Answers about your articles with verified citations.",
                  lifespan=lambda _app: mcp.session_manager.run(), responses=ERRORS)
    app.openapi = openapi_without_422(app)  # type: ignore[method-assign]
    app.router.routes.extend(mcp_routes)
    limit = int(max_request_mb * 1e6)
    uploads = assistant.settings.home / "uploads"

    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=cors_origins,
                           allow_methods=["*"], allow_headers=["*"])

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if api_key and request.url.path not in OPEN_PATHS and request.method != "OPTIONS":
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                return error(401, "missing or wrong API key: send Authorization: Bearer "
                             "<ASSISTANT_API_KEY>", "authentication_error")
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > limit:
            return error(413, f"request body is {int(size) / 1e6:.1f} MB, over the "
                         f"{max_request_mb:g} MB limit (ASSISTANT_MAX_REQUEST_MB)")
        return await call_next(request)

    @app.exception_handler(AssistantError)
    async def on_error(request: Request, e: AssistantError) -> JSONResponse:
        return error(status_of(e), str(e), type(e).__name__)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        response = error(e.status_code, f"{request.method} {request.url.path}: {e.detail}")
        response.headers.update(e.headers or {})
        if e.status_code == 405:  # every method of the path, not only the first route's
            response.headers["Allow"] = ", ".join(allowed_methods(app, request))
        return response

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        return error(400, f"bad request: {where}: {first.get('msg', 'invalid')}")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return resources.files("assistant").joinpath("web/index.html").read_text("utf-8")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(FAVICON, media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "documents": assistant.document_count(),
                "backend": assistant.answerer.backend}

    @app.post("/api/ask")
    def ask(body: AskBody) -> dict[str, Any]:
        filters = {"as_of": body.as_of} if body.as_of is not None else {}
        return answer_json(assistant.ask(body.question, **filters))

    @app.get("/api/search")
    def search(q: Annotated[str, Query(max_length=MAX_QUESTION_CHARS)],
               k: Annotated[int, Query(ge=1, le=50)] = 4) -> list[dict[str, Any]]:
        return [{"doc_id": h.chunk.doc_id, "uri": h.uri, "url": h.url, "title": h.title,
                 "published": h.published, "start": h.chunk.start, "end": h.chunk.end,
                 "score": h.score, "text": h.chunk.text} for h in assistant.search(q, k=k)]

    @app.get("/api/sources")
    def sources() -> list[dict[str, Any]]:
        return [r.to_dict() for r in assistant.sources()]

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str) -> dict[str, Any]:
        d = assistant.document(checked_id(doc_id))
        return {"id": d.id, "uri": d.uri, "url": d.url, "title": d.title,
                "published": d.published, "text": d.text}

    @app.delete("/api/documents/{doc_id}")
    def remove(doc_id: str) -> dict[str, Any]:
        d = assistant.remove(checked_id(doc_id))
        return {"removed": {"id": d.id, "uri": d.uri, "title": d.title}}

    @app.post("/api/ingest", openapi_extra=AT_LEAST_ONE_SOURCE,
              responses={200: {"description": "progress events, then the report",
                               "content": {"application/x-ndjson": {}}}})
    def ingest(files: list[UploadFile] = File(default=[]),
               url: list[WebAddress] = Form(default=[])) -> StreamingResponse:
        """Uploaded files and URLs; the response streams progress as JSON lines, then
        ``{"report": ...}``."""
        for u in url:
            if not WEB_ADDRESS.match(u):
                raise ConfigError(f"url {u[:80]!r}: the API fetches web addresses (http:// "
                                  "or https://) only; upload files in the field 'files'")
        sources = [str(save_upload(f, uploads, limit)) for f in files] + list(url)
        if not sources:
            raise ConfigError("send files (multipart field 'files') or URLs (field 'url')")
        return StreamingResponse(ingest_events(assistant, sources),
                                 media_type="application/x-ndjson")

    add_openai_routes(app, assistant)
    return app


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """The methods some route of ``request``'s path serves (for a 405's Allow header)."""
    from starlette.routing import Match, Route

    return sorted({m for r in app.router.routes if isinstance(r, Route) and r.methods
                   and r.matches(request.scope)[0] != Match.NONE for m in r.methods})


def checked_id(doc_id: str) -> str:
    if not DOC_ID.match(doc_id):
        raise NotFound(f"no document with id {doc_id[:40]!r}: ids are 16 hex characters "
                       "(GET /api/sources lists them)")
    return doc_id


def answer_json(answer: Any) -> dict[str, Any]:
    """As ``assistant ask --json``; each citation also says which ``[n]`` it is."""
    out = {**answer.to_dict(), "citations": cited(answer)}
    return {k: out[k] for k in ("answer", "refused", "refusal_reason", "refusal_code",
                                "as_of", "backend", "citations",
                                "timings")}


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def save_upload(f: UploadFile, folder: Path, limit: int) -> Path:
    """Store an upload under ``folder`` with a sanitised name (no path can escape it)."""
    data = f.file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{f.filename}: upload is over the {limit / 1e6:g} MB limit")
    name = _SAFE.sub("_", Path(f.filename or "upload.txt").name).strip("._") or "upload.txt"
    digest = hashlib.sha256(data).hexdigest()[:12]
    path = folder / f"{digest}-{name[-100:]}"
    folder.mkdir(parents=True, exist_ok=True)
    if folder.resolve() not in path.resolve().parents:
        raise ConfigError(f"bad file name {f.filename!r}")
    path.write_bytes(data)
    return path


def ingest_events(assistant: Assistant, sources: list[str]) -> Iterator[bytes]:
    """Run the ingest in a thread; yield its events as JSON lines, then the report."""
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()

    def work() -> None:
        try:
            report = assistant.ingest(
                sources, progress=False, on_event=lambda m: events.put({"event": m}),
                on_progress=lambda d, t, c: events.put({"progress": {
                    "done": d, "total": t, "chunks": c}}))
            events.put({"report": report.to_dict(), "summary": report.summary()})
        except AssistantError as e:
            events.put({"error": {"message": str(e), "code": status_of(e)}})
        finally:
            events.put(None)

    threading.Thread(target=work, daemon=True).start()
    while (item := events.get()) is not None:
        yield (json.dumps(item) + "\n").encode()
