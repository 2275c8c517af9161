"""The decision log: one JSON line a decision on standard output, apart from the server's own log, for the audit
trail: its id, time, model, the thresholds in force, the status, the probability and the reasons' field names.
Never a value of the record: they may be personal data.

Written by hand, straight to the file descriptor, before the answer is sent: `logging` and `json.dumps` of
every line cost more than the decision itself.
"""

import functools
import json
import os
import random
import time

# What each line holds, and nothing else.
KEYS = ("event", "time", "decision_id", "model", "decline_threshold", "maybe_threshold", "status", "probability",
        "reasons")  # fmt: skip
LINE = ('{"event": "decision", "time": "%s", "decision_id": "%s", "model": %s, %s"status": %s, '
        '"probability": %r, "reasons": %s}\n')  # fmt: skip
STDOUT = 1
quoted = functools.lru_cache(maxsize=64)(json.dumps)  # the labels and the model tag: a handful of strings


def write(decisions: list[dict], policy) -> None:
    """One write for a request's decisions (dicts with decision_id, status, probability, model and reasons)."""
    now, thresholds = utc_time(time.time_ns()), _thresholds(policy.decline_threshold, policy.maybe_threshold)
    lines = "".join([
        LINE % (now, d["decision_id"], quoted(d["model"]), thresholds, quoted(d["status"]), d["probability"],
                _fields(tuple(reason["field"] for reason in d["reasons"])))
        for d in decisions
    ])  # fmt: skip
    unwritten = memoryview(lines.encode())
    while unwritten:  # a pipe may take part of it
        unwritten = unwritten[os.write(STDOUT, unwritten) :]


@functools.lru_cache(maxsize=8)
def _thresholds(decline: float, maybe: float) -> str:
    return f'"decline_threshold": {decline!r}, "maybe_threshold": {maybe!r}, '


@functools.lru_cache(maxsize=4096)  # the commonest lists of reasons' fields, formatted once
def _fields(names: tuple[str, ...]) -> str:
    return json.dumps(list(names))


def utc_time(nanoseconds: int) -> str:
    """As `datetime.isoformat(timespec="milliseconds")` writes a UTC time (an ISO time needs no JSON
    escaping); the date and the time of day formatted once a second."""
    second, fraction = divmod(nanoseconds, 1_000_000_000)
    return f"{_utc_second(second)}.{fraction // 1_000_000:03d}+00:00"


@functools.lru_cache(maxsize=1)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


_last = [0, 0]  # this process's last id: its millisecond and counter


def new_ids(count: int) -> list[str]:
    """`count` UUIDv7 decision ids (RFC 9562): the Unix millisecond first, so ids sort by time; then a counter,
    so a process's ids never go backwards; then 62 random bits, so workers and pods never share one."""
    millisecond, counter = time.time_ns() // 1_000_000, 0
    if millisecond <= _last[0]:
        millisecond, counter = _last[0], _last[1] + 1
    ids = []
    for _ in range(count):
        if counter > 0xFFF:  # 4,096 ids within a millisecond: borrow the next one
            millisecond, counter = millisecond + 1, 0
        value = millisecond << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | random.getrandbits(62)
        text = f"{value:032x}"
        ids.append(f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}")
        counter += 1
    _last[:] = millisecond, counter - 1
    return ids
