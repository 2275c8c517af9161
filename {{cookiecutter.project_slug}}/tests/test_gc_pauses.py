"""The worker's warning about garbage collections that hold requests up (scoring/serving.py), and reading
them back (benchmarks/load_test.py does): a collection's own CPU time tells collecting from waiting for a core."""

import gc
import logging
import time

import pytest

from scoring import serving


@pytest.fixture
def gc_callbacks():
    saved = list(gc.callbacks)
    yield gc.callbacks
    gc.callbacks[:] = saved


def held_for_30_ms(busy: bool):
    """A gc callback that, run after the warning's own at a collection's start, holds the collection 30 ms:
    busy (30 ms of CPU time, as a large collection would be) or asleep (as a worker off its core)."""

    def hold(phase: str, info: dict) -> None:
        if phase != "start":
            return
        if not busy:
            time.sleep(0.03)
            return
        until = time.thread_time() + 0.03
        while time.thread_time() < until:
            pass

    return hold


def warnings_during_a_collection(gc_callbacks, caplog, threshold_ms: float, busy: bool) -> list[str]:
    serving.warn_about_long_gc_pauses(threshold_ms)
    gc_callbacks.append(held_for_30_ms(busy))
    with caplog.at_level(logging.WARNING, logger="scoring.serving"):
        gc.collect(0)
    return [record.getMessage() for record in caplog.records if record.name == "scoring.serving"]


@pytest.mark.parametrize("busy", [True, False], ids=["collecting", "waiting for a core"])
def test_a_long_collection_is_logged_with_the_time_spent_collecting(gc_callbacks, caplog, busy):
    [message] = warnings_during_a_collection(gc_callbacks, caplog, threshold_ms=20, busy=busy)
    assert message.startswith("garbage collection paused requests for ") and "(generation 0; " in message
    [(waited, collecting)] = serving.gc_pauses_in(message)
    assert waited >= 30
    assert collecting >= 30 if busy else collecting < 10, message


def test_a_collection_under_the_threshold_is_not_logged(gc_callbacks, caplog):
    assert warnings_during_a_collection(gc_callbacks, caplog, threshold_ms=1000, busy=False) == []
