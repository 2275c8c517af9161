"""What the service refuses and what it never does, against the real server (README, "Security and limits")."""

import json
import re
import socket
import threading
import time

import httpx
import pytest
from conftest import PROJECT_DIR
from jsonschema import Draft202012Validator
from live_service import (
    classify,
    requests_counted,
    requests_in_progress,
    running_service,
    service_log,
    until_closed,
    wait_for,
    worker_memory_mib,
)
from openapi_spec_validator import validate

from scoring import settings
from scoring.decision_routes import MAX_KEY_CHARS, MAX_PROBLEMS
from scoring.schema import MAX_BATCH_SIZE, MAX_BODY_BYTES
from scoring.serving import MAX_HEAD_BYTES, MAX_HEADER_FIELDS, MAX_UPLOADS, RETRY_AFTER_SECONDS, SLOW_CLIENT_SECONDS

API = ["/classify", "/classify_batch"]


def chunked(size: int, chunk: int = 64 * 1024):
    """A body sent without Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, size, chunk):
        yield b" " * min(chunk, size - start)


@pytest.mark.parametrize("path", API)
def test_a_chunked_body_over_the_limit_gets_413_without_being_read_whole(service_url, contract, path):
    response = httpx.post(f"{service_url}{path}", content=chunked(20 * MAX_BODY_BYTES), timeout=30,
                          headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json() == {"error": "Content Too Large", "detail": f"request body over {MAX_BODY_BYTES} bytes"}
    assert classify(service_url, contract["example"]).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_only_json_bodies_are_parsed(service_url, contract, content_type):
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps(contract["example"]).encode()
    response = httpx.post(f"{service_url}/classify", content=body, headers=headers, timeout=10)
    assert response.status_code == 415 and "application/json" in response.json()["detail"]
    json_utf8 = {"content-type": "application/json; charset=utf-8"}
    assert httpx.post(f"{service_url}/classify", content=body, headers=json_utf8).status_code == 200


def test_unknown_paths_add_no_metrics(service_url):
    def size() -> int:
        return len(httpx.get(f"{service_url}/metrics").text)

    httpx.get(f"{service_url}/warm-up-path")
    assert httpx.get(f"{service_url}/static_content/index.css").status_code == 200  # the API page's own files
    before = size()
    for number in range(200):
        assert httpx.get(f"{service_url}/scan/{number}").status_code == 404
        assert httpx.get(f"{service_url}/static_content/scan/{number}").status_code == 404  # BentoML's folder
    assert size() == before
    assert httpx.get(f"{service_url}/classify").status_code == 405  # a known path keeps its own answer


def test_a_rejected_request_is_logged_in_one_line_without_its_values(service_url, serve_env, contract):
    secret = "123-45-6789"
    body = json.dumps({**contract["example"], "ssn": secret, "forged\nkey": 1})  # a line break in a JSON key
    log = service_log(service_url, serve_env)
    before = len(log.read_text().splitlines())
    response = httpx.post(f"{service_url}/classify", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    new = log.read_text().splitlines()[before:]
    rejected = [line for line in new if "rejected POST /classify" in line]
    assert len(rejected) == 1 and "extra_forbidden@<unknown key>" in rejected[0] and "ssn" not in rejected[0]
    assert not [line for line in new if secret in line or line.startswith("key")]
    assert not [line for line in new if "Traceback" in line or "input_value" in line]


def post_logged(service_url: str, serve_env: dict, path: str, content: bytes) -> tuple[httpx.Response, list[str]]:
    """The answer to a JSON POST of `content`, and the lines the server logged for it that say it was rejected."""
    log = service_log(service_url, serve_env)
    before = len(log.read_text().splitlines())
    headers = {"content-type": "application/json"}
    response = httpx.post(f"{service_url}{path}", content=content, headers=headers, timeout=30)
    return response, [line for line in log.read_text().splitlines()[before:] if "rejected POST" in line]


def test_error_bodies_and_their_log_lines_are_bounded(service_url, serve_env, contract):
    many_keys = {f"unknown_key_{number:06d}_{'k' * 24}": 0 for number in range(20_000)}  # about 900 kB
    long_key = {**contract["example"], "k" * 100_000: 1}
    empty_records = {"records": [{}] * MAX_BATCH_SIZE}  # 4 kB: a problem for every field of every record
    for body in (many_keys, long_key, empty_records):
        content = json.dumps(body).encode()
        assert len(content) <= MAX_BODY_BYTES
        path = "/classify_batch" if "records" in body else "/classify"
        response, logged = post_logged(service_url, serve_env, path, content)
        assert response.status_code == 400 and len(response.content) < 8_000
        assert "Descriptor" not in response.text and "validation error for" not in response.text  # no class of ours
        answer = response.json()
        assert 1 <= len(answer["detail"]) <= MAX_PROBLEMS
        assert all(len(str(part)) <= MAX_KEY_CHARS + 3 for problem in answer["detail"] for part in problem["loc"])
        assert len(logged) == 1 and len(logged[0]) < 2_000
    problems = len(contract["fields"]) * MAX_BATCH_SIZE
    assert answer["error"] == f"{problems} problem(s) with the request (the first {MAX_PROBLEMS} listed)"


def raw_answer(service_url: str, request: bytes) -> bytes:
    """Everything the server sends back for `request` until it closes the connection (or 10 s pass)."""
    host, port = service_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        return until_closed(connection)


@pytest.mark.parametrize("head", ["one header over the limit", "too many headers"])
def test_a_request_head_over_its_bounds_gets_431_and_the_connection_is_closed(service_url, contract, head):
    if head == "one header over the limit":
        headers = b"X-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n"
    else:
        headers = b"".join(b"X-Field-%d: 1\r\n" % number for number in range(MAX_HEADER_FIELDS + 1))
    answer = raw_answer(service_url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ") and b"Request Header Fields Too Large" in answer
    many_but_allowed = {f"x-field-{number}": "1" for number in range(MAX_HEADER_FIELDS - 10)}
    body = json.dumps(contract["example"])
    headers = {"content-type": "application/json", "x-token": "t" * (MAX_HEAD_BYTES // 2), **many_but_allowed}
    assert httpx.post(f"{service_url}/classify", content=body, headers=headers).status_code == 200
    padded = body[:-1] + " " * MAX_HEAD_BYTES + "}"  # a whole request in one read: its body is no head
    assert httpx.post(f"{service_url}/classify", content=padded, headers=headers).status_code == 200


def test_a_request_head_still_arriving_past_its_bound_gets_431(service_url):
    host, port = service_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        for _ in range(2):  # one header's value in reads of their own, never ended: past the bound, then no more
            time.sleep(0.2)
            connection.sendall(b"a" * (MAX_HEAD_BYTES // 2))
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 ") and b"over %d bytes" % MAX_HEAD_BYTES in answer


def test_a_body_that_does_not_arrive_in_time_gets_408_while_others_are_answered(service_url, contract):
    host, port = service_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=2 * SLOW_CLIENT_SECONDS + 10) as slow:
        slow.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
        started = time.monotonic()
        assert classify(service_url, contract["example"]).status_code == 200
        answer = slow.recv(4096)
        waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408") and slow.recv(1024) == b""  # then closed
    assert SLOW_CLIENT_SECONDS - 1 < waited < 2 * SLOW_CLIENT_SECONDS + 3  # one check every SLOW_CLIENT_SECONDS


def test_requests_pipelined_without_their_answers_being_read_take_little_memory(service_url):
    host, port = service_url.removeprefix("http://").split(":")
    requests = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 300_000
    before = worker_memory_mib(service_url)
    with socket.create_connection((host, int(port))) as flood:
        flood.settimeout(0.5)
        sent, deadline = 0, time.monotonic() + 5
        while sent < len(requests) and time.monotonic() < deadline:  # until the server stops reading
            try:
                sent += flood.send(requests[sent : sent + 65536])
            except TimeoutError:
                pass
        time.sleep(1)
        held = worker_memory_mib(service_url) - before
    assert held < 64, f"{held:.0f} MiB held for one connection"  # uvicorn queues every request it reads
    assert httpx.get(f"{service_url}/healthz").status_code == 200


def test_pipelined_requests_are_all_answered_in_order_and_leave_no_memory_behind(service_url, contract):
    host, port = service_url.removeprefix("http://").split(":")
    body = json.dumps(contract["example"])
    body = body[:-1] + " " * 10_000 + "}"  # decision requests parsed across several reads
    decide = (b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body.encode()))  # fmt: skip
    health = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    before = worker_memory_mib(service_url)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        for _ in range(500):
            connection.sendall((decide + health) * 5 + health * 90)
            answers = b""
            while answers.count(b"HTTP/1.1 ") < 100 or not answers.endswith(b"\r\n\r\n\n"):  # /healthz: "\n"
                answers += connection.recv(65536)
            statuses = re.findall(rb"HTTP/1.1 (\d+)", answers)
            assert statuses == [b"200"] * 100 and answers.count(b'"status"') == 5
    held = worker_memory_mib(service_url) - before
    assert held < 64, f"{held:.0f} MiB kept after 50,000 pipelined requests"  # each kept the one before's context


def test_each_decision_request_is_counted_once_in_bentomls_metrics(service_url, contract):
    before = {status: requests_counted(service_url, "/classify", status) for status in (200, 400, 415)}
    for _ in range(3):
        assert classify(service_url, contract["example"]).status_code == 200
    assert classify(service_url, {"x": 1}).status_code == 400
    assert httpx.post(f"{service_url}/classify", content=b"{}").status_code == 415
    after = {status: requests_counted(service_url, "/classify", status) for status in (200, 400, 415)}
    assert {status: after[status] - before[status] for status in after} == {200: 3, 400: 1, 415: 1}


@pytest.mark.own_server
def test_a_second_server_on_the_same_model_store_leaves_the_first_ones_metrics(service_url, serve_env, contract):
    before = requests_counted(service_url, "/classify", 200)
    with running_service(PROJECT_DIR, serve_env):  # BentoML 1.4.40 empties the metrics directory as it starts
        assert classify(service_url, contract["example"]).status_code == 200
    assert requests_counted(service_url, "/classify", 200) == before + 1


def test_a_client_leaving_mid_upload_is_neither_an_error_nor_a_traceback(service_url, serve_env):
    log = service_log(service_url, serve_env)
    before, errors_before = len(log.read_text().splitlines()), requests_counted(service_url, "/classify", 500)
    host, port = service_url.removeprefix("http://").split(":")
    leaving = [socket.create_connection((host, int(port))) for _ in range(20)]
    for connection in leaving:
        connection.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
    assert wait_for(lambda: requests_in_progress(service_url, "/classify") == 20)  # each one's body awaited
    for connection in leaving:
        connection.close()
    assert wait_for(lambda: requests_in_progress(service_url, "/classify") == 0)  # each one seen to leave
    new = log.read_text().splitlines()[before:]
    assert not [line for line in new if "Traceback" in line or "ERROR" in line]
    assert requests_counted(service_url, "/classify", 500) == errors_before


def documented(document: dict, path: str, status: int) -> Draft202012Validator:
    """A validator for the body `document` says `path` answers with `status`."""
    inner = json.loads(json.dumps(document).replace("#/components/schemas/", "#/$defs/"))
    schema = inner["paths"][path]["post"]["responses"][str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "$defs": inner["components"]["schemas"]})


def test_the_openapi_document_is_valid_and_describes_the_errors_really_sent(service_url, contract):
    document = httpx.get(f"{service_url}/docs.json").json()
    validate(document)  # openapi-spec-validator, for the version the document declares
    answers = {
        ("/classify", 200): classify(service_url, contract["example"]),
        ("/classify", 400): httpx.post(f"{service_url}/classify", json={"x": 1}),
        ("/classify", 415): httpx.post(f"{service_url}/classify", content=b"{}"),
        ("/classify_batch", 200): httpx.post(f"{service_url}/classify_batch", json={"records": [contract["example"]]}),
        ("/classify_batch", 413): httpx.post(f"{service_url}/classify_batch", json={"x": "x" * MAX_BODY_BYTES}),
    }
    for (path, status), answer in answers.items():
        assert answer.status_code == status
        assert not list(documented(document, path, status).iter_errors(answer.json())), (path, status)


def unread_answers(url: str, body: dict, requests: int = 40) -> socket.socket:
    """A connection that sends `requests` batch requests and reads none of the answers (megabytes of them)."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.socket()
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # (before connecting: the window it offers)
    connection.connect((host, int(port)))
    content = json.dumps(body).encode()
    request = (b"POST /classify_batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(content), content))  # fmt: skip
    threading.Thread(target=connection.sendall, args=(request * requests,), daemon=True).start()
    return connection


def decision_lines(url: str, env: dict) -> int:
    return len(re.findall(r'^\{"event": "decision"', service_log(url, env).read_text(), re.MULTILINE))


@pytest.mark.own_server
def test_overload_answers_429_with_retry_after_and_uploads_hold_no_place(serve_env, contract):
    env = {**serve_env, f"{settings.ENV_PREFIX}MAX_CONCURRENCY": "1"}
    batch = {"records": [contract["example"]] * MAX_BATCH_SIZE}
    with running_service(PROJECT_DIR, env) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as uploading:  # its body never ends
            uploading.sendall(b"POST /classify_batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              b"Content-Length: 100\r\n\r\n{")  # fmt: skip
            assert wait_for(lambda: requests_in_progress(url, "/classify_batch") == 1)
            assert classify(url, contract["example"]).status_code == 200  # slow uploads took every place
        with unread_answers(url, batch):  # the one place: an answer that cannot leave
            assert wait_for(lambda: classify(url, contract["example"]).status_code == 429)
            logged = decision_lines(url, env)
            refused = httpx.post(f"{url}/classify_batch", json=batch, timeout=10)
            assert decision_lines(url, env) == logged  # a refused request decides nothing
        answered = retry_until_answered(f"{url}/classify_batch", batch)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS) and "retry" in refused.json()["detail"]
    assert answered.status_code == 200


def test_bodies_arriving_at_once_are_bounded_and_those_beyond_get_429_unread(service_url, contract):
    host, port = service_url.removeprefix("http://").split(":")
    before = requests_in_progress(service_url, "/classify")
    uploading = [socket.create_connection((host, int(port))) for _ in range(MAX_UPLOADS)]
    try:
        for connection in uploading:  # each body's first byte, then nothing: each holds memory for a body
            connection.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
        assert wait_for(lambda: requests_in_progress(service_url, "/classify") == before + MAX_UPLOADS)
        refused = classify(service_url, contract["example"])
    finally:
        for connection in uploading:
            connection.close()
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert refused.headers["connection"] == "close"  # its body unread
    assert wait_for(lambda: classify(service_url, contract["example"]).status_code == 200)


def test_a_client_that_reads_none_of_its_answers_is_dropped(service_url, contract):
    errors = requests_counted(service_url, "/classify_batch", 500)
    connection = unread_answers(service_url, {"records": [contract["example"]] * MAX_BATCH_SIZE})
    with connection:
        time.sleep(2 * SLOW_CLIENT_SECONDS + 2)  # one check every SLOW_CLIENT_SECONDS
        connection.settimeout(2)
        with pytest.raises((ConnectionResetError, EOFError)):  # not TimeoutError: still held
            while connection.recv(1 << 20):
                pass
            raise EOFError
    assert classify(service_url, contract["example"]).status_code == 200
    assert requests_counted(service_url, "/classify_batch", 500) == errors  # dropped: no error of the service's


def retry_until_answered(url: str, body: dict, attempts: int = 20) -> httpx.Response:
    """What a client told to retry does: wait Retry-After, then try again."""
    for _ in range(attempts):
        response = httpx.post(url, json=body, timeout=10)
        if response.status_code != 429:
            return response
        time.sleep(int(response.headers["retry-after"]))
    return response
