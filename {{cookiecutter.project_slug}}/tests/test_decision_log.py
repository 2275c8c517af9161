"""The decision log's lines: whole JSON objects with the decision and its time, nothing of the record."""

import json
from datetime import UTC, datetime

from scoring import decision_log


def test_the_time_is_written_as_datetime_writes_it():
    for nanoseconds in (1_796_105_720_666_123_456, 1_796_105_720_000_999_999, 1_796_105_779_999_999_999, 0):
        second, fraction = divmod(nanoseconds, 1_000_000_000)
        expected = datetime.fromtimestamp(second, UTC).replace(microsecond=fraction // 1000)
        assert decision_log.utc_time(nanoseconds) == expected.isoformat(timespec="milliseconds")


def test_a_requests_decisions_are_one_json_line_each(capfd):
    decisions = [{"status": 'he said "no"\n', "probability": 0.25, "model": "m:1"}, {
        "status": "APPROVED", "probability": 1e-07, "model": "m:1"}]  # fmt: skip
    decision_log.write(decisions)
    lines = capfd.readouterr().out.splitlines()
    logged = [json.loads(line) for line in lines]
    assert [(entry["status"], entry["probability"], entry["model"]) for entry in logged] == [
        ('he said "no"\n', 0.25, "m:1"), ("APPROVED", 1e-07, "m:1")]  # fmt: skip
    assert all(set(entry) == {"event", "time", "status", "probability", "model"} for entry in logged)
    assert datetime.fromisoformat(logged[0]["time"]).tzinfo == UTC
