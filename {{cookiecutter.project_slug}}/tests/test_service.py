"""Requests against the real service, started with `bentoml serve` on a free port."""

import asyncio
import json
import re

import bentoml
import httpx
import pytest
from conftest import CONTRACT
from live_service import classify, service_log, worker_memory_mib
from records import invalid_variants, valid_variants

from scoring import decision_log, settings
from scoring.policy import DecisionPolicy
from scoring.schema import MAX_BATCH_SIZE, Decision

LOGGED = set(decision_log.KEYS)


def is_a_decision(answer: dict) -> bool:
    return Decision.model_validate(answer).model_dump() == answer  # every field, nothing else


def post(url: str, path: str, content: bytes | str) -> httpx.Response:
    return httpx.post(f"{url}{path}", content=content, headers={"content-type": "application/json"}, timeout=30)


def test_every_status_is_reached_by_some_validation_record(examples):
    assert set(examples) == {settings.APPROVED_LABEL, settings.MAYBE_LABEL, settings.DECLINED_LABEL}


def test_statuses_follow_the_policy(service_url, examples):
    policy = DecisionPolicy()
    for status, record in examples.items():
        decision = classify(service_url, record).json()
        assert is_a_decision(decision)
        assert decision["status"] == status == policy.decide(decision["probability"])
        assert decision["model"].startswith(f"{settings.MODEL_NAME}:")


def test_every_answer_but_an_approval_gives_its_principal_reasons(service_url, examples, contract):
    for status, record in examples.items():
        reasons = classify(service_url, record).json()["reasons"]
        if status == settings.APPROVED_LABEL:
            assert reasons == []
            continue
        assert 1 <= len(reasons) <= DecisionPolicy().max_reasons
        assert all(reason["field"] in contract["fields"] and reason["contribution"] > 0 for reason in reasons)
        contributions = [reason["contribution"] for reason in reasons]
        assert contributions == sorted(contributions, reverse=True)


def test_records_at_the_edges_of_the_contract_are_accepted(service_url, contract):
    refused = {
        name: response.text
        for name, record in valid_variants(contract).items()
        if (response := classify(service_url, record)).status_code != 200
    }
    assert not refused


def test_batch_answers_in_order_as_single_requests_do(service_url, examples):
    records = list(examples.values()) * 3
    response = httpx.post(f"{service_url}/classify_batch", json={"records": records}, timeout=30)
    assert response.status_code == 200
    singles = [classify(service_url, record).json() for record in records]
    assert all(is_a_decision(batched) for batched in response.json())
    assert [decision["status"] for decision in response.json()] == [decision["status"] for decision in singles]
    for batched, single in zip(response.json(), singles, strict=True):
        assert batched["probability"] == pytest.approx(single["probability"])
        assert [reason["field"] for reason in batched["reasons"]] == [reason["field"] for reason in single["reasons"]]
        contributions = [reason["contribution"] for reason in single["reasons"]]
        assert [reason["contribution"] for reason in batched["reasons"]] == pytest.approx(contributions)
    ids = [decision["decision_id"] for decision in [*response.json(), *singles]]
    assert len(set(ids)) == len(ids)


def test_concurrent_requests_each_get_their_own_answer(service_url, examples):
    records = list(examples.values())

    async def send_concurrently() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=service_url, timeout=30) as client:
            bodies = [{"records": [record]} for record in records * 20]
            return await asyncio.gather(*(client.post("/classify_batch", json=body) for body in bodies))

    responses = asyncio.run(send_concurrently())
    singles = [classify(service_url, record).json()["probability"] for record in records]
    assert [response.status_code for response in responses] == [200] * len(responses), responses[0].text
    assert [response.json()[0]["probability"] for response in responses] == pytest.approx(singles * 20)


def bad_requests(contract: dict) -> dict[str, tuple[str, str | dict, str]]:
    """name -> (path, body, text the answer must contain): every rule of the contract broken once, and more."""
    example = contract["example"]
    requests = {name: ("/classify", body, problem) for name, (body, problem) in invalid_variants(contract).items()}
    return requests | {
        "empty body": ("/classify", "", "Invalid JSON"),
        "invalid JSON": ("/classify", '{"a": 30,', "Invalid JSON"),
        "JSON list": ("/classify", "[1, 2]", "object"),
        "10 MB body": ("/classify", " " * 10_000_000, "request body over"),
        "empty batch": ("/classify_batch", {"records": []}, "at least 1 item"),
        "batch over the limit": ("/classify_batch", {"records": [example] * (MAX_BATCH_SIZE + 1)}, "at most"),
        "bad row in batch": ("/classify_batch", {"records": [example, {**example, "__x__": 1}]}, "__x__"),
        "unknown key beside the records": ("/classify_batch", {"records": [example], "__y__": 1}, "__y__"),
    }


BAD_REQUESTS = bad_requests(CONTRACT)


@pytest.mark.parametrize(("path", "body", "problem"), BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_bad_request_gets_4xx_naming_the_problem_and_service_keeps_serving(service_url, contract, path, body, problem):
    response = post(service_url, path, body if isinstance(body, str) else json.dumps(body))
    assert 400 <= response.status_code < 500
    assert problem in response.text
    assert classify(service_url, contract["example"]).status_code == 200


def test_health_readiness_and_metrics(service_url, contract):
    assert httpx.get(f"{service_url}/healthz").status_code == 200
    assert httpx.get(f"{service_url}/readyz").status_code == 200
    classify(service_url, contract["example"])
    metrics = httpx.get(f"{service_url}/metrics").text
    assert 'endpoint="/classify"' in metrics
    server_errors = [
        line for line in metrics.splitlines() if 'http_response_code="500"' in line and not line.endswith(" 0.0")
    ]
    assert not server_errors


def test_worker_memory_stays_flat_over_many_requests(service_url, contract):
    """The worker holds, to a MiB, what it held after the first 1,000 requests. (BentoML 1.4.40's request path
    kept every request's timer, and with it the request's future and context, for the whole timeout.)"""

    def send(requests: int) -> None:
        with httpx.Client(base_url=service_url, timeout=10) as client:
            for _ in range(requests):
                client.post("/classify", json=contract["example"]).raise_for_status()

    send(1_000)  # the allocator's arenas and the caches filled
    before = worker_memory_mib(service_url)
    send(10_000)
    assert worker_memory_mib(service_url) - before < 2


def logged_decisions(service_url: str, serve_env: dict) -> dict[str, dict]:
    """The decision log's lines so far, by decision id (each whole line one JSON object)."""
    lines = service_log(service_url, serve_env).read_text().splitlines()
    return {entry["decision_id"]: entry for entry in map(json.loads, filter(DECISION_LINE.match, lines))}


DECISION_LINE = re.compile(r'\{"event": "decision"')


def test_each_decision_is_logged_with_its_id_policy_and_reasons_fields(service_url, serve_env, examples):
    policy = DecisionPolicy()
    answers = [classify(service_url, record).json() for record in examples.values()]
    logged = logged_decisions(service_url, serve_env)
    for answer in answers:
        entry = logged[answer["decision_id"]]
        assert set(entry) == LOGGED
        assert {key: entry[key] for key in ("status", "probability", "model")} == {
            key: answer[key] for key in ("status", "probability", "model")}  # fmt: skip
        assert entry["reasons"] == [reason["field"] for reason in answer["reasons"]]
        assert entry["decline_threshold"] == policy.decline_threshold
        assert entry["maybe_threshold"] == policy.maybe_threshold


def test_no_value_of_a_record_reaches_any_log(service_url, serve_env, contract):
    """Values only this test sends, accepted and refused, then every line the server wrote is searched for them."""
    marked, values = dict(contract["example"]), []
    for name, spec in contract["fields"].items():
        low, high = spec.get("minimum"), spec.get("maximum")
        low, high = 0 if low is None else low, 10**9 if high is None else high
        mark = {"number": low + 1.0123456789, "integer": low + 4321}.get(spec["kind"])
        if mark is not None and mark <= high:
            marked[name] = mark
            values.append(json.dumps(mark))
    if not values:
        pytest.skip("no numeric field wide enough to hold a value no log line could hold by chance")
    assert classify(service_url, marked).status_code == 200
    refused = {**marked, "__secret_key__": "s3cr3t-v4lue"}
    assert classify(service_url, refused).status_code == 400
    text = service_log(service_url, serve_env).read_text()
    assert "s3cr3t-v4lue" not in text
    assert not [value for value in values if value in text]


def test_bentomls_own_client_gets_the_decisions(service_url, examples):
    """BentoML's client reads /schema.json and posts to the routes the decision routes answer."""
    record = examples[settings.DECLINED_LABEL]
    with bentoml.SyncHTTPClient(service_url) as client:
        single = client.classify(**record)
        [batched] = client.classify_batch(records=[record])
    for answer in (single, batched):
        answer = answer if isinstance(answer, dict) else answer.model_dump()
        assert answer["status"] == settings.DECLINED_LABEL and answer["reasons"]


def test_openapi_shows_the_contracts_example(service_url, contract):
    spec = httpx.get(f"{service_url}/docs.json", timeout=10).json()
    assert spec["components"]["schemas"]["Record"]["example"] == contract["example"]
    assert set(spec["components"]["schemas"]["Record"]["properties"]) == set(contract["fields"])
