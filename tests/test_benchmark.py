"""The generated project's benchmark runs end to end, at a small size: it measures, it does not judge."""

import re
import shutil
import sys

import pytest

LOADS = ["/classify, 16 clients", "/classify, 64 clients", "/classify_batch of 64, 16 clients",
         "/classify_batch of 64, 1 client", "/classify_batch of 1, 1 client"]  # fmt: skip
# | load | server | requests/s | records/s | p50 ms | p99 ms | failed | vs FastAPI | vs floor | vs BentoML |
ROW = re.compile(r"\| (?P<load>[^|]+) \| (?P<server>\w+) \| (?P<rate>[\d,]+) \| [\d,]+ \| [\d.]+ \| [\d.]+ "
                 r"\| (?P<failed>\d+) \| (?P<fastapi>[\d.]*x?) \| (?P<floor>[\d.]*x?) "
                 r"\| (?P<bentoml>[\d.]*x?) \|")  # fmt: skip
SERVERS = ("floor", "bentoml", "fastapi", "service")


@pytest.mark.parametrize("client", ["wrk", "python"])
def test_benchmark_compares_the_service_with_fastapi_the_floor_and_bentoml_alone(bake, tmp_path, client):
    if client == "wrk" and not shutil.which("wrk"):
        pytest.skip("wrk is not installed (.ci/run installs it from Debian)")
    project = bake()
    report, chart = tmp_path / "report.md", tmp_path / "chart.png"
    command = [sys.executable, "benchmarks/benchmark.py", "--rounds", "1", "--seconds", "1", "--client", client]
    result = project.run(*command, "--output", str(report), "--chart", str(chart))
    rows = [match.groupdict() for line in result.stdout.splitlines() if (match := ROW.fullmatch(line))]
    one_record = [(load, server) for load in LOADS[:2] for server in SERVERS]
    assert [(row["load"], row["server"]) for row in rows][:8] == one_record
    assert [row["load"] for row in rows if row["server"] == "service"] == LOADS
    assert all(int(row["rate"].replace(",", "")) > 0 and row["failed"] == "0" for row in rows)
    ratios = {(row["load"], row["server"]): (row["fastapi"], row["floor"], row["bentoml"]) for row in rows}
    for load in LOADS[:2]:  # the service against all three; BentoML's floor against FastAPI and the floor
        assert [ratio.endswith("x") for ratio in ratios[load, "service"]] == [True, True, True]
        assert [ratio.endswith("x") for ratio in ratios[load, "bentoml"]] == [True, True, False]
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("- ")]
    assert len(verdicts) == 11 and all(re.match(r"- (PASS|MISS): .* \(measured: .+\)$", line) for line in verdicts)
    assert sum("BentoML's floor" in line for line in verdicts) == 6  # the one-record targets, each with its figure
    assert report.read_text().strip() in result.stdout and chart.stat().st_size > 10_000
    assert ("the Python client shares the CPU" in result.stderr) == (client == "python")
