"""benchmarks/load_test.py against the running service: a row a load, every request answered."""

import re
import shutil
import subprocess
import sys

from conftest import PROJECT_DIR

from benchmarks import load_test
from scoring.policy import load_policy

# | load | requests/s | records/s | p50 ms | p99 ms | p99 ms, wrk's | failed |
ROW = re.compile(r"\| ([^|]+) \| ([\d,]+) \| ([\d,]+) \| [\d.]+ \| [\d.]+ \| [\d.]* \| (\d+) \|")


def test_the_load_test_reports_each_load_of_a_running_service(service_url, serve_env):
    client = "wrk" if shutil.which("wrk") else "python"  # the Python client where wrk is not installed
    command = [sys.executable, "benchmarks/load_test.py", "--url", service_url, "--seconds", "1", "--client", client]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=serve_env, capture_output=True, text=True, check=True)
    rows = [match.groups() for line in result.stdout.splitlines() if (match := ROW.fullmatch(line))]
    loads = [load for load, *_ in rows]
    assert loads[:2] == ["/classify, an approved record, 16 clients", "/classify, an approved record, 64 clients"]
    batches = "/classify_batch of 64 validation records"
    assert loads[-2:] == [f"{batches}, 16 clients", f"{batches}, 1 client"]
    assert all(int(rate.replace(",", "")) > 0 and failed == "0" for _, rate, _, failed in rows)
    assert ("the Python client shares the CPU" in result.stderr) == (client == "python")
    assert "worker memory" not in result.stdout  # a service it did not start is not its to measure


def test_without_a_declined_validation_record_the_decline_load_is_left_out(monkeypatch):
    """Thresholds raised above every validation row's probability: nothing to time a decline's reasons with."""
    approved = load_policy().approved_label
    monkeypatch.setattr(load_test, "band_examples", lambda url, records: {approved: records[0]})
    names = [load.name for load in load_test.loads("http://127.0.0.1:1")]
    assert len(names) == 4 and not [name for name in names if "declined" in name]
