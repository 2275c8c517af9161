"""The real service under `bentoml serve` on a free localhost port, and applications to send it."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

# With the default training data (seed 42) these land well inside each band of the default thresholds.
LOW_RISK = {
    "seniority": 20, "home": "owner", "time": 24, "age": 45, "marital": "married", "records": "no",
    "job": "fixed", "expenses": 50, "income": 300, "assets": 20000, "debt": 0, "amount": 500, "price": 2000,
}  # fmt: skip
MEDIUM_RISK = {
    "seniority": 2, "home": "rent", "time": 36, "age": 30, "marital": "single", "records": "no",
    "job": "freelance", "expenses": 60, "income": 200, "assets": 5000, "debt": 0, "amount": 1000, "price": 1400,
}  # fmt: skip
HIGH_RISK = {
    "seniority": 0, "home": "rent", "time": 60, "age": 22, "marital": "single", "records": "yes",
    "job": "partime", "expenses": 100, "income": 60, "assets": 0, "debt": 3000, "amount": 2500, "price": 2600,
}  # fmt: skip
RISK_LADDER = (LOW_RISK, MEDIUM_RISK, HIGH_RISK)


def classify(url: str, body) -> httpx.Response:
    return httpx.post(f"{url}/classify", json=body, timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_service(project_dir: Path, env: dict[str, str], timeout: float = 90) -> Iterator[str]:
    """Serve the project in `project_dir` with `bentoml serve`; yield its base URL once /readyz answers 200."""
    serve = [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    with running_server(serve, project_dir, env, timeout) as url:
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
