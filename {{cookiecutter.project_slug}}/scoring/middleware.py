"""ASGI middleware for what BentoML 1.4 gets wrong besides the decision routes (scoring/decision_routes.py):

- UnknownPaths: 404 for paths no route serves, before BentoML's metrics see them (its metrics label
  requests with the raw path: each scanner request to a new path made new series, for ever);
- OpenAPIDocument: /docs.json valid for the version it declares, with the errors really sent, and the API
  page at / naming the service, without BentoML's Google Tag Manager.
"""

import html
import json
import re
import stat
from collections.abc import Iterable
from pathlib import Path

import _bentoml_impl.server
import pydantic_core
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
}


async def send_json(send: Send, status: int, answer, headers: Iterable[tuple[str, str]] = ()) -> int:
    """`answer` (dicts, lists, strings, numbers) written by pydantic's core in one call; the status sent."""
    return await send_bytes(send, status, pydantic_core.to_json(answer), b"application/json", headers)


async def send_bytes(
    send: Send, status: int, body: bytes, content_type: bytes, headers: Iterable[tuple[str, str]] = ()
) -> int:
    """An answer of `body`, whole; the status sent."""
    raw_headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body))]
    raw_headers += [(name.encode(), value.encode()) for name, value in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def send_error(send: Send, status: int, error: str, detail: str, headers: Iterable[tuple[str, str]] = ()) -> int:
    return await send_json(send, status, {"error": error, "detail": detail}, headers)


class UnknownPaths:
    """Must wrap BentoML's own middleware (scoring.bentoml_fixes.add_outermost_middleware). A path under a
    static folder BentoML mounts is known only where it names a file there: every other path under the folder
    reached BentoML's metrics as a series of its own."""

    KNOWN_MAX = 1024  # a Mount serves endless paths: remember only so many

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.known: set[str] = set()  # paths a route serves: matching every route again would cost each request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] == "http" and path not in self.known and (routes := getattr(scope.get("app"), "routes", None)):
            if not any(_serves(route, scope) for route in routes):
                return await send_error(send, 404, "Not Found", "no such path; the API is described at /docs.json")
            if len(self.known) < self.KNOWN_MAX:
                self.known.add(path)
        await self.app(scope, receive, send)


def _serves(route, scope: Scope) -> bool:
    match, child = route.matches(scope)
    if match is Match.NONE:
        return False
    if isinstance(route, Mount) and isinstance(route.app, StaticFiles):
        _, found = route.app.lookup_path(route.app.get_path({**scope, **child}))  # as StaticFiles finds it
        return found is not None and stat.S_ISREG(found.st_mode)
    return True


class OpenAPIDocument:
    """Serves /docs.json: BentoML's document declared as OpenAPI 3.1 (its schemas are JSON Schema 2020-12,
    which 3.0, the version BentoML declares, does not allow), request bodies from the service's own
    pydantic models (BentoML's flattened copy drops `null` from nullable fields), every error the API
    answers with, with the bodies really sent, this service's `info` (BentoML's names no version and
    describes BentoML) and the decision labels in force as the status's values. Serves / too: BentoML's
    API page, titled for this service, without the Google Tag Manager script BentoML puts in it (a
    decision service's page calls no one)."""

    def __init__(self, app: ASGIApp, service, inputs: dict[str, type], info: dict, labels: list[str]) -> None:
        self.app, self.service, self.inputs, self.info, self.labels = app, service, inputs, info, labels
        self._document: bytes | None = None
        self._page = _api_page(info["title"]).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in ("/", "/docs.json") or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        if scope["path"] == "/":
            return await send_bytes(send, 200, self._page, b"text/html; charset=utf-8")
        if self._document is None:
            self._document = json.dumps(self.document()).encode()
        await send_bytes(send, 200, self._document, b"application/json")

    def document(self) -> dict:
        document = json.loads(json.dumps(self.service.openapi_spec.asdict(), default=str))
        document["openapi"] = "3.1.0"
        document["info"] = self.info
        schemas = document["components"]["schemas"]
        schemas["Error"] = ERROR
        schemas["ValidationError"] = VALIDATION_ERROR
        for path, model in self.inputs.items():
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[model.__name__] = schema
            operation = document["paths"][path]["post"]
            operation["requestBody"] = {"required": True, **_json_content(model.__name__)}
            operation["responses"] = {"200": operation["responses"]["200"], **self.errors()}
        schemas["Decision"]["properties"]["status"]["enum"] = self.labels
        return document

    @staticmethod
    def errors() -> dict:
        retry = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
        return {
            "400": {"description": "Invalid: `detail` names each problem", **_json_content("ValidationError")},
            "413": {"description": "The body is too large", **_json_content("Error")},
            "415": {"description": "The body is not JSON (Content-Type)", **_json_content("Error")},
            "429": {"description": "Too many requests at once: retry", "headers": retry, **_json_content("Error")},
        }


def _api_page(title: str) -> str:
    """BentoML's API page (Swagger UI on /docs.json, its files served locally), titled `title`, without its
    Google Tag Manager script and frame."""
    page = (Path(_bentoml_impl.server.__file__).parent / "main-openapi.html").read_text(encoding="utf-8")
    page = re.sub(r"<!-- Google Tag Manager.*?<!-- End Google Tag Manager[^>]*-->", "", page, flags=re.DOTALL)
    page = page.replace("</head>", f"<style>{SHOW_TITLE}</style>\n  </head>", 1)
    return re.sub(r"<title>.*?</title>", lambda _: f"<title>{html.escape(title)}</title>", page, count=1)


# BentoML's page hides the document's title, leaving only its version: the service's name is shown.
SHOW_TITLE = ".info .main .title { visibility: visible; } .info .main .title span { position: static; }"


def _json_content(schema: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


VALIDATION_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "detail": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "loc", "msg"],
                "properties": {
                    "type": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "url": {"type": "string"},
                },
            },
        },
    },
}
