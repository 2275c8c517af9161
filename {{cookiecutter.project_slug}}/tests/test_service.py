"""Requests against the real service, started with `bentoml serve` on a free port."""

import asyncio
import json
import re

import httpx
import pytest
from live_service import HIGH_RISK, LOW_RISK, RISK_LADDER, classify, service_log

from credit_scoring import settings
from credit_scoring.policy import DecisionPolicy
from credit_scoring.schema import MAX_BATCH_SIZE


def post(url: str, path: str, content: bytes | str) -> httpx.Response:
    return httpx.post(f"{url}{path}", content=content, headers={"content-type": "application/json"}, timeout=30)


def test_statuses_follow_the_policy(service_url):
    policy = DecisionPolicy()
    decisions = [classify(service_url, application).json() for application in RISK_LADDER]
    probabilities = [decision["probability"] for decision in decisions]
    assert probabilities == sorted(probabilities)
    for decision in decisions:
        assert 0 <= decision["probability"] <= 1
        assert decision["status"] == policy.decide(decision["probability"])
        assert decision["model"].startswith(f"{settings.MODEL_NAME}:")


def test_batch_answers_in_order_as_single_requests_do(service_url):
    response = httpx.post(f"{service_url}/classify_batch", json={"applications": list(RISK_LADDER) * 3}, timeout=30)
    assert response.status_code == 200
    singles = [classify(service_url, application).json() for application in RISK_LADDER]
    assert [decision["status"] for decision in response.json()] == [decision["status"] for decision in singles] * 3
    for batched, single in zip(response.json(), singles, strict=False):
        assert batched["probability"] == pytest.approx(single["probability"])


def batching_totals(url: str) -> tuple[float, float]:
    """(rows, model calls) the adaptive batcher of /classify_batch has handled so far."""
    metrics = httpx.get(f"{url}/metrics").text

    def total(kind: str) -> float:
        found = re.search(r"adaptive_batch_size_" + kind + r"\{[^}]*classify_batch[^}]*\} (\S+)", metrics)
        return float(found[1]) if found else 0.0

    return total("sum"), total("count")


def test_concurrent_requests_are_batched_and_each_gets_its_own_answer(service_url):
    async def send_concurrently() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service_url, timeout=30) as client:
            bodies = [{"applications": [application]} for application in RISK_LADDER * 20]
            return await asyncio.gather(*(client.post("/classify_batch", json=body) for body in bodies))

    rows_before, calls_before = batching_totals(service_url)
    responses = asyncio.run(send_concurrently())
    rows_after, calls_after = batching_totals(service_url)
    singles = [classify(service_url, application).json()["probability"] for application in RISK_LADDER]
    assert [response.json()[0]["probability"] for response in responses] == pytest.approx(singles * 20)
    assert rows_after - rows_before == 60
    assert calls_after - calls_before < 60, "concurrent requests should share model calls"


BAD_REQUESTS = {
    "missing field": ("/classify", {k: v for k, v in LOW_RISK.items() if k != "income"}, "income"),
    "unknown field": ("/classify", {**LOW_RISK, "nickname": "Bob"}, "nickname"),
    "wrong type": ("/classify", {**LOW_RISK, "age": "old"}, "age"),
    "unknown category": ("/classify", {**LOW_RISK, "home": "castle"}, "home"),
    "negative amount": ("/classify", {**LOW_RISK, "amount": -100}, "amount"),
    "absurd amount": ("/classify", {**LOW_RISK, "debt": 1e12}, "debt"),
    "too young": ("/classify", {**LOW_RISK, "age": 3}, "age"),
    "NaN": ("/classify", json.dumps(LOW_RISK).replace('"income": 300', '"income": NaN'), "income"),
    "Infinity": ("/classify", json.dumps(LOW_RISK).replace('"debt": 0', '"debt": Infinity'), "debt"),
    "empty body": ("/classify", "", "Field required"),
    "invalid JSON": ("/classify", '{"age": 30,', "Invalid JSON"),
    "JSON list": ("/classify", "[1, 2]", "object"),
    "10 MB body": ("/classify", " " * 10_000_000, "request body over"),
    "empty batch": ("/classify_batch", {"applications": []}, "at least 1 item"),
    "batch over the limit": ("/classify_batch", {"applications": [LOW_RISK] * (MAX_BATCH_SIZE + 1)}, "at most"),
    "bad row in batch": ("/classify_batch", {"applications": [LOW_RISK, {**LOW_RISK, "job": 7}]}, "job"),
}


@pytest.mark.parametrize(("path", "body", "problem"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_gets_4xx_naming_the_problem_and_service_keeps_serving(service_url, path, body, problem):
    response = post(service_url, path, body if isinstance(body, str) else json.dumps(body))
    assert 400 <= response.status_code < 500
    assert problem in response.text
    assert classify(service_url, LOW_RISK).status_code == 200


def test_health_readiness_and_metrics(service_url):
    assert httpx.get(f"{service_url}/healthz").status_code == 200
    assert httpx.get(f"{service_url}/readyz").status_code == 200
    classify(service_url, LOW_RISK)
    metrics = httpx.get(f"{service_url}/metrics").text
    assert 'endpoint="/classify"' in metrics
    server_errors = [
        line for line in metrics.splitlines() if 'http_response_code="500"' in line and not line.endswith(" 0.0")
    ]
    assert not server_errors


def test_each_decision_is_logged_without_personal_fields(service_url, serve_env):
    decision = classify(service_url, HIGH_RISK).json()
    logged = [
        json.loads(line[line.index("{") : line.rindex("}") + 1])
        for line in service_log(service_url, serve_env).read_text().splitlines()
        if '"event": "decision"' in line
    ]
    assert {"event": "decision", **decision} in logged
    assert all(set(entry) == {"event", "status", "probability", "model"} for entry in logged)


def test_openapi_shows_an_example_application(service_url):
    spec = httpx.get(f"{service_url}/docs.json", timeout=10).text
    assert '"freelance"' in spec
