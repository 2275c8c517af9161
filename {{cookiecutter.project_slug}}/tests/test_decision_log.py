"""The decision log's lines: whole JSON objects with the decision, its id, time and policy, nothing of the record."""

import json
import uuid
from datetime import UTC, datetime

from scoring import decision_log
from scoring.policy import DecisionPolicy

LOGGED = set(decision_log.KEYS)


def test_the_time_is_written_as_datetime_writes_it():
    for nanoseconds in (1_796_105_720_666_123_456, 1_796_105_720_000_999_999, 1_796_105_779_999_999_999, 0):
        second, fraction = divmod(nanoseconds, 1_000_000_000)
        expected = datetime.fromtimestamp(second, UTC).replace(microsecond=fraction // 1000)
        assert decision_log.utc_time(nanoseconds) == expected.isoformat(timespec="milliseconds")


def test_a_requests_decisions_are_one_json_line_each(capfd):
    reason = {"field": 'a "quoted"\nname', "contribution": 0.5, "text": "Some text"}
    decisions = [
        {"status": 'he said "no"\n', "probability": 0.25, "model": "m:1", "decision_id": "id-1", "reasons": [reason]},
        {"status": "APPROVED", "probability": 1e-07, "model": "m:1", "decision_id": "id-2", "reasons": []},
    ]
    decision_log.write(decisions, DecisionPolicy(decline_threshold=0.6, maybe_threshold=0.25))
    logged = [json.loads(line) for line in capfd.readouterr().out.splitlines()]
    assert [(entry["status"], entry["probability"], entry["model"], entry["decision_id"]) for entry in logged] == [
        ('he said "no"\n', 0.25, "m:1", "id-1"), ("APPROVED", 1e-07, "m:1", "id-2")]  # fmt: skip
    assert [entry["reasons"] for entry in logged] == [['a "quoted"\nname'], []]  # the fields' names, not their texts
    assert all(set(entry) == LOGGED for entry in logged)
    assert {(entry["decline_threshold"], entry["maybe_threshold"]) for entry in logged} == {(0.6, 0.25)}
    assert datetime.fromisoformat(logged[0]["time"]).tzinfo == UTC


def test_decision_ids_are_uuid7_unique_and_in_order_within_a_process():
    ids = [decision_id for _ in range(300) for decision_id in decision_log.new_ids(50)]  # many within one ms
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert {uuid.UUID(decision_id).version for decision_id in ids} == {7}
    first = uuid.UUID(ids[0]).int >> 80  # the Unix time in milliseconds
    assert abs(first - datetime.now(UTC).timestamp() * 1000) < 60_000
