"""The fixes for BentoML itself, each checked against BentoML's own behaviour first: the day a BentoML
release fixes one, its first assertion fails, saying the fix can go."""

import asyncio
import os
import subprocess
import sys
from unittest import mock

from conftest import PROJECT_DIR
from uvicorn.protocols.http import httptools_impl

from scoring import bentoml_fixes

SEND_AS_SHIPPED = httptools_impl.RequestResponseCycle.send
SERVICE = (PROJECT_DIR / "service.py").read_text()


class Written:
    """A transport that keeps each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def writelines(self, parts) -> None:
        self.writes.append(b"".join(parts))

    def close(self) -> None:
        self.writes.append(b"<closed>")

    def is_closing(self) -> bool:
        return False


def writes_of_an_answer(bodies: list[bytes], method: str = "POST", keep_alive: bool = True) -> list[bytes]:
    """What uvicorn's httptools protocol writes for an answer of 200 with these body parts."""
    transport = Written()
    flow = mock.Mock(write_paused=False)
    scope = {"type": "http", "method": method, "path": "/", "http_version": "1.1", "headers": []}

    async def run() -> None:
        cycle = httptools_impl.RequestResponseCycle(scope, transport, flow, mock.Mock(), mock.Mock(), False, [],
                                                    asyncio.Event(), False, keep_alive, lambda: None)  # fmt: skip
        length = str(sum(map(len, bodies))).encode()
        await cycle.send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]})
        for number, body in enumerate(bodies, 1):
            await cycle.send({"type": "http.response.body", "body": body, "more_body": number < len(bodies)})

    asyncio.run(run())
    return transport.writes


def test_an_answers_head_and_body_go_in_one_write():
    try:
        assert len(writes_of_an_answer([b"{}"])) == 2, "uvicorn writes head and body together: drop the fix"
        bentoml_fixes.send_head_with_body()
        [written] = writes_of_an_answer([b"{}"])
        assert written.startswith(b"HTTP/1.1 200 OK\r\n") and written.endswith(b"\r\n\r\n{}")
        joined, second = writes_of_an_answer([b"[1,", b"2]"])  # later parts are written as they come
        assert joined.endswith(b"\r\n\r\n[1,") and second == b"2]"
        [head] = writes_of_an_answer([b"{}"], method="HEAD")  # no body is written: the head goes alone
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
        written, closed = writes_of_an_answer([b"{}"], keep_alive=False)
        assert written.endswith(b"\r\n\r\n{}") and closed == b"<closed>"
    finally:
        httptools_impl.RequestResponseCycle.send = SEND_AS_SHIPPED


ORPHANED_AT_START = """
import os
from scoring import bentoml_fixes
bentoml_fixes.IN_WORKER = True
os.environ[bentoml_fixes.SERVE_PID] = str(os.getppid() + 1_000_000)  # the serve process it was started by: gone
bentoml_fixes.exit_with_parent()
print("still serving")
"""


def test_a_worker_started_after_bentoml_serve_died_exits_at_once():
    """Circus may start a worker as `bentoml serve` stops: adopted before its import, it had no parent to watch."""
    result = subprocess.run([sys.executable, "-c", ORPHANED_AT_START], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (1, ""), result.stderr[-2000:]


def test_metric_folders_left_by_servers_that_died_are_removed(monkeypatch, tmp_path):
    monkeypatch.setattr(bentoml_fixes.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(bentoml_fixes.BentoMLContainer.prometheus_multiproc_dir, "set", lambda directory: None)
    monkeypatch.setattr(bentoml_fixes.atexit, "register", lambda *args, **kwargs: None)
    dead = subprocess.Popen(["true"])
    dead.wait()
    left = tmp_path / f"bentoml-metrics-{dead.pid}-abc"
    running = tmp_path / f"bentoml-metrics-{os.getppid()}-abc"
    for folder in (left, running):
        folder.mkdir()
    bentoml_fixes.metrics_of_its_own()
    assert not left.exists() and running.exists()
    assert [*tmp_path.glob(f"bentoml-metrics-{os.getpid()}-*")]  # its own


def test_the_fixes_are_verified_for_the_installed_versions_and_say_so_for_others(monkeypatch, caplog):
    assert bentoml_fixes.unverified_fixes() == []  # the pinned versions, which the fixes were written for
    monkeypatch.setattr(bentoml_fixes, "version", lambda package: "9.0.0" if package == "uvloop" else
                        bentoml_fixes.WRITTEN_FOR[package])  # fmt: skip
    bentoml_fixes.say_which_fixes_are_unverified()
    assert [record.getMessage() for record in caplog.records] == [
        "uvloop 9.0.0 is installed, the fixes were written for 0.23.0: send_head_with_body unverified "
        "(scoring/bentoml_fixes.py)"
    ]
    fixes = {name for names in bentoml_fixes.FIXES_OF.values() for name in names}
    applied = {line.split("bentoml_fixes.")[1].split("(")[0] for line in SERVICE.splitlines()
               if line.startswith("bentoml_fixes.") and "unverified" not in line}  # fmt: skip
    assert applied - {"say_which_fixes_are_unverified"} <= fixes  # every fix is listed under what it replaces


def test_a_package_the_fixes_replace_missing_is_said_not_a_crash(monkeypatch):
    def version(package: str) -> str:
        if package == "httptools":
            raise bentoml_fixes.PackageNotFoundError(package)
        return bentoml_fixes.WRITTEN_FOR[package]

    monkeypatch.setattr(bentoml_fixes, "version", version)
    assert bentoml_fixes.unverified_fixes() == [
        "httptools is not installed, the fixes were written for 0.9.0: bound_request_heads, bound_pipelined_requests "
        "unverified (scoring/bentoml_fixes.py)"
    ]
