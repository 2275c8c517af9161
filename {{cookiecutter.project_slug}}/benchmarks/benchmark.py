"""Load test: the BentoML service against a bare Starlette baseline serving the same model.

Starts both on free localhost ports with the latest trained model, sends single-record
requests from 1, 16 and 64 concurrent clients, and prints requests/s, p50 and p99 latency and the
service/baseline ratios. A measurement, not a test: it always exits 0.

python benchmarks/benchmark.py [--requests 2000] [--concurrency 1 16 64] [--output results.md]
"""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import aiohttp
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR / "tests"))
from live_service import running_server, running_service  # noqa: E402

BASELINE = [sys.executable, "-m", "uvicorn", "benchmarks.baseline:app", "--port", "{port}", "--log-level", "warning"]
# (name, server, path, body): the batch endpoint gets one record per request too,
# so it only gains from BentoML's adaptive batching of concurrent requests.
EXAMPLE = yaml.safe_load((PROJECT_DIR / "contract.yaml").read_text(encoding="utf-8"))["example"]
MODES = [
    ("baseline /classify", "baseline", "/classify", EXAMPLE),
    ("service /classify", "service", "/classify", EXAMPLE),
    ("service /classify_batch", "service", "/classify_batch", {"records": [EXAMPLE]}),
]
P99_TARGET_MS = 50


async def load(url: str, path: str, body: dict, requests: int, clients: int, seconds: float) -> dict[str, float]:
    """Send up to `requests` requests (for at most `seconds`) from `clients` concurrent clients."""
    latencies: list[float] = []
    errors = 0
    pending = iter(range(requests))
    deadline = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for _ in pending:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            async with session.post(path, json=body) as response:
                await response.read()
            if response.status == 200:
                latencies.append(time.perf_counter() - started)
            else:  # e.g. 503: BentoML sheds load it cannot serve within the batch's max latency
                errors += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(url, connector=connector, timeout=aiohttp.ClientTimeout(30)) as session:
        async with session.post(path, json=body) as warm_up:
            await warm_up.read()
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "errors": errors,
        "p50": 1000 * latencies[len(latencies) // 2],
        "p99": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


def measure(args: argparse.Namespace) -> dict[tuple[str, int], dict[str, float]]:
    env = dict(os.environ)
    with running_service(PROJECT_DIR, env) as service, running_server(BASELINE, PROJECT_DIR, env) as baseline:
        urls = {"service": service, "baseline": baseline}
        return {
            (name, clients): asyncio.run(load(urls[server], path, body, args.requests, clients, args.seconds))
            for clients in args.concurrency
            for name, server, path, body in MODES
        }


def report(results: dict[tuple[str, int], dict[str, float]], concurrency: list[int]) -> str:
    lines = [
        "| clients | endpoint | requests/s | p50 ms | p99 ms | errors | vs baseline |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for clients in concurrency:
        baseline = results["baseline /classify", clients]["rps"]
        for name, *_ in MODES:
            result = results[name, clients]
            ratio = result["rps"] / baseline
            rps, p50, p99, errors = result["rps"], result["p50"], result["p99"], result["errors"]
            lines.append(f"| {clients} | {name} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {errors:.0f} | {ratio:.2f}x |")
            if name == "service /classify":
                verdicts.append(verdict(f"single-row throughput at {clients} clients >= 0.8x baseline", ratio >= 0.8))
            if name == "service /classify_batch" and clients == max(concurrency):
                verdicts.append(verdict(f"batched throughput at {clients} clients >= 2x baseline", ratio >= 2))
            if name != "baseline /classify":
                verdicts.append(verdict(f"{name} p99 at {clients} clients < {P99_TARGET_MS} ms", p99 < P99_TARGET_MS))
    return "\n".join(lines + [""] + verdicts)


def verdict(target: str, met: bool) -> str:
    return f"- {'PASS' if met else 'MISS'}: {target}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint and level (%(default)s)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64], help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60, help="time cap per endpoint and level (%(default)s)")
    parser.add_argument("--output", type=Path, help="also write the markdown report to this file")
    args = parser.parse_args()
    text = report(measure(args), args.concurrency)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
