"""The HTTP API: Amazon Personalize's runtime calls (GetRecommendations, GetPersonalizedRanking,
PutEvents) over a workspace's recommenders.

An adapter only: every answer comes from ``oaklake.recommend.service``; this module maps query
strings and bodies onto it, checks the API key and turns every error into one JSON shape,
``{"error": {"code", "message", "hint", …}}``. Handlers are ``async def`` on purpose: scoring a
user is an in-memory, sub-millisecond numpy call, so running it on the event loop is cheaper than
a hop to the thread pool — and it keeps the workspace's DuckDB connection on one thread.

The two GET calls a shop page makes on every view (``/recommendations``, ``/related-items``) are
answered by a small ASGI layer in front of FastAPI (``_FastGets``): FastAPI's dependency solving
and parameter validation cost about as much CPU per request as the scoring itself, and at
hundreds of requests per second on one event loop that CPU is the latency. Their FastAPI routes
stay for /openapi.json and answer through the same function (``_get_answer``).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import oaklake
from oaklake.errors import InvalidInput, OakError, did_you_mean
from oaklake.recommend.promotions import parse_promotions

if TYPE_CHECKING:
    from oaklake.app import Lake
    from oaklake.recommend.service import Service

log = logging.getLogger("oaklake.server")

KEY_HEADER = "X-API-Key"
_FILTER_VALUES_EXAMPLE = '{"GENRE": "\\"Comedy\\",\\"Drama\\""}'
_PROMOTIONS_DOC = (
    'a JSON list of one promotion: [{"name": "in-house", "percentPromotedItems": 20, '
    '"filter": "INCLUDE ItemID WHERE Items.BRAND IN (\\"ours\\")", "filterValues": {}}]'
)
# Personalize's field and parameter names, so that a typo ("userID") is refused instead of
# silently ignored.
_GET_PARAMS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "/recommendations": (
        ("recommender", True, "the recommender's name"),
        ("userId", False, "the user (an unknown user gets popular items)"),
        ("sessionId", False, "an anonymous session's events (no userId yet)"),
        ("numResults", False, "1-500 (default 25)"),
        ("filter", False, "a filter expression (URL-encoded)"),
        ("filterValues", False, "a JSON object: " + _FILTER_VALUES_EXAMPLE),
        ("promotions", False, _PROMOTIONS_DOC),
    ),
    "/related-items": (
        ("recommender", True, "the recommender's name"),
        ("itemId", True, "the item whose related items are wanted"),
        ("userId", False, "for filters on the user's events"),
        ("numResults", False, "1-500 (default 25)"),
        ("filter", False, "a filter expression (URL-encoded)"),
        ("filterValues", False, "a JSON object: " + _FILTER_VALUES_EXAMPLE),
        ("promotions", False, _PROMOTIONS_DOC),
    ),
}
_RANKING_FIELDS = ("recommender", "userId", "sessionId", "inputList", "filter", "filterValues")
_EVENTS_FIELDS = ("trackingId", "sessionId", "userId", "eventList")
_EVENT_FIELDS = (
    "eventType",
    "sentAt",
    "itemId",
    "eventValue",
    "properties",
    "recommendationId",
    "impression",
    "eventId",
    "metricAttribution",
)


class Unauthorized(OakError, PermissionError):
    code = "UNAUTHORIZED"
    http_status = 401


class InvalidRequest(InvalidInput):
    """A request whose shape is wrong (a missing parameter, a body that is not JSON); names the
    field and, for JSON, the line and column."""

    code = "INVALID_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        self.field = field
        self.line = line
        self.column = column
        super().__init__(message, hint=hint, code=code)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.field is not None:
            d["field"] = self.field
        if self.line is not None:
            d.update(line=self.line, column=self.column)
        return d


# -- response shapes (documentation: handlers return JSONResponse directly, unvalidated) -------
class PredictedItem(BaseModel):
    itemId: str
    score: float | None = Field(description="null for ranked items the model does not know")
    reasons: list[str] = Field(
        description='why it is shown: "because you viewed X", "Popular item", "Trending now", …'
    )
    promotionName: str | None = Field(None, description="set on promoted items only")


class Recommendations(BaseModel):
    itemList: list[PredictedItem]
    recommendationId: str


class Ranking(BaseModel):
    personalizedRanking: list[PredictedItem]
    recommendationId: str


class EventsAccepted(BaseModel):
    accepted: int = Field(description="events validated and queued for the interactions table")
    applied: int = Field(description="(event, recommender) pairs applied to a user's state")


class ErrorDetail(BaseModel):
    code: str
    message: str
    hint: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input; `error.code` says which"},
    401: {"model": ErrorBody, "description": "Missing or wrong API key"},
    404: {"model": ErrorBody, "description": "Unknown or untrained recommender"},
}

_STRING = {"type": "string"}
_FILTER_VALUES_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "string"},
    "description": "parameter name -> quoted, comma-separated values, e.g. "
    + _FILTER_VALUES_EXAMPLE,
}
_RANKING_BODY = {
    "type": "object",
    "required": ["recommender", "inputList"],
    "properties": {
        "recommender": _STRING,
        "userId": _STRING,
        "sessionId": {"type": "string", "description": "an anonymous session instead of userId"},
        "inputList": {"type": "array", "items": _STRING, "maxItems": 500},
        "filter": {"type": "string", "description": "a filter expression"},
        "filterValues": _FILTER_VALUES_SCHEMA,
    },
}
_EVENTS_BODY = {
    "type": "object",
    "required": ["sessionId", "eventList"],
    "properties": {
        "trackingId": {
            "type": "string",
            "description": "the interactions table (DB.TABLE); optional when only one exists",
        },
        "sessionId": _STRING,
        "userId": _STRING,
        "eventList": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["eventType", "sentAt"],
                "properties": {
                    "eventType": _STRING,
                    "sentAt": {
                        "anyOf": [{"type": "number"}, {"type": "string", "format": "date-time"}],
                        "description": "Unix seconds (or milliseconds), or ISO 8601",
                    },
                    "itemId": _STRING,
                    "eventValue": {"type": "number"},
                    "properties": {"anyOf": [{"type": "object"}, {"type": "string"}]},
                    "recommendationId": _STRING,
                    "impression": {"type": "array", "items": _STRING},
                    "eventId": _STRING,
                },
            },
        },
    },
}


def _body_doc(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _query_doc(path: str) -> dict[str, Any]:
    params = []
    for name, required, description in _GET_PARAMS[path]:
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 1, "maximum": 500, "default": 25}
            if name == "numResults"
            else {"type": "string"}
        )
        params.append(
            {
                "name": name,
                "in": "query",
                "required": required,
                "description": description,
                "schema": schema,
            }
        )
    return {"parameters": params}


# -- the app -----------------------------------------------------------------------------------
def create_app(
    lake: Lake,
    *,
    api_key: str | None,
    service: Service | None = None,
    preload: bool = False,
    reload_interval: float = 0.0,
) -> FastAPI:
    """The API over ``lake``'s recommenders. ``api_key=None`` serves without authentication (the
    caller decided that, e.g. ``oaklake serve --no-auth``). ``preload`` loads every trained
    recommender at start-up, so the first request does not pay for it; ``reload_interval``
    (seconds, 0 = never) is how often the served recommenders are checked for a newer trained
    version, which then replaces the old one without a restart. The service (by default
    the lake's own, ``lake.rec_service()``) has its event writers flushed and closed when the app
    shuts down."""
    svc: Service = service if service is not None else lake.rec_service()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if preload:
            _preload(lake, svc)
        svc.watch_versions(reload_interval)
        try:
            yield
        finally:
            svc.close()

    app = FastAPI(
        title="oaklake recommendations",
        version=oaklake.__version__,
        description="Amazon Personalize's runtime API (recommendations, related items, "
        "personalized ranking, events) over a local oaklake workspace.",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: only the JSON spec is served
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.lake = lake
    app.state.service = svc
    _install_errors(app)
    secured = [Depends(_key_check(api_key))] if api_key is not None else []

    @app.get("/health", tags=["server"], summary="Liveness (no key needed)")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "loaded": sorted(svc.runtimes)})

    @app.get(
        "/recommenders",
        tags=["server"],
        summary="The workspace's recommenders and their latest versions",
        dependencies=secured,
        responses=_ERRORS,
    )
    async def recommenders() -> JSONResponse:
        return JSONResponse({"recommenders": _list(lake, svc)})

    @app.get(
        "/recommendations",
        tags=["runtime"],
        summary="GetRecommendations: items for a user",
        response_model=Recommendations,
        dependencies=secured,
        responses=_ERRORS,
        openapi_extra=_query_doc("/recommendations"),
    )
    async def recommendations(request: Request) -> JSONResponse:
        return JSONResponse(_get_answer(svc, "/recommendations", request.url.query))

    @app.get(
        "/related-items",
        tags=["runtime"],
        summary="GetRecommendations for an item (RELATED_ITEMS recipes)",
        response_model=Recommendations,
        dependencies=secured,
        responses=_ERRORS,
        openapi_extra=_query_doc("/related-items"),
    )
    async def related_items(request: Request) -> JSONResponse:
        return JSONResponse(_get_answer(svc, "/related-items", request.url.query))

    @app.post(
        "/personalized-ranking",
        tags=["runtime"],
        summary="GetPersonalizedRanking: the caller's items in the user's order",
        response_model=Ranking,
        dependencies=secured,
        responses=_ERRORS,
        openapi_extra=_body_doc(_RANKING_BODY),
    )
    async def personalized_ranking(request: Request) -> JSONResponse:
        body = await _json_object(request, _RANKING_FIELDS)
        name = _string(body, "recommender", required=True)
        items = body.get("inputList")
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            raise InvalidRequest(
                "inputList must be a list of item ids (strings)",
                field="inputList",
                hint='e.g. "inputList": ["i1", "i2"]',
            )
        values = body.get("filterValues")
        answer = svc.runtime(str(name)).rank(
            _string(body, "userId"),
            items,
            session_id=_string(body, "sessionId"),
            filter=_string(body, "filter"),
            filter_values=_filter_values(values) if isinstance(values, str) else values,
        )
        return JSONResponse(answer)

    @app.post(
        "/events",
        tags=["runtime"],
        summary="PutEvents: record events; the user's next results reflect them at once",
        response_model=EventsAccepted,
        dependencies=secured,
        responses=_ERRORS,
        openapi_extra=_body_doc(_EVENTS_BODY),
    )
    async def events(request: Request) -> JSONResponse:
        body = await _json_object(request, _EVENTS_FIELDS)
        listed = body.get("eventList")
        if isinstance(listed, list):
            for n, event in enumerate(listed):
                if isinstance(event, dict):
                    _refuse_unknown(event, _EVENT_FIELDS, f"eventList[{n}].")
        return JSONResponse(svc.put_events(body))

    app.add_middleware(_FastGets, service=svc, api_key=api_key)
    return app


# -- the hot path --------------------------------------------------------------------------------
_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_ASGI = Callable[
    [_Scope, Callable[[], Awaitable[_Message]], Callable[[_Message], Awaitable[None]]],
    Awaitable[None],
]
_JSON_HEADER = (b"content-type", b"application/json")


class _FastGets:
    """GET /recommendations and /related-items straight from the ASGI scope: key check, query
    string, answer, JSON. Everything else (other paths and methods) goes on to FastAPI, and so
    does any unexpected exception, to the app's one crash handler."""

    def __init__(self, app: _ASGI, service: Service, api_key: str | None) -> None:
        self.app = app
        self.service = service
        self.expected = api_key.encode("utf-8") if api_key is not None else None

    async def __call__(
        self,
        scope: _Scope,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or scope["method"] != "GET" or path not in _GET_PARAMS:
            await self.app(scope, receive, send)
            return
        extra: list[tuple[bytes, bytes]] = []
        try:
            if self.expected is not None:
                _check_key(_key_from(scope["headers"]), self.expected)
            query = scope["query_string"].decode("latin-1")
            status, body = 200, _dumps(_get_answer(self.service, path, query))
        except OakError as e:
            status, body = e.http_status, _dumps({"error": e.to_dict()})
            if status == 401:
                extra.append((b"www-authenticate", b"Bearer"))
        headers = [_JSON_HEADER, (b"content-length", str(len(body)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _dumps(content: Any) -> bytes:
    """JSON as Starlette's JSONResponse renders it."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _key_from(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key from X-API-Key, else from ``Authorization: Bearer KEY`` (as the routes' security
    schemes read them)."""
    bearer = None
    for name, value in headers:
        if name == b"x-api-key" and value:  # an empty header counts as none
            return value.decode("latin-1")
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials:
                bearer = credentials
    return bearer


def _get_answer(svc: Service, path: str, query: str) -> dict[str, Any]:
    """A GET call's answer from its raw query string (last value wins for a repeated name)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    documented = _GET_PARAMS[path]
    allowed = tuple(name for name, _, _ in documented)
    for key in params:
        if key not in allowed:
            raise InvalidRequest(
                f"unknown query parameter {key}",
                field=key,
                hint=did_you_mean(key, allowed) or "the parameters are " + ", ".join(allowed),
            )
    for name, required, _ in documented:
        if required and not params.get(name):
            raise InvalidRequest(
                f"query parameter {name} is required",
                field=name,
                hint="/openapi.json describes every parameter",
            )
    n = _whole(params.get("numResults"), "numResults", 25)
    values = _filter_values(params.get("filterValues"))
    promotion = parse_promotions(params.get("promotions"))
    runtime = svc.runtime(params["recommender"])
    if path == "/recommendations":
        return runtime.recommend(
            params.get("userId") or None,
            n,
            session_id=params.get("sessionId") or None,
            filter=params.get("filter"),
            filter_values=values,
            promotion=promotion,
        )
    return runtime.related(
        params["itemId"],
        n,
        user_id=params.get("userId") or None,
        filter=params.get("filter"),
        filter_values=values,
        promotion=promotion,
    )


def _whole(text: str | None, name: str, default: int) -> int:
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidRequest(
            f"{name} must be a whole number, got {text!r}",
            field=name,
            hint="/openapi.json describes every parameter",
        ) from None


# -- auth ----------------------------------------------------------------------------------------
_key_header = APIKeyHeader(name=KEY_HEADER, auto_error=False, scheme_name="apiKey")
_bearer = HTTPBearer(auto_error=False, scheme_name="bearer")


def _key_check(api_key: str) -> Any:
    expected = api_key.encode("utf-8")

    async def require_key(
        key: Annotated[str | None, Security(_key_header)] = None,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    ) -> None:
        given = key if key is not None else (bearer.credentials if bearer is not None else None)
        _check_key(given, expected)

    return require_key


def _check_key(given: str | None, expected: bytes) -> None:
    hint = f"send the key in the {KEY_HEADER} header (or Authorization: Bearer KEY)"
    if not given:
        raise Unauthorized("this API needs an API key", hint=hint)
    # compare_digest takes as long for a wrong first byte as for a wrong last one.
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected):
        raise Unauthorized("wrong API key", hint=hint)


# -- errors --------------------------------------------------------------------------------------
def error_response(error: OakError) -> JSONResponse:
    """The one mapping from an error to an HTTP answer."""
    headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
    return JSONResponse({"error": error.to_dict()}, status_code=error.http_status, headers=headers)


def _install_errors(app: FastAPI) -> None:
    async def on_oak_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OakError)
        return error_response(exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_from_validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            error: OakError = OakError(
                f"no such endpoint: {request.method} {request.url.path}",
                code="NOT_FOUND",
                hint="/openapi.json lists the endpoints",
            )
        elif exc.status_code == 405:
            error = OakError(
                f"{request.method} is not allowed on {request.url.path}",
                code="METHOD_NOT_ALLOWED",
                hint="/openapi.json lists each endpoint's method",
            )
        else:
            error = OakError(str(exc.detail), code="INVALID_REQUEST")
        error.http_status = exc.status_code
        return error_response(error)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        error = OakError(
            "the server failed to answer this request",
            code="INTERNAL_ERROR",
            hint="this is a bug in oaklake: the server's log has the details",
        )
        error.http_status = 500
        return error_response(error)

    app.add_exception_handler(OakError, on_oak_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def _from_validation(exc: RequestValidationError) -> InvalidRequest:
    """FastAPI's validation error (a missing or mistyped parameter) in our shape, naming it."""
    first = dict(exc.errors()[0]) if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ())]
    where = loc[0] if loc else "request"
    name = ".".join(loc[1:]) or where
    kind = str(first.get("type", ""))
    place = {"query": "query parameter", "header": "header", "body": "body field"}.get(where, "")
    if kind == "missing":
        message = f"{place} {name} is required".strip()
    elif kind.startswith("int_"):
        message = f"{name} must be a whole number, got {first.get('input')!r}"
    else:
        message = f"{name}: {first.get('msg', 'invalid value')}"
    return InvalidRequest(message, field=name, hint="/openapi.json describes every parameter")


# -- request helpers -----------------------------------------------------------------------------
async def _json_object(request: Request, allowed: tuple[str, ...]) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("the request body is empty; send a JSON object", field="body")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidRequest("the request body is not UTF-8 text", field="body") from None
    except json.JSONDecodeError as e:
        raise InvalidRequest(
            f"the request body is not valid JSON: {e.msg}",
            field="body",
            line=e.lineno,
            column=e.colno,
        ) from None
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", field="body")
    _refuse_unknown(body, allowed, "")
    return body


def _refuse_unknown(body: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in body:
        if key not in allowed:
            raise InvalidRequest(
                f"unknown field {where}{key}",
                field=f"{where}{key}",
                hint=did_you_mean(key, allowed) or "the fields are " + ", ".join(allowed),
            )


def _string(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"{name} is required", field=name)
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string, got {type(value).__name__}", field=name)
    return value


def _filter_values(text: str | None) -> dict[str, Any] | None:
    """``filterValues`` arrives as a JSON object in a query string, as in Personalize's API."""
    if text is None or not text.strip():
        return None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidRequest(
            f"filterValues is not valid JSON: {e.msg} at character {e.pos + 1}",
            field="filterValues",
            code="REC_FILTER_VALUES",
            hint="a JSON object, e.g. " + _FILTER_VALUES_EXAMPLE,
        ) from None
    if not isinstance(values, dict):
        raise InvalidRequest(
            "filterValues must be a JSON object",
            field="filterValues",
            code="REC_FILTER_VALUES",
            hint="e.g. " + _FILTER_VALUES_EXAMPLE,
        )
    return values


# -- the workspace -------------------------------------------------------------------------------
def _list(lake: Lake, svc: Service) -> list[dict[str, Any]]:
    out = []
    for rec in lake.rec_list():
        described = lake.rec_describe(rec.name)
        latest = described["versions"][-1] if described["versions"] else None
        loaded = svc.runtimes.get(rec.name)
        out.append(
            {
                "name": rec.name,
                "recipe": rec.recipe,
                "interactions": rec.interactions,
                "users": rec.users,
                "items": rec.items,
                "latestVersion": latest["version"] if latest else None,
                "trainedAt": latest["trained_at"] if latest else None,
                "servedVersion": loaded.version.version if loaded else None,
            }
        )
    return out


def _preload(lake: Lake, svc: Service) -> None:
    for rec in lake.rec_list():
        try:
            svc.runtime(rec.name)
        except OakError as e:
            log.warning("recommender %s is not served yet: %s", rec.name, e.message)
