"""Starting, stopping and slow clients: the server process behaves as Kubernetes and a load balancer expect."""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psutil
import pytest
from conftest import PROJECT_DIR
from live_service import (
    free_port,
    requests_counted,
    running_service,
    service_log,
    until_closed,
    wait_until_ready,
    workers,
)

from scoring import bentoml_fixes, settings
from scoring.model_store import TAG_OVERRIDE
from scoring.serving import IDLE_DRAIN_SECONDS, SHUTDOWN_SECONDS, SLOW_CLIENT_SECONDS

pytestmark = pytest.mark.own_server


@contextmanager
def bentoml_serve(env: dict[str, str], tmp_path) -> Iterator[tuple[subprocess.Popen, int]]:
    """`bentoml serve` on a free port, ready; whatever is left of its process group is killed at the end."""
    port, log = free_port(), tmp_path / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(serve_command(port), cwd=PROJECT_DIR, env=env, stdout=output,
                                  stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        wait_until_ready(f"http://127.0.0.1:{port}", server, log, timeout=90)
        yield server, port
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", str(port)]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_kill_9_of_bentoml_serve_takes_its_worker_down_and_frees_the_port(serve_env, tmp_path):
    with bentoml_serve(serve_env, tmp_path) as (server, port):
        [worker] = workers(f"http://127.0.0.1:{port}")
        assert worker.environ()[bentoml_fixes.SERVE_PID] == str(server.pid) == str(worker.ppid())  # its parent, named
        os.kill(server.pid, signal.SIGKILL)  # the worker, in the same group, is spared: only its parent dies
        server.wait()
        deadline = time.monotonic() + 10
        while not port_is_free(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert port_is_free(port), "the worker outlived bentoml serve and still holds the port"


def test_sigterm_does_not_wait_for_a_half_sent_request_beyond_the_grace_period(serve_env, tmp_path):
    with bentoml_serve(serve_env, tmp_path) as (server, port), socket.create_connection(("127.0.0.1", port)) as stalled:
        stalled.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
        time.sleep(1)
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=SHUTDOWN_SECONDS + 20)
        assert time.monotonic() - started < SHUTDOWN_SECONDS + 10  # Kubernetes waits 30 s before SIGKILL


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def test_sigterm_answers_every_request_already_sent_and_closes_idle_connections_cleanly(serve_env, tmp_path, contract):
    body = json.dumps(contract["example"]).encode()
    decide = b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    with bentoml_serve(serve_env, tmp_path) as (_, port):
        [worker] = workers(f"http://127.0.0.1:{port}")
        idle = [socket.create_connection(("127.0.0.1", port), timeout=SHUTDOWN_SECONDS + 5) for _ in range(6)]
        for connection in idle:  # kept alive after an answer, as a load balancer's pool keeps them
            connection.sendall(HEALTH)
            assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        in_flight = socket.create_connection(("127.0.0.1", port), timeout=SHUTDOWN_SECONDS + 5)
        in_flight.sendall(decide % len(body) + body[:10])
        worker.send_signal(signal.SIGTERM)  # as bentoml serve passes Kubernetes' on
        time.sleep(IDLE_DRAIN_SECONDS / 3)  # (uvicorn looks for it every 0.1 s)
        for connection in idle[:3]:  # a request on its way as the server is told to stop
            connection.sendall(decide % len(body) + body)
        in_flight.sendall(body[10:] + HEALTH)  # the rest of its body, and one more request behind it
        for connection in idle[:3]:
            answer = until_closed(connection)
            assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" in answer and b'"status"' in answer
        for connection in idle[3:]:
            assert until_closed(connection) == b""  # closed, not reset
        answers = until_closed(in_flight)
        assert re.findall(rb"HTTP/1.1 (\d+)", answers) == [b"200", b"200"] and answers.count(b"connection: close") == 1
        worker.wait(timeout=SHUTDOWN_SECONDS)


def test_a_connection_that_never_finishes_its_request_head_is_closed(service_url):
    host, port = service_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=SLOW_CLIENT_SECONDS + 10) as slow:
        slow.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        started = time.monotonic()
        answer = slow.recv(1024)
        assert answer.startswith(b"HTTP/1.1 408") and slow.recv(1024) == b""  # then closed
    assert time.monotonic() - started < SLOW_CLIENT_SECONDS + 3


def test_a_connection_that_answered_then_stalls_in_its_next_request_head_is_closed(service_url, contract):
    # (A connection idle after an answer is uvicorn's: it closes it after 5 s; once a byte of the next request
    # arrives, uvicorn's timer is off and ours applies.)
    host, port = service_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2 * SLOW_CLIENT_SECONDS + 10)
    connection.request("POST", "/classify", json.dumps(contract["example"]), {"Content-Type": "application/json"})
    response = connection.getresponse()
    assert response.status == 200 and response.read()
    answered = time.monotonic()
    connection.sock.sendall(b"POST /classify HTTP/1.1\r\nHost: x\r\n")  # and nothing more
    assert connection.sock.recv(1024).startswith(b"HTTP/1.1 408") and connection.sock.recv(1024) == b""
    assert time.monotonic() - answered < 2 * SLOW_CLIENT_SECONDS + 3  # one check every SLOW_CLIENT_SECONDS


@pytest.fixture(scope="module")
def two_workers(serve_env, tmp_path_factory) -> Iterator[tuple[dict[str, str], int]]:
    env = {**serve_env, f"{settings.ENV_PREFIX}WORKERS": "2"}
    with bentoml_serve(env, tmp_path_factory.mktemp("two_workers")) as (_, port):
        yield env, port


def test_two_workers_share_out_connections_made_at_once(two_workers, contract):
    _, port = two_workers
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(16)]
    for connection in connections:  # all 16 connected before any request: as a gateway's pool opens
        connection.connect()
    body, headers = json.dumps(contract["example"]), {"Content-Type": "application/json"}
    for connection in connections:
        connection.request("POST", "/classify", body, headers)
    assert [connection.getresponse().status for connection in connections] == [200] * 16
    # Each worker has a socket of its own and the kernel chooses one by the client's address: all 16 on
    # one worker by chance is 1 in 30,000. Sharing one socket, they landed on one worker at every start.
    held = [sum(peer.status == psutil.CONN_ESTABLISHED and peer.laddr.port == port for peer in worker.net_connections())
            for worker in workers(f"http://127.0.0.1:{port}")]  # fmt: skip
    for connection in connections:
        connection.close()
    assert len(held) == 2 and min(held) > 0, f"connections held by each worker: {held}"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_second_server_on_the_port_stops_at_start_in_one_line(two_workers, workers):
    env, port = two_workers  # each worker's socket allows others on its port: only a server that does too
    env = {**env, f"{settings.ENV_PREFIX}WORKERS": workers}
    result = subprocess.run(serve_command(port), cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and f"127.0.0.1:{port}: address already in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # (BentoML prints a traceback)


def start_up_failure(env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bentoml", "serve", "--port", "0"]
    return subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)


def test_a_mistyped_setting_stops_start_up_naming_it(serve_env):
    result = start_up_failure({**serve_env, f"{settings.ENV_PREFIX}DECLINE_TRESHOLD": "0.6"})
    assert result.returncode != 0
    assert (f"unknown setting {settings.ENV_PREFIX}DECLINE_TRESHOLD "
            f"(did you mean {settings.ENV_PREFIX}DECLINE_THRESHOLD?)") in result.stderr  # fmt: skip


@pytest.mark.parametrize("setting", ["WORKERS", "METRICS"])
def test_a_bad_serving_option_stops_start_up_naming_it(serve_env, setting):
    result = start_up_failure({**serve_env, f"{settings.ENV_PREFIX}{setting}": "lots"})
    assert result.returncode != 0 and f"{settings.ENV_PREFIX}{setting}:" in result.stderr


def test_a_missing_model_is_named_with_what_to_do(serve_env, tmp_path):
    result = start_up_failure({**serve_env, "BENTOML_HOME": str(tmp_path), TAG_OVERRIDE: "nosuch_model:v1"})
    assert result.returncode != 0
    assert "model nosuch_model:v1 (served_model.txt) is not in the BentoML model store" in result.stderr
    assert "python train.py" in result.stderr and "BentoCloud" not in result.stderr + result.stdout


@pytest.mark.parametrize("damage", ["custom_objects.pkl", "saved_model.ubj"])
def test_a_damaged_model_in_the_store_stops_start_up_in_one_line(serve_env, tmp_path, damage):
    """BentoML restarts a worker whose model will not load every 10 s for ever, or prints a traceback."""
    home = tmp_path / "bentoml_home"
    shutil.copytree(serve_env["BENTOML_HOME"], home, ignore=shutil.ignore_patterns("prometheus_multiproc_dir"))
    [version] = [path for path in (home / "models" / f"{settings.MODEL_NAME}").iterdir() if path.is_dir()]
    damaged = version / damage
    if not damaged.exists():
        pytest.skip(f"this framework saves no {damage}")
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    result = start_up_failure({**serve_env, "BENTOML_HOME": str(home)})
    assert result.returncode != 0
    assert "in the BentoML model store is damaged" in result.stderr and "Traceback" not in result.stderr


def test_observability_switches_at_serve_time(serve_env, contract):
    env = {**serve_env, f"{settings.ENV_PREFIX}METRICS": "false", f"{settings.ENV_PREFIX}DECISION_LOG": "false"}
    with running_service(PROJECT_DIR, env) as url:
        assert httpx.post(f"{url}/classify", json=contract["example"]).status_code == 200
        assert httpx.get(f"{url}/metrics").status_code == 404


def test_bentomls_access_log_and_metrics_see_the_decision_routes_when_the_access_log_is_on(serve_env, contract):
    env = {**serve_env, f"{settings.ENV_PREFIX}ACCESS_LOG": "true"}
    with running_service(PROJECT_DIR, env) as url:
        assert httpx.post(f"{url}/classify", json=contract["example"]).status_code == 200
        assert requests_counted(url, "/classify", 200) == 1  # by BentoML's metrics alone
        log = service_log(url, env).read_text()
    assert [line for line in log.splitlines() if "path=/classify" in line and "status=200" in line]
