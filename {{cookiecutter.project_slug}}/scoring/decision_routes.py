"""POST /classify and /classify_batch, answered in front of BentoML's per-request machinery.

BentoML 1.4.40 sends every request through its server-wide middleware (metrics, tracing checks, timeout,
concurrency limit, context) and then its API machinery (IO descriptors, method binding, its own validation
and answer paths), which cost a one-record request several times the decision itself. This middleware,
in front of BentoML's (bentoml_fixes.add_outermost_middleware), answers the decision routes with the
service's own request models and `decide`, keeping what BentoML's layers did in a lean form: JSON only, a
bounded body, a concurrency limit answered with 429 and Retry-After, bounded error bodies, one log line
per rejection without values, and BentoML's request metrics under their own names. Every other request
(health, metrics, the API page) goes on to BentoML.
"""

import logging
import time
from collections.abc import Callable

import bentoml
from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from scoring.middleware import send_error, send_json
from scoring.request_metrics import RequestMetrics

MAX_PROBLEMS = 20  # problems listed in a 400 answer; the count says how many there were
MAX_LOGGED_PROBLEMS = 10  # a log line stays one short line
MAX_KEY_CHARS = 64  # a reported JSON key is cut to this length: keys are the client's, of any length

logger = logging.getLogger(__name__)


class TooLarge(Exception):
    pass


class DecisionRoutes:
    """`routes` maps each path to the function turning a request body into its records (ValidationError
    naming each problem) and whether the path answers one decision or a list; `excluded`, the columns
    contract.yaml leaves out, with why (a whole row of the data posted as it is has them)."""

    def __init__(
        self,
        app: ASGIApp,
        routes: dict[str, tuple[Callable[[bytes], list[dict]], bool]],
        max_body_bytes: int,
        max_concurrency: int,
        max_uploads: int,
        retry_after: int,
        metrics: bool,
        excluded: dict[str, str],
    ) -> None:
        self.app, self.routes, self.max_body_bytes, self.excluded = app, routes, max_body_bytes, excluded
        self.max_concurrency, self.max_uploads, self.retry_after = max_concurrency, max_uploads, str(retry_after)
        self.uploading = 0  # bodies arriving: bounded apart, so that slow uploads hold no decision's place
        self.counting, self.metrics = metrics, None  # created on the first request, as BentoML's
        self.in_flight = 0
        self._decide: Callable[[list[dict]], list[dict]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (route := self.routes.get(scope["path"])) is None:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        if self.counting:
            self.metrics = self.metrics or RequestMetrics()
            self.metrics.started(scope["path"])
        status = 500  # should `answer` raise: Starlette's ServerErrorMiddleware answers 500
        try:
            status = await self.answer(route, scope, receive, send)
        finally:
            if self.metrics:
                self.metrics.finished(scope["path"], status, time.perf_counter() - started)

    async def answer(self, route, scope: Scope, receive: Receive, send: Send) -> int:
        """The answer's status (0: the client left before sending its whole body)."""
        content_type, length, chunked = _headers(scope)
        # Refused unread, a body would be read as the next request's: the connection is closed instead.
        unread = [("connection", "close")] if chunked or length not in (None, "0") else []
        if scope["method"] != "POST":
            return await send_error(send, 405, "Method Not Allowed", "use POST", [("allow", "POST"), *unread])
        if content_type.split(";")[0].strip().lower() != "application/json":
            detail = "Content-Type must be application/json"
            return await send_error(send, 415, "Unsupported Media Type", detail, unread)
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            return await self.too_large(send)  # before reading a byte: no "100 Continue" is sent either
        if self.uploading >= self.max_uploads:
            return await self.busy(send, unread)
        self.uploading += 1
        try:  # in bounded time: bentoml_fixes.close_slow_connections
            body = await read_body(receive, self.max_body_bytes)
        except TooLarge:
            return await self.too_large(send)
        finally:
            self.uploading -= 1
        if body is None:
            return 0
        if self.in_flight >= self.max_concurrency:
            return await self.busy(send, [])
        self.in_flight += 1
        try:
            return await self.decide(route, body, scope, send)
        finally:
            self.in_flight -= 1

    async def decide(self, route, body: bytes, scope: Scope, send: Send) -> int:
        read_records, single = route
        try:
            records = read_records(body)
        except ValidationError as error:
            return await self.invalid(scope, send, error)
        if self._decide is None:  # the service instance exists once the worker has started
            self._decide = bentoml.get_current_service().decide
        decisions = self._decide(records)
        return await send_json(send, 200, decisions[0] if single else decisions)

    async def busy(self, send: Send, unread: list[tuple[str, str]]) -> int:
        detail = f"the service is busy: retry after {self.retry_after} s"
        return await send_error(send, 429, "Overloaded", detail, [("retry-after", self.retry_after), *unread])

    async def too_large(self, send: Send) -> int:
        # Connection: close makes the server drop the connection instead of reading the rest.
        detail = f"request body over {self.max_body_bytes} bytes"
        return await send_error(send, 413, "Content Too Large", detail, [("connection", "close")])

    async def invalid(self, scope: Scope, send: Send, error: ValidationError) -> int:
        problems = error.errors(include_url=False, include_context=False, include_input=False)
        for problem in problems[:MAX_PROBLEMS]:
            if problem["type"] == "extra_forbidden" and (why := self.excluded.get(problem["loc"][-1])):
                problem["msg"] = f"Not an input: contract.yaml excludes this column ({why})"
            problem["loc"] = [_cut(part) for part in problem["loc"]]
        logged = ", ".join(map(_logged, problems[:MAX_LOGGED_PROBLEMS]))
        more = f" and {len(problems) - MAX_LOGGED_PROBLEMS} more" if len(problems) > MAX_LOGGED_PROBLEMS else ""
        logger.warning("rejected %s %s: %s%s", scope["method"], scope["path"], logged, more)
        listed = f" (the first {MAX_PROBLEMS} listed)" if len(problems) > MAX_PROBLEMS else ""
        answer = {"error": f"{len(problems)} problem(s) with the request{listed}", "detail": problems[:MAX_PROBLEMS]}
        return await send_json(send, 400, answer)


def _headers(scope: Scope) -> tuple[str, str | None, bool]:
    """The request's Content-Type, Content-Length and whether its body is chunked."""
    content_type, length, chunked = "", None, False
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            length = value.decode("latin-1")
        elif name == b"transfer-encoding":
            chunked = True
    return content_type, length, chunked


def _logged(problem: dict) -> str:
    """A problem for the log: its type and where; an unknown key, the client's own text, is not written."""
    where = [*problem["loc"][:-1], "<unknown key>"] if problem["type"] == "extra_forbidden" else problem["loc"]
    return f"{problem['type']}@{'.'.join(map(str, where))}"


async def read_body(receive: Receive, max_bytes: int) -> bytes | None:
    """The whole body (None if the client left first); TooLarge past `max_bytes`, counted as it arrives (a
    chunked body has no Content-Length), so the worker never holds more."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise TooLarge
        if not message.get("more_body", False):
            return b"".join((*chunks, chunk)) if chunks else chunk  # a small body comes whole, in one message
        chunks.append(chunk)


def _cut(part: str | int) -> str | int:
    return part[:MAX_KEY_CHARS] + "..." if isinstance(part, str) and len(part) > MAX_KEY_CHARS else part
