"""The real service under `bentoml serve` on a free localhost port, and records to send it."""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil


def classify(url: str, body) -> httpx.Response:
    return httpx.post(f"{url}/classify", json=body, timeout=10)


def requests_counted(url: str, path: str, status: int) -> float:
    """BentoML's request counter for `path` answered with `status`, as the service's /metrics shows it."""
    return _metric(url, "request_total", f'endpoint="{path}",http_response_code="{status}",')


def requests_in_progress(url: str, path: str) -> float:
    """BentoML's gauge of the requests to `path` in progress, as the service's /metrics shows it."""
    return _metric(url, "request_in_progress", f'endpoint="{path}",')


def _metric(url: str, name: str, labels: str) -> float:
    pattern = re.escape(name) + r"\{" + re.escape(labels) + r"[^}]*\} (\S+)"
    return sum(float(value) for value in re.findall(pattern, httpx.get(f"{url}/metrics").text))


def wait_for(condition, seconds: float = 10) -> bool:
    """Whether `condition()` came true within `seconds`, asked every tenth of a second."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def band_examples(url: str, records: list[dict]) -> dict[str, dict]:
    """For each status the service gives these records, the record at the median probability of that status."""
    by_status: dict[str, list[tuple[float, dict]]] = {}
    for start in range(0, len(records), 500):
        chunk = records[start : start + 500]
        response = httpx.post(f"{url}/classify_batch", json={"records": chunk}, timeout=60)
        response.raise_for_status()
        for record, decision in zip(chunk, response.json(), strict=True):
            by_status.setdefault(decision["status"], []).append((decision["probability"], record))
    return {status: _median(scored) for status, scored in by_status.items()}


def _median(scored: list[tuple[float, dict]]) -> dict:
    return sorted(scored, key=lambda pair: pair[0])[len(scored) // 2][1]


def worker_memory_mib(url: str) -> float:
    """Resident memory of the HTTP worker(s) of the `bentoml serve` listening at `url`."""
    return sum(worker.memory_info().rss for worker in workers(url)) / 2**20


def workers(url: str) -> list[psutil.Process]:
    """The HTTP worker processes of the `bentoml serve` listening at `url`."""
    port = url.rsplit(":", 1)[1]
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "serve" in command and port in command:
            return [child for child in process.children(recursive=True)
                    if "_bentoml_impl.worker.service" in " ".join(child.cmdline())]  # fmt: skip
    raise LookupError(f"no bentoml serve listening at {url}")


def until_closed(connection: socket.socket) -> bytes:
    """All the server sends until it closes the connection; ConnectionResetError if it resets it."""
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_service(project_dir: Path, env: dict[str, str], timeout: float = 90, target: str = "") -> Iterator[str]:
    """Serve the project in `project_dir` (or another `target` there) with `bentoml serve`; yield its base URL
    once /readyz answers 200."""
    serve = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    with running_server([*serve, target] if target else serve, project_dir, env, timeout) as url:
        yield url


@contextmanager
def running_server(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 90) -> Iterator[str]:
    """Run `command` (its "{port}" replaced by a free port) until /readyz answers 200; yield its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = service_log(url, env)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [part.replace("{port}", str(port)) for part in command],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_ready(url, process, log_path, timeout)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)


def service_log(url: str, env: dict[str, str]) -> Path:
    """Where running_server writes the output of the server it started at `url`."""
    return Path(env.get("BENTOML_HOME") or tempfile.gettempdir()) / f"serve-{url.rsplit(':', 1)[1]}.log"


def wait_until_ready(url: str, process: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout}s:\n{log_path.read_text()[-3000:]}")
