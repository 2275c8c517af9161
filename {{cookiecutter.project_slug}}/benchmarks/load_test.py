"""Load test: this service under load on your hardware, from wrk (a compiled load generator) where installed.

Serves the project (`bentoml serve` on a free localhost port, the served model and your settings) or loads
one already running (--url), then prints, for each load: requests/s, records/s, p50 and p99 latency and the
failed requests, as Markdown; and, for a service it started, the workers' memory before and after and the
garbage-collection pauses the service warned about. A measurement, not a test: it exits 0 whatever the numbers.

python benchmarks/load_test.py                          # about a minute
python benchmarks/load_test.py --seconds 30 --output report.md
python benchmarks/load_test.py --url http://127.0.0.1:3000
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT_DIR), str(PROJECT_DIR / "tests")]
from examples import validation_records  # noqa: E402
from live_service import band_examples, running_service, service_log, worker_memory_mib  # noqa: E402

from scoring.policy import load_policy  # noqa: E402
from scoring.serving import gc_pauses_in  # noqa: E402


@dataclass(frozen=True)
class Load:
    name: str
    path: str
    body: dict
    clients: int

    @property
    def rows(self) -> int:
        return len(self.body["records"]) if self.path == "/classify_batch" else 1


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float  # raw latencies: each request timed from its sending to its answer
    p99_ms: float
    failed: int
    corrected_p99_ms: float | None = None  # wrk's own, corrected for coordinated omission


def loads(url: str) -> list[Load]:
    """Typical records of your data: the validation rows' approved and declined medians, and batches of them."""
    policy, records = load_policy(), validation_records()
    examples = band_examples(url, records)
    approved, batch = examples.get(policy.approved_label, records[0]), {"records": records[:64]}
    chosen = [Load("/classify, an approved record, 16 clients", "/classify", approved, 16),
              Load("/classify, an approved record, 64 clients", "/classify", approved, 64)]  # fmt: skip
    if (declined := examples.get(policy.declined_label)) is not None:  # with its reasons, where the rows have one
        chosen.append(Load("/classify, a declined record, 16 clients", "/classify", declined, 16))
    return [*chosen, Load("/classify_batch of 64 validation records, 16 clients", "/classify_batch", batch, 16),
            Load("/classify_batch of 64 validation records, 1 client", "/classify_batch", batch, 1)]  # fmt: skip


def wrk(url: str, load: Load, seconds: float) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as body:
        json.dump(load.body, body)
        body.flush()
        env = {**os.environ, "BODY_FILE": body.name, "REQUEST_PATH": load.path}
        script = str(Path(__file__).with_name("wrk.lua"))
        # One connection a thread, for wrk.lua to time each request; a slow answer is slow, not failed.
        clients = f"-t{load.clients}", f"-c{load.clients}", "--timeout", "30s"
        command = ["wrk", *clients, f"-d{max(1, round(seconds))}s", "-s", script, url]
        output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    summary = json.loads(output.strip().splitlines()[-1])
    rate = summary["requests"] / summary["seconds"]
    p50, p99, corrected_p99 = (summary[key] / 1000 for key in ("p50_us", "p99_us", "corrected_p99_us"))
    return Result(rate, p50, p99, summary["failed"], corrected_p99)


def python_client(url: str, load: Load, seconds: float) -> Result:
    """The fallback: aiohttp clients in this process, each sending its next request once answered."""
    import aiohttp

    async def run() -> Result:
        latencies, failed, deadline = [], 0, time.monotonic() + seconds

        async def client(session: aiohttp.ClientSession) -> None:
            nonlocal failed
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    async with session.post(load.path, json=load.body) as response:
                        await response.read()
                except aiohttp.ClientError:  # a refused or dropped connection is a failed request, as wrk counts it
                    failed += 1
                    continue
                latencies.append(time.perf_counter() - started)
                failed += response.status != 200

        async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=load.clients)) as session:
            started = time.perf_counter()
            await asyncio.gather(*(client(session) for _ in range(load.clients)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        p50, p99 = (1000 * latencies[min(len(latencies) - 1, int(len(latencies) * share))] for share in (0.5, 0.99))
        return Result(len(latencies) / elapsed, p50, p99, failed)

    return asyncio.run(run())


def load_generator(choice: str):
    """wrk, unless asked for the Python client or wrk is missing: then the Python client, with a warning."""
    if choice == "wrk" and shutil.which("wrk"):
        return wrk
    why = "--client python" if shutil.which("wrk") else "wrk is not installed (Debian: apt install wrk)"
    print(f"warning: {why}: the Python client shares the CPU with the service, so every number understates it",
          file=sys.stderr)  # fmt: skip
    return python_client


def warm_up(client, runs: list[tuple[Load, str, str]]) -> None:
    """A second of each run: imports, caches, the allocator's arenas."""
    for load, _, url in runs:
        client(url, load, 1)


def run_rounds(client, runs: list[tuple[Load, str, str]], rounds: int, seconds: float) -> dict[tuple[str, str], list]:
    """Each (load, server name, URL) run once a round; (load name, server) -> a result a round."""
    results = {(load.name, server): [] for load, server, _ in runs}
    for round_ in range(1, rounds + 1):
        for step, (load, server, url) in enumerate(runs, 1):
            result = client(url, load, seconds)
            results[load.name, server].append(result)
            progress = f"[round {round_}/{rounds}, {step}/{len(runs)}] {server} {load.name}"
            print(f"{progress}: {result.requests_per_second:,.0f}/s, p99 {result.p99_ms:.1f} ms", flush=True)
    return results


def median(results: list[Result], field: str) -> float:
    return statistics.median(getattr(result, field) for result in results)


def report(loads_run: list[Load], results: dict[tuple[str, str], list[Result]], client: str) -> list[str]:
    lines = [f"Load from {client}; the median of the rounds.", "",
             "| load | requests/s | records/s | p50 ms | p99 ms | p99 ms, wrk's | failed |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    return lines + [f"| {load.name} | {result_cells(load, results[load.name, 'service'])} |" for load in loads_run]


def result_cells(load: Load, rounds: list[Result]) -> str:
    """A load's Markdown cells: requests/s | records/s | p50 ms | p99 ms | wrk's p99 ms | failed (medians)."""
    rate = median(rounds, "requests_per_second")
    corrected = "" if rounds[0].corrected_p99_ms is None else f"{median(rounds, 'corrected_p99_ms'):.1f}"
    return (f"{rate:,.0f} | {rate * load.rows:,.0f} | {median(rounds, 'p50_ms'):.1f} | "
            f"{median(rounds, 'p99_ms'):.1f} | {corrected} | {sum(result.failed for result in rounds)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running service to load (default: serve this project)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each run (%(default)s)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over every load (%(default)s)")
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk", help="load generator (%(default)s)")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    client = load_generator(args.client)
    with nullcontext(args.url) if args.url else running_service(PROJECT_DIR, dict(os.environ)) as url:
        loads_run, started_here = loads(url), not args.url
        runs = [(load, "service", url) for load in loads_run]
        warm_up(client, runs)
        memory_before = worker_memory_mib(url) if started_here else None
        results = run_rounds(client, runs, args.rounds, args.seconds)
        lines = report(loads_run, results, "wrk" if client is wrk else "the Python client")
        if started_here:
            pauses = gc_pauses_in(service_log(url, os.environ).read_text(encoding="utf-8", errors="replace"))
            longest = f", the longest {max(pauses)[0]:.0f} ms" if pauses else ""
            lines += ["", f"- worker memory: {memory_before:.0f} MiB after the warm-up, {worker_memory_mib(url):.0f} "
                      f"MiB at the end", f"- garbage-collection pauses over 20 ms: {len(pauses)}{longest}"]  # fmt: skip
    text = "\n".join(lines)
    print(f"\n{text}")
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
