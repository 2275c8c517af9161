"""The fixes for BentoML itself, each checked against BentoML's own behaviour first: the day a BentoML
release fixes one, its first assertion fails, saying the fix can go."""

import asyncio
import itertools
import socket
from unittest import mock

import bentoml
import uvicorn.loops.uvloop
import uvloop
from _bentoml_impl.server.app import ServiceAppFactory
from _bentoml_sdk.io_models import IOMixin
from _bentoml_sdk.method import APIMethod
from bentoml._internal.server.http import instruments, traffic
from starlette.responses import Response

from scoring import bentoml_fixes

AS_SHIPPED = traffic.TimeoutMiddleware.__call__  # service.py, which patches it, is not imported here
BIND_AS_SHIPPED = APIMethod._local_call
HEADERS_AS_SHIPPED = ServiceAppFactory._add_response_headers
METRICS_SETUP_AS_SHIPPED = instruments.RunnerTrafficMetricsMiddleware._setup
MEDIA_TYPE_AS_SHIPPED = IOMixin.__dict__["mime_type"]
NAMESPACES = (f"test_fixes_{n}" for n in itertools.count())  # each middleware registers its own metrics


async def answer_after(seconds: float, send) -> None:
    await asyncio.sleep(seconds)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def answer(scope, receive, send) -> None:  # an ASGI app
    await answer_after(0, send)


async def ignore(message=None) -> None:  # an ASGI receive or send
    return None


def live_timers_after(requests: int) -> int:
    """Timers still pending once `requests` requests have gone through BentoML's TimeoutMiddleware."""

    async def run() -> int:
        middleware = traffic.TimeoutMiddleware(answer, timeout=60)
        for _ in range(requests):
            await middleware({"type": "http"}, ignore, ignore)
        return sum(not timer.cancelled() for timer in asyncio.get_running_loop()._scheduled)

    return asyncio.run(run())


def test_each_requests_timer_is_cancelled_when_the_request_ends():
    try:
        assert live_timers_after(100) == 100, "BentoML no longer leaks its timers: drop cancel_request_timers()"
        bentoml_fixes.cancel_request_timers()
        assert live_timers_after(100) == 0
    finally:
        traffic.TimeoutMiddleware.__call__ = AS_SHIPPED


def timed_requests(app, timeout: float = 0.05) -> tuple[list[dict], set]:
    """What a request through BentoML's TimeoutMiddleware sends, and the tasks the app ran in."""
    sent, tasks = [], set()

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message) -> None:
        sent.append(message)

    async def run() -> None:
        async def noting_task(scope, receive, send) -> None:
            tasks.add(asyncio.current_task())
            await app(scope, receive, send)

        await traffic.TimeoutMiddleware(noting_task, timeout=timeout)({"type": "http"}, receive, send)
        tasks.add(asyncio.current_task())

    asyncio.run(run())
    return sent, tasks


def test_a_request_runs_in_its_own_task_and_gets_504_only_when_no_answer_has_started_in_time():
    async def slow(scope, receive, send) -> None:
        await answer_after(0.2, send)

    async def slow_body(scope, receive, send) -> None:  # starts in time, ends after the timeout
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(0.2)
        await send({"type": "http.response.body", "body": b"{}"})

    try:
        assert len(timed_requests(answer)[1]) == 2, "BentoML runs the request in its own task: drop that part"
        bentoml_fixes.cancel_request_timers()
        sent, tasks = timed_requests(answer)
        assert [message.get("status") for message in sent] == [200, None] and len(tasks) == 1
        sent, _ = timed_requests(slow)
        assert sent[0]["status"] == 504 and b"Not able to process the request in 0.05 seconds" in sent[1]["body"]
        assert len(sent) == 2  # the cancelled app sent nothing
        sent, _ = timed_requests(slow_body)
        assert [message.get("status") for message in sent] == [200, None]
    finally:
        traffic.TimeoutMiddleware.__call__ = AS_SHIPPED


def test_api_methods_are_bound_once_per_service_instance():
    @bentoml.service
    class Echo:
        @bentoml.api
        def echo(self, text: str = "default") -> str:
            return text

    instance = Echo.inner()
    try:
        assert instance.echo.local is not instance.echo.local, "BentoML binds once: drop bind_api_methods_once"
        bentoml_fixes.bind_api_methods_once()
        assert instance.echo.local is instance.echo.local
        assert instance.echo.local("hi") == "hi" and instance.echo.local() == "default"
        assert Echo.inner().echo.local is not instance.echo.local  # each instance its own
    finally:
        APIMethod._local_call = BIND_AS_SHIPPED


def test_response_headers_are_added_without_dependency_injection():
    class Factory:  # what _add_response_headers reads of a ServiceAppFactory
        service = type("Service", (), {"name": "echo"})

    try:
        assert getattr(ServiceAppFactory._add_response_headers, "_is_injected", False), "BentoML no longer injects"
        bentoml_fixes.add_response_headers_without_injection()
        assert not getattr(ServiceAppFactory._add_response_headers, "_is_injected", False)
        response = Response()
        ServiceAppFactory._add_response_headers(Factory(), response)
        assert response.headers["server"] == "BentoML Service/echo"
    finally:
        ServiceAppFactory._add_response_headers = HEADERS_AS_SHIPPED


def metrics_after(requests: int) -> instruments.RunnerTrafficMetricsMiddleware:
    """BentoML's metrics middleware once `requests` requests to /classify have gone through it."""

    async def run() -> instruments.RunnerTrafficMetricsMiddleware:
        middleware = instruments.RunnerTrafficMetricsMiddleware(answer, namespace=next(NAMESPACES))
        for _ in range(requests):
            await middleware({"type": "http", "path": "/classify"}, ignore, ignore)
        return middleware

    return asyncio.run(run())


def test_metric_series_are_looked_up_once_and_still_count():
    try:
        assert not hasattr(metrics_after(1).metrics_request_total, "series"), "BentoML changed its metrics"
        bentoml_fixes.look_up_metric_series_once()
        middleware = metrics_after(3)
        [(labels, total)] = middleware.metrics_request_total.series.items()
        assert dict(labels)["endpoint"] == "/classify" and dict(labels)["http_response_code"] == 200
        assert total._value.get() == 3 and total is middleware.metrics_request_total.metric.labels(**dict(labels))
        [duration] = middleware.metrics_request_duration.series.values()
        assert duration._sum.get() > 0
        [in_progress] = middleware.metrics_request_in_progress.series.values()
        assert in_progress._value.get() == 0
    finally:
        instruments.RunnerTrafficMetricsMiddleware._setup = METRICS_SETUP_AS_SHIPPED


def schemas_generated_for_media_type(answers: int) -> int:
    """How many JSON schemas of a list answer's model BentoML generates to give `answers` answers their media type."""

    @bentoml.service
    class Lister:
        @bentoml.api
        def listing(self) -> list[str]:
            return []

    output = Lister.apis["listing"].output_spec
    with mock.patch.object(output, "model_json_schema", wraps=output.model_json_schema) as schema:
        assert all(output.mime_type() == "application/json" for _ in range(answers))
    return schema.call_count


def test_an_answers_media_type_is_worked_out_once_per_class():
    try:
        assert schemas_generated_for_media_type(3) == 3, "BentoML no longer makes a schema for each answer"
        bentoml_fixes.work_out_media_types_once()
        assert schemas_generated_for_media_type(3) == 1
    finally:
        IOMixin.mime_type = MEDIA_TYPE_AS_SHIPPED


def accepted_after_each_turn(loop_factory, clients: int = 10, turns: int = 4, seconds: float = 0) -> list[int]:
    """How many of `clients` connections, all waiting at once, a server on the loop has accepted after
    each of `turns` turns of the loop (each at least `seconds` long)."""
    accepted = []

    class Accepted(asyncio.Protocol):
        def connection_made(self, transport) -> None:
            accepted.append(transport)

    async def run() -> list[int]:
        with socket.create_server(("127.0.0.1", 0), backlog=clients) as listening:
            server = await asyncio.get_running_loop().create_server(Accepted, sock=listening)
            waiting = [socket.create_connection(listening.getsockname()) for _ in range(clients)]
            counts = []
            for _ in range(turns):
                await asyncio.sleep(seconds)
                counts.append(len(accepted))
            server.close()
            for connection in [*waiting, *accepted]:
                connection.close()
            return counts

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(run())


def eager_accept_loop():
    with mock.patch.object(uvicorn.loops.uvloop, "uvloop_loop_factory"):
        bentoml_fixes.accept_waiting_connections()
        return uvicorn.loops.uvloop.uvloop_loop_factory()


def test_every_waiting_connection_is_accepted_in_one_turn_of_the_loop():
    assert accepted_after_each_turn(uvloop.new_event_loop)[-1] <= 4, "uvloop accepts more than one a turn now"
    counts = accepted_after_each_turn(eager_accept_loop())
    assert counts[-1] == 10 and set(counts) <= {0, 10}, counts


def test_a_flood_of_connections_is_accepted_a_hundred_a_turn():
    counts = accepted_after_each_turn(eager_accept_loop(), clients=150)
    assert counts[-1] == 150 and 100 in counts and set(counts) <= {0, 100, 150}, counts


def test_a_server_out_of_file_descriptors_waits_and_accepts_again(monkeypatch):
    """accept() failing with EMFILE leaves the connection waiting: without a pause the loop would spin."""
    real_accept, failures = socket.socket.accept, []

    def accept_failing_once(self):
        if not failures:
            failures.append(OSError(24, "Too many open files"))
            raise failures[0]
        return real_accept(self)

    monkeypatch.setattr(socket.socket, "accept", accept_failing_once)
    monkeypatch.setattr(bentoml_fixes._EagerAcceptServer, "RETRY_SECONDS", 0.06)
    counts = accepted_after_each_turn(eager_accept_loop(), clients=1, turns=6, seconds=0.02)
    assert failures and counts[0] == 0 and counts[-1] == 1, counts
