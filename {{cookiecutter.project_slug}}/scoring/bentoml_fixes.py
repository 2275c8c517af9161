"""Fixes, applied from the project, for what BentoML 1.4.40 gets wrong as a server (see the README's
"Security and limits"). Each is reported upstream; drop it once a BentoML release fixes it.

service.py calls them at import: `bentoml serve` imports it, and so does each HTTP worker, after
BentoML has configured logging and before it builds the app and the uvicorn server.
"""

import asyncio
import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time

import uvicorn
import uvicorn.protocols.http.auto
from _bentoml_impl.server.app import ServiceAppFactory
from _bentoml_sdk.io_models import IOMixin
from _bentoml_sdk.method import APIMethod
from bentoml._internal.configuration.containers import BentoMLContainer
from bentoml._internal.server.http import instruments, traffic
from pydantic import ValidationError
from starlette.middleware import Middleware

IN_WORKER = getattr(sys.modules["__main__"].__spec__, "name", "") == "_bentoml_impl.worker.service"
_OUTERMOST: list[tuple[object, Middleware]] = []  # (bentoml service, middleware)


def add_outermost_middleware(service, middleware: type, **options) -> None:
    """Like `add_asgi_middleware`, but in front of BentoML's own middleware (metrics, tracing, access
    log, timeout, max_concurrency), which user middleware otherwise sits behind."""
    if not _OUTERMOST:
        bentoml_middleware = ServiceAppFactory.middlewares.fget

        def middlewares(factory: ServiceAppFactory) -> list[Middleware]:
            ours = [entry for service, entry in _OUTERMOST if service is factory.service]
            return [*ours, *bentoml_middleware(factory)]

        ServiceAppFactory.middlewares = property(middlewares)
    _OUTERMOST.append((service, Middleware(middleware, **options)))


def log_rejections_in_one_line() -> None:
    """A rejected request is logged as one line: error types and field names, never the values.

    BentoML logs a full traceback for each 400, whose pydantic message quotes every value of the
    request (`input_value=...`), unknown fields included, and writes JSON keys and URL paths as they
    come: a line break in either forged a log line."""
    logging.getLogger("bentoml._internal.server.http_app").addFilter(_one_line_rejections)
    logging.getLogger("uvicorn.error").propagate = False  # BentoML also routes it to root: each line twice
    for logger in ("", "bentoml", "uvicorn.error"):
        for handler in logging.getLogger(logger).handlers:
            handler.addFilter(_escape_control_characters)


def _one_line_rejections(record: logging.LogRecord) -> bool:
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, ValidationError):
        problems = [f"{problem['type']}@{'.'.join(map(str, problem['loc']))}" for problem in error.errors()[:10]]
        path, method = record.args if isinstance(record.args, tuple) and len(record.args) == 2 else ("?", "?")
        record.msg, record.args = "rejected %s %s: %s", (method, path, ", ".join(problems))
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
    return True


def _escape_control_characters(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    if any(ord(character) < 32 or 127 <= ord(character) < 160 or character in "\u2028\u2029" for character in message):
        record.msg, record.args = json.dumps(message)[1:-1], None  # \n, \u0085...: still one line
    return True


def exit_with_parent() -> None:
    """A worker stops when `bentoml serve` dies, even by kill -9: BentoML's left it serving, holding the port."""
    if not IN_WORKER:
        return
    parent = os.getppid()
    if sys.platform.startswith("linux"):  # the kernel sends SIGTERM the moment the parent dies
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:  # elsewhere, or should the signal be missed: notice being re-parented
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def bound_shutdown(seconds: int) -> None:
    """On SIGTERM, wait at most `seconds` for requests in flight. BentoML sets no bound (uvicorn's
    timeout_graceful_shutdown=None): a half-sent request held shutdown past Kubernetes' grace period."""
    configure = uvicorn.Config.__init__

    def __init__(self, *args, **kwargs) -> None:
        if kwargs.get("timeout_graceful_shutdown") is None:
            kwargs["timeout_graceful_shutdown"] = seconds
        configure(self, *args, **kwargs)

    uvicorn.Config.__init__ = __init__


def close_idle_connections(seconds: float) -> None:
    """Close, with 408, connections that send no complete request head within `seconds` of connecting, or
    between `seconds` and twice that after the last answer. Neither uvicorn nor BentoML bound it: slow
    sockets were held for ever. (A slow body is bounded by BentoML's traffic timeout.) One timer a
    connection, checking every `seconds` for a new request: re-arming a timer on each answer cost every
    request a few microseconds."""
    protocol = uvicorn.protocols.http.auto.AutoHTTPProtocol  # h11, or httptools when installed

    class HeadTimeout(protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._head_timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._head_cycle = self.cycle  # a new request head makes a new cycle
            self._head_timer = self.loop.call_later(seconds, self._check)

        def _check(self) -> None:
            if self.transport.is_closing():
                return
            if self.cycle is self._head_cycle and (self.cycle is None or self.cycle.response_complete):
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                self.transport.close()
            else:
                self._arm()

    uvicorn.protocols.http.auto.AutoHTTPProtocol = HeadTimeout


def accept_waiting_connections() -> None:
    """Accept every waiting connection at each turn of the event loop. uvloop (libuv since 1.45) accepts one
    a turn, and each turn serves every connection already accepted: when 64 clients connected at once
    to a busy worker, the last waited 63 turns for its first answer (1.8 s on a slow day, 0.4 s on a
    fast one, where the other answers took 50 ms). asyncio's own loop accepts them all, as this does."""
    import uvicorn.loops.uvloop
    import uvloop

    class EagerAcceptLoop(uvloop.Loop):
        async def create_server(self, protocol_factory, host=None, port=None, *, sock=None, ssl=None, **options):
            if sock is None or ssl is not None:  # BentoML's workers get a listening socket, without TLS here
                return await super().create_server(protocol_factory, host, port, sock=sock, ssl=ssl, **options)
            return _EagerAcceptServer(self, protocol_factory, sock)

    uvicorn.loops.uvloop.uvloop_loop_factory = lambda use_subprocess=False: EagerAcceptLoop


class _EagerAcceptServer:
    """The part of asyncio.Server that uvicorn uses (close, wait_closed, sockets), accepting all at once."""

    RETRY_SECONDS = 1  # after running out of file descriptors, as asyncio's loop does
    MOST_A_TURN = 100  # as asyncio's loop (its default backlog): a flood of connections cannot hold the loop

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol_factory, sock) -> None:
        self._loop, self._protocol_factory, self.sockets = loop, protocol_factory, (sock,)
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._accept_waiting)

    def _accept_waiting(self) -> None:
        [sock] = self.sockets
        for _ in range(self.MOST_A_TURN):
            try:
                connection, _ = sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as error:  # out of file descriptors: let connections wait a while
                logging.getLogger(__name__).warning("cannot accept a connection: %s", error)
                self._loop.remove_reader(sock.fileno())
                self._loop.call_later(self.RETRY_SECONDS, self._loop.add_reader, sock.fileno(), self._accept_waiting)
                return
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as uvloop's own server does
            self._loop.create_task(self._serve(connection))

    async def _serve(self, connection) -> None:
        try:
            await self._loop.connect_accepted_socket(self._protocol_factory, connection)
        except OSError:  # the client left before its connection was set up
            connection.close()

    def close(self) -> None:
        [sock] = self.sockets
        self._loop.remove_reader(sock.fileno())

    async def wait_closed(self) -> None:
        return


def give_each_worker_its_own_socket(workers: int) -> None:
    """With several workers, each accepts connections on a listening socket of its own (SO_REUSEPORT), and
    the kernel spreads new connections over them. BentoML's workers share one socket, and the worker
    awake first takes every connection waiting: 16 connections made at once to two workers all landed
    on one in 6 starts of 6, the other idle for as long as they lived (a gateway's pool: for ever).

    circus, which starts the workers, opens a socket for each worker where the socket asks for
    SO_REUSEPORT, but looks for it only in a worker's command (BentoML names it in the arguments), and
    builds it from a configuration that only sockets read from a file have: opened here, like the
    shared socket, for each worker circus starts."""
    if workers < 2 or IN_WORKER or not hasattr(socket, "SO_REUSEPORT"):
        return
    from _bentoml_impl.server.serving import API_SERVER_NAME
    from circus.process import Process
    from circus.sockets import CircusSocket

    create, sockets_of = CircusSocket.__init__, Process._get_sockets_fds

    def __init__(self, **options) -> None:
        # BentoML's API socket on a given port (port 0 would give each worker a port of its own)
        shared = options.get("name") == API_SERVER_NAME and options.get("port") and "so_reuseport" not in options
        create(self, **options, **({"so_reuseport": True} if shared else {}))
        if shared:
            _check_port_is_free(self)

    def _get_sockets_fds(self) -> dict[str, int]:
        fds = sockets_of(self)
        # (`is not None`: a watcher is as long as its processes, so the first worker's is false)
        shared = (self.watcher.sockets or {}).get(API_SERVER_NAME) if self.watcher is not None else None
        if shared is not None and shared.so_reuseport and fds.get(API_SERVER_NAME) == shared.fileno():
            own = CircusSocket(name=API_SERVER_NAME, host=shared.host, port=shared.port, family=shared.family,
                               backlog=shared.backlog, so_reuseport=True)  # fmt: skip
            own.bind_and_listen()
            self._sockets.append(own)  # circus closes its copy once the worker has started
            fds[API_SERVER_NAME] = own.fileno()
        return fds

    CircusSocket.__init__, Process._get_sockets_fds = __init__, _get_sockets_fds


def _check_port_is_free(api_socket) -> None:
    """OSError (address in use) where something listens on the port already, as BentoML's own socket
    would give: sockets with SO_REUSEPORT would share the port with another server that set it too,
    such as a second `bentoml serve` of this project."""
    with socket.socket(api_socket.family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as circus sets on its own sockets
        probe.bind((api_socket.host, api_socket.port))


def retry_after_when_busy(seconds: int) -> None:
    """BentoML's max_concurrency answers 429 `{"error": "Too many requests"}`, with no Retry-After and no
    word that the request can be retried: the same answer, with both. (Patched where BentoML makes it: a
    middleware rewriting answers cost every request a wrapper around `send`. Its other overload answer,
    503 from the adaptive batcher, cannot happen here: the service does not use it.)"""

    class BusyResponse(traffic.JSONResponse):
        def __init__(self, content, status_code: int = 200, **options) -> None:
            if status_code == 429:
                content = {"error": "Overloaded", "detail": f"the service is busy: retry after {seconds} s"}
                options["headers"] = {**(options.get("headers") or {}), "retry-after": str(seconds)}
            super().__init__(content, status_code, **options)

    traffic.JSONResponse = BusyResponse


def mend_request_path() -> None:
    """What BentoML does on every request that it need not, mended: for the service and for BentoML's floor
    (benchmarks/bentoml_floor.py) alike. Worker CPU a one-record request (A/B, 4 interleaved rounds): 222 us
    with the timer fix alone, 207 with the next fix too, 196 with three, 182 with four. The fifth is for
    list answers: a 64-record batch, 3,077 -> 2,462 us (A/B, 5 rounds)."""
    cancel_request_timers()
    bind_api_methods_once()
    add_response_headers_without_injection()
    look_up_metric_series_once()
    work_out_media_types_once()


def cancel_request_timers() -> None:
    """BentoML's TimeoutMiddleware never cancels the timer it starts for each request, so every request's
    future and context (with its tracing span) lived for the whole timeout: ~20 objects a request,
    500 MiB after 50k requests, and garbage-collector pauses of over 600 ms. The same rule (504 when no
    answer has started within the timeout; an answer once started is not cut), with the timer cancelled,
    and in the request's own task, where BentoML started a second task for each request and waited for it."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        deadline, answering = asyncio.timeout(self.timeout), False

        async def send_and_note(message) -> None:
            nonlocal answering
            if not answering:
                answering = True
                if not deadline.expired():
                    deadline.reschedule(None)  # the answer has started: no deadline any more
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_and_note)
        except TimeoutError:
            if not deadline.expired() or answering:  # not our deadline, or too late for another answer
                raise
            message = {"error": f"Not able to process the request in {self.timeout} seconds"}
            await traffic.JSONResponse(message, status_code=504)(scope, receive, send)

    traffic.TimeoutMiddleware.__call__ = __call__


def bind_api_methods_once() -> None:
    """BentoML binds the API method to the service anew for every request (`inspect.signature`,
    `functools.wraps` and a new wrapper each time): bound once for each service instance and API, kept in
    the instance."""
    bind = APIMethod._local_call

    def _local_call(self, instance):
        key = f"_bentoml_api_{self.name}"
        if (bound := instance.__dict__.get(key)) is None:
            bound = instance.__dict__[key] = bind(self, instance)
        return bound

    APIMethod._local_call = _local_call


def add_response_headers_without_injection() -> None:
    """BentoML resolves the one setting its response headers need (the log format) by dependency injection
    on every request (`Signature.bind_partial`, `apply_defaults`): here, a plain call."""
    add_headers = ServiceAppFactory._add_response_headers.__wrapped__  # simple_di's inject keeps it

    def _add_response_headers(self, response) -> None:
        add_headers(self, response, BentoMLContainer.logging_formatting.get())

    ServiceAppFactory._add_response_headers = _add_response_headers


def look_up_metric_series_once() -> None:
    """BentoML's metrics middleware finds each request's series with prometheus' `labels(**names)`, four
    times a request (checks and conversions each time): kept in a dict by their label values, one entry
    for each series prometheus itself keeps."""
    setup = instruments.RunnerTrafficMetricsMiddleware._setup

    def _setup(self) -> None:
        setup(self)
        for name in ("request_duration", "request_total", "request_in_progress", "last_request_timestamp"):
            setattr(self, f"metrics_{name}", _SeriesByLabels(getattr(self, f"metrics_{name}")))

    instruments.RunnerTrafficMetricsMiddleware._setup = _setup


def work_out_media_types_once() -> None:
    """BentoML works out the media type of an answer that is a list, such as /classify_batch's, from the
    answer's whole JSON schema, generated anew for every response (`IOMixin.mime_type`): a fifth of the
    CPU of BentoML's floor answering 64-record batches (py-spy). Once a class: nothing else changes it."""
    IOMixin.mime_type = classmethod(functools.cache(IOMixin.__dict__["mime_type"].__func__))


class _SeriesByLabels:
    def __init__(self, metric) -> None:
        self.metric, self.series = metric, {}

    def labels(self, **labels):
        key = tuple(labels.items())
        if (series := self.series.get(key)) is None:
            series = self.series[key] = self.metric.labels(**labels)
        return series
