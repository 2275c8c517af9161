"""The generated project's benchmark runs end to end, at a small size: it measures, it does not judge."""

import re
import shutil
import sys

import pytest

LOADS = ["/classify, 16 clients", "/classify, 64 clients", "/classify_batch of 64, 16 clients",
         "/classify_batch of 64, 1 client", "/classify_batch of 1, 1 client"]  # fmt: skip
# | load | server | requests/s | records/s | p50 ms | p99 ms | failed | vs FastAPI | vs floor |
ROW = re.compile(r"\| (?P<load>[^|]+) \| (?P<server>\w+) \| (?P<rate>[\d,]+) \| [\d,]+ \| [\d.]+ \| [\d.]+ "
                 r"\| (?P<failed>\d+) \| (?P<fastapi>[\d.]*x?) \| (?P<floor>[\d.]*x?) \|")  # fmt: skip


@pytest.mark.parametrize("client", ["wrk", "python"])
def test_benchmark_compares_the_service_with_fastapi_and_the_floor(bake, tmp_path, client):
    if client == "wrk" and not shutil.which("wrk"):
        pytest.skip("wrk is not installed (.ci/run installs it from Debian)")
    project = bake()
    report, chart = tmp_path / "report.md", tmp_path / "chart.png"
    command = [sys.executable, "benchmarks/benchmark.py", "--rounds", "1", "--seconds", "1", "--client", client]
    result = project.run(*command, "--output", str(report), "--chart", str(chart))
    rows = [match.groupdict() for line in result.stdout.splitlines() if (match := ROW.fullmatch(line))]
    servers = ("floor", "fastapi", "service")
    assert [(row["load"], row["server"]) for row in rows][:3] == [(LOADS[0], server) for server in servers]
    assert [row["load"] for row in rows if row["server"] == "service"] == LOADS
    assert all(int(row["rate"].replace(",", "")) > 0 and row["failed"] == "0" for row in rows)
    compared = [row for row in rows if row["server"] == "service" and row["load"] in LOADS[:2]]
    assert all(row["fastapi"].endswith("x") and row["floor"].endswith("x") for row in compared)
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("- ")]
    assert len(verdicts) == 11 and all(re.match(r"- (PASS|MISS): .* \(measured: .+\)$", line) for line in verdicts)
    assert report.read_text().strip() in result.stdout and chart.stat().st_size > 10_000
    assert ("the Python client shares the CPU" in result.stderr) == (client == "python")
