"""The generated project's benchmark runs end to end (at a small size: it measures, it does not judge)."""

import re
import sys

ENDPOINTS = ["baseline /classify", "service /classify", "service /classify_batch"]
# | clients | endpoint | requests/s | p50 ms | p99 ms | errors | vs baseline |
ROW = re.compile(
    r"\| (?P<clients>\d+) \| (?P<endpoint>[a-z]+ /[a-z_]+) \| (?P<rps>\d+) \| [\d.]+ \| [\d.]+ "
    r"\| (?P<errors>\d+) \| (?P<ratio>[\d.]+)x \|"
)


def test_benchmark_compares_the_service_with_its_baseline(bake, tmp_path):
    project = bake()
    report = tmp_path / "report.md"
    command = [sys.executable, "benchmarks/benchmark.py", "--requests", "60", "--concurrency", "1", "4"]
    output = project.run(*command, "--output", str(report)).stdout
    rows = [match.groupdict() for line in output.splitlines() if (match := ROW.fullmatch(line))]
    assert [(row["clients"], row["endpoint"]) for row in rows] == [(c, e) for c in ("1", "4") for e in ENDPOINTS]
    assert all(int(row["rps"]) > 0 and row["errors"] == "0" for row in rows)
    assert [row["ratio"] for row in rows if row["endpoint"] == ENDPOINTS[0]] == ["1.00", "1.00"]
    verdicts = [line for line in output.splitlines() if line.startswith("- ")]
    assert len(verdicts) == 2 * 3 + 1 and all(re.match(r"- (PASS|MISS): ", line) for line in verdicts)
    assert report.read_text().strip() == output.strip()
