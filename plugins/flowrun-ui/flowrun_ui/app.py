"""The ASGI app: the API, the pages, the event stream and the static files, behind the
guard; every error is ``{"error": "..."}`` with a 4xx status, never a 500 page."""
from __future__ import annotations

import contextlib
import logging
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from flowrun.plugin import StoreError, UsageError, __version__

from flowrun_ui.actions import ApiError
from flowrun_ui.security import Guard

log = logging.getLogger("flowrun_ui")


def make_app(state: Any) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from flowrun_ui.missed import MissedWatch

        state.hub.start()
        missed = MissedWatch(state)  # cron slots nobody started, told as --due would
        missed.start()
        yield
        missed.stop()
        state.hub.stop()

    app = FastAPI(title="flowrun", version=__version__, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="The REST API of `flowrun ui` (API section 9).")
    from flowrun_ui.api import event_stream, make_router, metrics
    from flowrun_ui.pages import make_pages

    app.include_router(make_router(state))
    app.include_router(make_pages(state))
    app.add_api_route("/events", lambda: event_stream(state), include_in_schema=False)
    app.add_api_route("/metrics", lambda: metrics(state), include_in_schema=False)
    _handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return Guard(app, state.token)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        body = {"error": str(exc)} if exc.run_id is None else {"error": str(exc),
                                                               "run_id": exc.run_id}
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _first_problem(exc)}, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(UsageError)
    async def usage(request: Request, exc: UsageError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.exception_handler(StoreError)
    async def store(request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=409)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("flowrun ui: a bug answering %s", request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}): a bug in "
                                      "flowrun-ui; the server's output has the traceback"},
                            status_code=500)


def _first_problem(exc: RequestValidationError) -> str:
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        return f"{where or 'body'}: {error.get('msg', 'invalid')}"
    return "invalid request"


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, saying what this server answers: 400 (not 422) for bad
    input."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        doc.get("components", {}).get("schemas", {}).pop(name, None)
    app.openapi_schema = doc
    return doc
