"""The fixes for BentoML itself, each checked against BentoML's own behaviour first: the day a BentoML
release fixes one, its first assertion fails, saying the fix can go."""

import asyncio

from bentoml._internal.server.http import traffic

from scoring import bentoml_fixes

AS_SHIPPED = traffic.TimeoutMiddleware.__call__  # service.py, which patches it, is not imported here


def live_timers_after(requests: int) -> int:
    """Timers still pending once `requests` requests have gone through BentoML's TimeoutMiddleware."""

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def ignore(message=None) -> None:
        return None

    async def run() -> int:
        middleware = traffic.TimeoutMiddleware(app, timeout=60)
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
