"""Fixes, applied from the project, for what BentoML 1.4.40 and the uvicorn 0.55 it runs get wrong as a
server (docs/security-and-limits.md). Each says the behaviour it works around; drop one once a
release fixes it. They replace internals of the versions in WRITTEN_FOR: `bentoml serve` says at start
which fixes are unverified where other versions are installed.

service.py calls them at import: `bentoml serve` imports it, and so does each HTTP worker, after
BentoML has configured logging and before it builds the app and the uvicorn server. The correctness fixes
come first; the speed mend (send_head_with_body) last, apart.
"""

import atexit
import contextvars
import errno
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import uvicorn
import uvicorn.protocols.http.auto
from _bentoml_impl.server.app import ServiceAppFactory
from bentoml._internal.configuration.containers import BentoMLContainer
from starlette.middleware import Middleware

IN_WORKER = getattr(sys.modules["__main__"].__spec__, "name", "") == "_bentoml_impl.worker.service"
# The versions the fixes were written and tested for (pinned in bentofile.yaml), and the fixes that replace
# internals of each (circus comes with BentoML).
WRITTEN_FOR = {"bentoml": "1.4.40", "uvicorn": "0.55.0", "httptools": "0.9.0", "uvloop": "0.23.0"}
FIXES_OF = {
    "bentoml": ["add_outermost_middleware", "log_in_one_line", "metrics_of_its_own", "exit_with_parent",
                "bound_shutdown", "give_each_worker_its_own_socket", "name_a_busy_port"],
    "uvicorn": ["log_in_one_line", "bound_shutdown", "start_pipelined_requests_afresh", "close_slow_connections",
                "bound_request_heads", "bound_pipelined_requests", "drain_connections_on_shutdown",
                "send_head_with_body"],
    "httptools": ["bound_request_heads", "bound_pipelined_requests"],
    "uvloop": ["send_head_with_body"],
}  # fmt: skip


def unverified_fixes() -> list[str]:
    """For each package installed in another version than the fixes were written for, or missing, what it means."""
    installed = {package: _installed(package) for package in WRITTEN_FOR}
    return [f"{package} {installed[package]}, the fixes were written for {written}: "
            f"{', '.join(FIXES_OF[package])} unverified (scoring/bentoml_fixes.py)"
            for package, written in WRITTEN_FOR.items() if installed[package] != f"{written} is installed"]  # fmt: skip


def _installed(package: str) -> str:
    try:
        return f"{version(package)} is installed"
    except PackageNotFoundError:  # uvloop, say, where it does not build: uvicorn runs without it
        return "is not installed"


def say_which_fixes_are_unverified() -> None:
    """A warning for each package installed in another version than the fixes were written for, once, as
    `bentoml serve` starts."""
    if not IN_WORKER:
        for line in unverified_fixes():
            logging.getLogger(__name__).warning(line)


SERVE_PID = "_DECISION_SERVICE_SERVE_PID"  # no project's prefix starts with "_": never an unknown setting
_OUTERMOST: list[tuple[object, Middleware, tuple[str, ...]]] = []  # (bentoml service, middleware, behind)


def add_outermost_middleware(service, middleware: type, behind: tuple[str, ...] = (), **options) -> None:
    """Like `add_asgi_middleware`, but in front of BentoML's own middleware (metrics, tracing, access log,
    timeout, max_concurrency), which user middleware otherwise sits behind; or, where `behind` names some of
    BentoML's middleware classes, right behind the last of them that BentoML uses."""
    if not _OUTERMOST:
        bentoml_middleware = ServiceAppFactory.middlewares.fget

        def middlewares(factory: ServiceAppFactory) -> list[Middleware]:
            stack, front = bentoml_middleware(factory), []
            for owner, entry, names in _OUTERMOST:
                if owner is not factory.service:
                    continue
                if names:
                    named = [index for index, used in enumerate(stack) if getattr(used.cls, "__name__", "") in names]
                    stack.insert(max(named, default=-1) + 1, entry)
                else:
                    front.append(entry)
            return [*front, *stack]

        ServiceAppFactory.middlewares = property(middlewares)
    _OUTERMOST.append((service, Middleware(middleware, **options), behind))


def log_in_one_line() -> None:
    """Every log line is one line: BentoML writes URL paths as they come, and a line break in one would forge
    a log line."""
    logging.getLogger("uvicorn.error").propagate = False  # BentoML also routes it to root: each line twice
    # uvicorn formats an access-log call for every answer when the logger has a handler (root's here), which
    # BentoML's levels then drop: BentoML's own access log (ServingOptions.access_log) is the one to use.
    logging.getLogger("uvicorn.access").propagate = False
    for logger in ("", "bentoml", "uvicorn.error"):
        for handler in logging.getLogger(logger).handlers:
            handler.addFilter(_escape_control_characters)


def _escape_control_characters(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    if any(ord(character) < 32 or 127 <= ord(character) < 160 or character in "\u2028\u2029" for character in message):
        record.msg, record.args = json.dumps(message)[1:-1], None  # \n, \u0085...: still one line
    return True


def metrics_of_its_own() -> None:
    """Each `bentoml serve` keeps its Prometheus files in a directory of its own. BentoML keeps them in one
    directory per BENTOML_HOME, which every server empties as it starts: a second server, or another project,
    on the same model store would delete the first one's files, and its /metrics lose its own series. (The
    `bentoml serve` process imports service.py before it sets the directory up; its workers inherit it.)"""
    if IN_WORKER:
        return
    for left in Path(tempfile.gettempdir()).glob("bentoml-metrics-*-*"):  # by a server killed with -9
        pid = left.name.split("-")[2]  # (one of this process's id: a restarted container's, as PID 1 again)
        if pid == str(os.getpid()) or not _is_running(pid):
            shutil.rmtree(left, ignore_errors=True)
    directory = tempfile.mkdtemp(prefix=f"bentoml-metrics-{os.getpid()}-")
    BentoMLContainer.prometheus_multiproc_dir.set(directory)
    atexit.register(shutil.rmtree, directory, ignore_errors=True)


def _is_running(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (ValueError, PermissionError):  # not a process id, or another user's process
        return True
    return True


def exit_with_parent() -> None:
    """A worker stops when `bentoml serve` dies, even by kill -9: BentoML's would go on serving, holding the port.
    So does a worker circus started as `bentoml serve` was stopping, whose parent was gone before it got here:
    its parent is the process that exported SERVE_PID, not whichever adopted it."""
    if not IN_WORKER:
        os.environ[SERVE_PID] = str(os.getpid())  # before circus starts the workers, which inherit it
        return
    parent = int(os.environ.get(SERVE_PID, os.getppid()))
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


def start_pipelined_requests_afresh() -> None:
    """Start each request in a copy of its connection's context, as uvicorn starts a request that is not
    pipelined. uvicorn starts a request pipelined behind another from within that one's task, so in a copy
    of its context (python/cpython#140947), and what BentoML keeps there per request piles up: pipelined
    requests hold memory for good, even with every answer read. (uvicorn's reset_contextvars would start
    them in an empty context, losing what BentoML sets as it builds the app, such as its service name.)"""
    protocol = uvicorn.protocols.http.auto.AutoHTTPProtocol

    class ConnectionContext(protocol):
        def connection_made(self, transport) -> None:
            self._context = contextvars.copy_context()
            super().connection_made(transport)

        def _start_asgi_task(self, cycle, app) -> None:
            task = self.loop.create_task(cycle.run_asgi(app), context=self._context.copy())
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)

    uvicorn.protocols.http.auto.AutoHTTPProtocol = ConnectionContext


def close_slow_connections(seconds: float) -> None:
    """Close, with 408, connections that send no complete request head within `seconds` of connecting, or
    between `seconds` and twice that after the last answer, and those still sending a request's body at two
    checks in a row (a body gets `seconds` to twice that); drop those that took none of their answer's bytes
    since the last check (nginx's send_timeout). Neither uvicorn nor BentoML bound any: slow sockets were
    held for ever. One timer a connection, checking every `seconds`: a timer a request (BentoML's timeout,
    or asyncio.timeout) costs every request a timer's set-up and cancellation."""
    protocol = uvicorn.protocols.http.auto.AutoHTTPProtocol

    class SlowTimeout(protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._slow_timer.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._checked_cycle = self.cycle  # a new request head makes a new cycle
            self._unsent = self.transport.get_write_buffer_size()
            self._slow_timer = self.loop.call_later(seconds, self._check)

        def _check(self) -> None:
            # (Checked until the connection is lost: a closing one waits for its answer to leave.)
            unsent = self.transport.get_write_buffer_size()
            if unsent and unsent == self._unsent:
                return self.transport.abort()  # (closing would wait for the answer to leave)
            cycle = self.cycle
            slow_body = cycle is not None and cycle.more_body and not getattr(self, "pipeline", None)  # (paused)
            closing = self.transport.is_closing()
            if not closing and cycle is self._checked_cycle and (cycle is None or cycle.response_complete or slow_body):
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                self.transport.close()
            self._arm()

    uvicorn.protocols.http.auto.AutoHTTPProtocol = SlowTimeout


def bound_request_heads(max_bytes: int, max_fields: int) -> None:
    """Refuse with 431, and close, a request head over `max_bytes` or with over `max_fields` header fields, as
    nginx and h11 do. uvicorn's httptools protocol sets no bound: a few connections sending huge heads can take
    a worker past its memory limit. The URL and fields are counted as parsed; so are the raw bytes of reads that
    end no head, which bounds a head still arriving."""
    protocol = uvicorn.protocols.http.auto.AutoHTTPProtocol

    class BoundedHead(protocol):
        _in_head, _boundary, _head_bytes, _fields, _field_bytes, _refused = True, False, 0, 0, 0, ""

        def data_received(self, data: bytes) -> None:
            self._boundary = False
            super().data_received(data)
            if self._boundary or not self._in_head or self.transport.is_closing():
                return  # (a head that began after a request ended in this read is counted from the next)
            self._head_bytes += len(data)
            if self._head_bytes > max_bytes:
                self._refused = f"request head over {max_bytes} bytes"
                self.send_400_response(self._refused)

        def on_message_begin(self) -> None:
            self._fields = self._field_bytes = 0
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self._count(len(url), fields=0)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value), fields=1)
            super().on_header(name, value)

        def _count(self, size: int, fields: int) -> None:
            self._field_bytes, self._fields = self._field_bytes + size, self._fields + fields
            if self._fields > max_fields or self._field_bytes > max_bytes:
                over = f"over {max_fields} header fields" if self._fields > max_fields else f"over {max_bytes} bytes"
                self._refused = f"request head {over}"
                raise ValueError(self._refused)  # stops the parser; uvicorn answers 400, made 431 below

        def on_headers_complete(self) -> None:
            self._in_head, self._head_bytes, self._boundary = False, 0, True
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head, self._boundary = True, True
            super().on_message_complete()

        def send_400_response(self, msg: str) -> None:
            if not self._refused:
                return super().send_400_response(msg)
            body = json.dumps({"error": "Request Header Fields Too Large", "detail": self._refused}).encode()
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body))  # fmt: skip
            self.transport.close()

    uvicorn.protocols.http.auto.AutoHTTPProtocol = BoundedHead


def bound_pipelined_requests(read_bytes: int) -> None:
    """Parse a connection's reads `read_bytes` at a time, and none further while a request waits behind the
    one being answered; the rest of the read is kept as it came until the queue is answered. uvicorn's
    httptools protocol queues every request of a read (up to 256 KiB) and reads on after each answer: one
    connection pipelining requests without reading the answers can take a worker past its memory limit."""
    protocol = uvicorn.protocols.http.auto.AutoHTTPProtocol

    class BoundedPipeline(protocol):
        _held = b""

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            resume_reading = self.flow.resume_reading

            def resume_unless_queued() -> None:  # uvicorn resumes as a request reads its body, queue or not
                if not (self._held or self.pipeline):
                    resume_reading()

            self.flow.resume_reading = resume_unless_queued

        def data_received(self, data: bytes) -> None:
            if self._held:
                data, self._held = self._held + data, b""
            if len(data) <= read_bytes:
                return super().data_received(data)
            view = memoryview(data)
            for start in range(0, len(view), read_bytes):
                if self.transport.is_closing():
                    return
                if self.pipeline:
                    self._held = bytes(view[start:])
                    self.flow.pause_reading()
                    return
                super().data_received(view[start : start + read_bytes])

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._held and not self.transport.is_closing():
                if self.pipeline:
                    self.flow.pause_reading()
                else:
                    self.data_received(b"")

    uvicorn.protocols.http.auto.AutoHTTPProtocol = BoundedPipeline


def drain_connections_on_shutdown(idle_seconds: float) -> None:
    """On SIGTERM, answer every request a connection sends until it is told to close: its last request so
    far is answered with `connection: close`, and an idle one is closed after `idle_seconds` unless a
    request comes first. uvicorn closed idle keep-alive connections at once, resetting requests already on
    their way (a load balancer keeps sending for a moment after SIGTERM), and closed a connection whose
    unread requests were still held unparsed."""
    protocol = uvicorn.protocols.http.auto.AutoHTTPProtocol

    class Draining(protocol):
        _draining, _last, _last_keep_alive = False, None, True

        def shutdown(self) -> None:
            self._draining = True
            if self.cycle is None or self.cycle.response_complete:
                self.loop.call_later(idle_seconds, self._close_if_idle)
            elif not getattr(self, "_held", b""):  # (what is still to be parsed has the last request)
                self._close_after(self.cycle)

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            if self._draining:
                self._close_after(self.cycle)

        def _close_after(self, cycle) -> None:
            if self._last is not None and not self._last.response_started:
                self._last.keep_alive = self._last_keep_alive  # a request came after it
            self._last, self._last_keep_alive, cycle.keep_alive = cycle, cycle.keep_alive, False

        def _close_if_idle(self) -> None:
            arriving = getattr(self, "_held", b"") or getattr(self, "_head_bytes", 0)  # a request on its way
            if (self.cycle is None or self.cycle.response_complete) and not arriving:
                self.transport.close()

    uvicorn.protocols.http.auto.AutoHTTPProtocol = Draining


def name_a_busy_port() -> None:
    """`bentoml serve` on an address in use stops with one line naming it: BentoML let circus' OSError
    through, as a traceback."""
    if IN_WORKER:
        return
    from circus.sockets import CircusSocket

    bind_and_listen = CircusSocket.bind_and_listen

    def bind_or_exit(self) -> None:
        try:
            bind_and_listen(self)
        except OSError as error:
            raise _address_in_use(self) if error.errno == errno.EADDRINUSE else error from None

    CircusSocket.bind_and_listen = bind_or_exit
    logging.getLogger("circus").addFilter(lambda record: not record.getMessage().startswith("Could not bind"))


def _address_in_use(api_socket) -> SystemExit:
    return SystemExit(f"cannot serve on {api_socket.host}:{api_socket.port}: address already in use (another "
                      "server listens there: stop it, or serve on another port with --port)")  # fmt: skip


def give_each_worker_its_own_socket(workers: int) -> None:
    """With several workers, each accepts connections on a listening socket of its own (SO_REUSEPORT), and
    the kernel spreads new connections over them. BentoML's workers share one socket, and the worker
    awake first takes every connection waiting: connections made at once all land on one worker, the
    others idle for as long as those connections live (a gateway's pool: for ever).

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
    """SystemExit where something listens on the port already, as with BentoML's own socket: sockets with
    SO_REUSEPORT would share the port with another server that set it too, such as a second `bentoml
    serve` of this project."""
    with socket.socket(api_socket.family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as circus sets on its own sockets
        try:
            probe.bind((api_socket.host, api_socket.port))
        except OSError as error:
            raise _address_in_use(api_socket) if error.errno == errno.EADDRINUSE else error from None


# -- speed mend: the server is correct without it; it saves a system call and a packet an answer ------


def send_head_with_body() -> None:
    """uvicorn writes an answer's head and its body with a write each: two system calls and, with TCP_NODELAY,
    two packets for every answer. The head is held until the body's first part, and both go in one write.
    (uvicorn 0.55's httptools protocol, the one it uses where httptools is installed, as BentoML has it.)"""
    from uvicorn.protocols.http import httptools_impl

    send = httptools_impl.RequestResponseCycle.send

    async def send_joined(self, message) -> None:
        # (A HEAD answer has no body to wait for: uvicorn writes none.)
        if message["type"] == "http.response.start" and not self.response_started and self.scope["method"] != "HEAD":
            self.transport = _HeadHeldUntilBody(self, self.transport)
        try:
            await send(self, message)
        except RuntimeError:  # uvloop's, writing to a connection closed while the answer waited to leave
            if not self.transport.is_closing():
                raise
            self.disconnected = True  # (uvicorn marks only the connection's newest request so)

    httptools_impl.RequestResponseCycle.send = send_joined


class _HeadHeldUntilBody:
    """A request cycle's transport until its answer's body starts: the first write (the head) is held, and
    sent with the second; from then on the cycle writes to its transport again."""

    def __init__(self, cycle, transport) -> None:
        self.cycle, self.transport, self.head = cycle, transport, None

    def write(self, data: bytes) -> None:
        if self.head is None:
            self.head = data
        else:
            self.cycle.transport = self.transport
            self.transport.writelines((self.head, data))  # one system call, without copying the body

    def __getattr__(self, name: str):  # close, is_closing...
        return getattr(self.transport, name)
