"""The measurement of benchmarks/compare.py: imported once the measured project is on sys.path."""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import yaml
from live_service import running_server, running_service, service_log, worker_memory_mib
from load_test import PROJECT_DIR, Load, Result, load_generator, median, result_cells, run_rounds, warm_up, wrk
from load_test import loads as project_loads

from scoring.serving import gc_pauses_in, load_options
from scoring.settings import ENV_PREFIX

UVICORN = [sys.executable, "-m", "uvicorn", "--port", "{port}", "--log-level", "warning", "--no-access-log"]
PEERS = {"fastapi": "peers:fastapi_app", "fastapi-sync": "peers:fastapi_sync_app", "floor": "peers:floor_app"}
BENTOML_FLOOR = "bentoml_floor:Floor"
SERVERS = ("floor", "bentoml", "fastapi-sync", "fastapi", "service")  # in the table's and the chart's order
COMPARED = ("fastapi", "fastapi-sync", "floor", "bentoml")  # the table's ratio columns
BATCHES = ("bentoml", "service")  # the peers have no /classify_batch
HOGGED_PEERS = {"fastapi": "the FastAPI endpoint", "floor": "the HTTP floor"}  # the service's ratio to each is checked
# Measured without and with a CPU hog, in rounds of their own (--cpu-hog); BentoML's floor for what the
# same check gives a BentoML service that does no work of its own.
HOGGED = ("service", "bentoml", *HOGGED_PEERS)
EXAMPLE = yaml.safe_load((PROJECT_DIR / "contract.yaml").read_text(encoding="utf-8"))["example"]

SINGLE = [Load(f"/classify, {c} clients", "/classify", EXAMPLE, c) for c in (16, 64)]
LOADS = [
    *SINGLE,
    Load("/classify_batch of 64, 16 clients", "/classify_batch", {"records": [EXAMPLE] * 64}, 16),
    Load("/classify_batch of 64, 1 client", "/classify_batch", {"records": [EXAMPLE] * 64}, 1),
    Load("/classify_batch of 1, 1 client", "/classify_batch", {"records": [EXAMPLE]}, 1),
]


APPROVED, DECLINED = "/classify, an approved record, 16 clients", "/classify, a declined record, 16 clients"
MIXED = "/classify_batch of 64 validation records, 16 clients"


def reason_loads(url: str) -> list[Load]:
    """The cost of reasons: a declined record against an approved one (each the median of its status among the
    validation rows, as the service decides), and batches of validation records as they come, reasons on: the
    project's own load test's loads of these names."""
    chosen = [load for load in project_loads(url) if load.name in (APPROVED, DECLINED, MIXED)]
    if DECLINED not in [load.name for load in chosen]:
        raise SystemExit("no validation row is declined: there is no decline to time the reasons of")
    return chosen


@contextmanager
def cpu_hog():
    """Another tenant of the machine: a process keeping one core busy, the last core this process may use.

    Pinned, as the target says ("on the other core"): left to the scheduler it moves between the cores,
    and a server that hands each request between threads (FastAPI's synchronous endpoint) moves more
    with it than the others."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(hog.pid, {max(os.sched_getaffinity(0))})
        yield hog
    finally:
        hog.kill()
        hog.wait()


@dataclass
class Measurement:
    loads: list[Load]  # LOADS, then the reasons' (reason_loads)
    servers: dict[str, tuple[str, ...]]  # load name -> the servers measured under it
    results: dict[tuple[str, str], list[Result]]  # (load, server) -> one result a round
    memory_mib: tuple[float, float]  # the service's workers, after the warm-up and at the end
    requests_served: int
    gc_pauses: list[tuple[float, float]]  # (ms requests waited, ms of it collecting), each over 20 ms of the first
    workers: int  # worker processes of each server
    # (HOGGED server, hog on) -> one result a round, one-record requests at 16 clients; each round measures
    # every HOGGED server without the hog and with it, one right after the other
    hogged: dict[tuple[str, bool], list[Result]]
    client: str
    without: tuple[str, ...]  # the speed mends the service was also measured without


def servers_of(load: Load, without: tuple[str, ...]) -> tuple[str, ...]:
    if load in SINGLE:
        return (*SERVERS, *(f"without-{mend}" for mend in without))
    return BATCHES if load is LOADS[2] else ("service",)


def measure(args: argparse.Namespace, env: dict[str, str]) -> Measurement:
    client = load_generator(args.client)
    # Every server gets the service's number of worker processes: ratios compare like with like.
    workers = args.workers or load_options().workers  # validated as `bentoml serve` would
    env = {**env, f"{ENV_PREFIX}WORKERS": str(workers)}
    without = tuple(args.without)
    for mend in without:  # else the service would be measured against itself
        if not call_of(mend).search((PROJECT_DIR / "service.py").read_text(encoding="utf-8")):
            raise SystemExit(f"--without {mend}: service.py does not call bentoml_fixes.{mend}()")
    with ExitStack() as servers:
        urls = {"service": servers.enter_context(running_service(PROJECT_DIR, env))}
        loads = [*LOADS, *reason_loads(urls["service"])]
        servers_by_load = {load.name: servers_of(load, without) for load in loads}
        urls["bentoml"] = servers.enter_context(running_service(PROJECT_DIR, env, target=BENTOML_FLOOR))
        for name, app in PEERS.items():
            command = [*UVICORN, "--workers", str(workers), app]
            urls[name] = servers.enter_context(running_server(command, PROJECT_DIR, env))
        for mend in without:
            project = servers.enter_context(without_speed_mend(mend))
            urls[f"without-{mend}"] = servers.enter_context(running_service(project, env))
        runs = [(load, server, urls[server]) for load in loads for server in servers_by_load[load.name]]
        warm_up(client, runs)
        memory_before = worker_memory_mib(urls["service"])
        results = run_rounds(client, runs, args.rounds, args.seconds)
        memory_after = worker_memory_mib(urls["service"])
        # The hog's effect against runs next to it, not against the rounds above, minutes earlier: the
        # machine drifts over minutes. Which of the two comes first alternates from round to round.
        hogged: dict[tuple[str, bool], list[Result]] = {(server, on): [] for server in HOGGED for on in (False, True)}
        for round_ in range(1, args.rounds + 1 if args.cpu_hog else 1):
            for on in (False, True) if round_ % 2 else (True, False):
                with cpu_hog() if on else nullcontext():
                    for server in HOGGED:
                        hogged[server, on].append(client(urls[server], SINGLE[0], args.seconds))
                rates = ", ".join(f"{server} {hogged[server, on][-1].requests_per_second:,.0f}/s" for server in HOGGED)
                print(f"[CPU hog, round {round_}/{args.rounds}, {'on' if on else 'off'}] {rates}", flush=True)
        log = service_log(urls["service"], env).read_text(encoding="utf-8", errors="replace")
    served = sum(
        int(result.requests_per_second * args.seconds)
        for (_, server), rounds in results.items() if server == "service" for result in rounds
    )  # fmt: skip
    return Measurement(loads, servers_by_load, results, (memory_before, memory_after), served, gc_pauses_in(log),
                       workers, hogged, "wrk" if client is wrk else "the Python client", without)  # fmt: skip


def call_of(mend: str) -> re.Pattern:
    """service.py's line calling bentoml_fixes.<mend>(), its comment included."""
    return re.compile(rf"^bentoml_fixes\.{mend}\(\).*\n", re.MULTILINE)


@contextmanager
def without_speed_mend(mend: str):
    """A copy of the project whose service.py does not call bentoml_fixes.<mend>(): the same model and settings."""
    with tempfile.TemporaryDirectory(prefix=f"without-{mend}-") as folder:
        copy = Path(folder, PROJECT_DIR.name)
        shutil.copytree(PROJECT_DIR, copy, ignore=shutil.ignore_patterns("tests", "benchmarks", ".*", "__pycache__"))
        service = copy / "service.py"
        service.write_text(call_of(mend).sub("", service.read_text(encoding="utf-8")), encoding="utf-8")
        yield copy


def ratio(measurement: Measurement, load: Load, peer: str, server: str = "service") -> float:
    return ratio_of_rounds(measurement.results[load.name, server], measurement.results[load.name, peer])


def ratio_of_rounds(ours: list[Result], theirs: list[Result]) -> float:
    """Median over rounds of our / their requests per second, each ratio measured within one round."""
    pairs = zip(ours, theirs, strict=True)
    return statistics.median(one.requests_per_second / other.requests_per_second for one, other in pairs)


def report(measurement: Measurement) -> str:
    lines = [
        f"Every server with {measurement.workers} worker process(es); load from {measurement.client}.",
        "",
        "| load | server | requests/s | records/s | p50 ms | p99 ms | p99 ms, wrk's | failed "
        "| vs FastAPI | vs FastAPI sync | vs floor | vs BentoML |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    compared = {"service": COMPARED, "bentoml": COMPARED[:3]}
    for load in measurement.loads:
        for server in measurement.servers[load.name]:
            versus = [f"{ratio(measurement, load, peer, server):.2f}x"
                      if peer in compared.get(server, ()) and peer in measurement.servers[load.name] else ""
                      for peer in COMPARED]  # fmt: skip
            cells = result_cells(load, measurement.results[load.name, server])
            lines.append(f"| {load.name} | {server} | {cells} | {' | '.join(versus)} |")
    return "\n".join([*lines, "", *verdicts(measurement)])


def verdicts(measurement: Measurement) -> list[str]:
    def check(target: str, met: bool, measured: str) -> str:
        return f"- {'PASS' if met else 'MISS'}: {target} (measured: {measured})"

    service = {load.name: measurement.results[load.name, "service"] for load in measurement.loads}
    lines = []
    for load in SINGLE:  # each with BentoML's floor's figure: what BentoML's own request path gives
        for peer, target in (("fastapi", 1), ("floor", 0.5)):
            ours, bentoml = ratio(measurement, load, peer), ratio(measurement, load, peer, "bentoml")
            lines.append(check(f"{load.name}: at least {target}x {HOGGED_PEERS[peer]}", ours >= target,
                               f"{ours:.2f}x; BentoML's floor {bentoml:.2f}x"))  # fmt: skip
        p99, peer_p99 = (median(measurement.results[load.name, server], "p99_ms") for server in ("service", "fastapi"))
        lines.append(check(f"{load.name}: p99 no worse than the FastAPI endpoint's", p99 <= peer_p99,
                           f"{p99:.1f} ms against {peer_p99:.1f} ms"))  # fmt: skip
        target_ms = 10 if load.clients == 16 else 50
        p99, bentoml_p99 = with_bentoml_floor(measurement, load, "p99_ms")
        lines.append(check(f"{load.name}: p99 at most {target_ms} ms (raw, not corrected for coordinated omission)",
                           p99 <= target_ms, f"{p99:.1f} ms; BentoML's floor {bentoml_p99:.1f} ms"))  # fmt: skip
    batch, one_client, one_row = LOADS[2:5]
    rows, bentoml_rows = (rate * batch.rows for rate in with_bentoml_floor(measurement, batch, "requests_per_second"))
    lines.append(check(f"{batch.name}: at least 100,000 records/s, approved, decision log on", rows >= 100_000,
                       f"{rows:,.0f}; BentoML's floor {bentoml_rows:,.0f}"))  # fmt: skip
    for load, target_ms in ((one_client, 10), (one_row, 5)):
        p50 = median(service[load.name], "p50_ms")
        lines.append(check(f"{load.name}: p50 at most {target_ms} ms", p50 <= target_ms, f"{p50:.1f} ms"))
    declined = ratio_of_rounds(service[DECLINED], service[APPROVED])
    rates = ", ".join(f"{name.split(',')[1].strip()} {median(service[name], 'requests_per_second'):,.0f}/s"
                      for name in (DECLINED, APPROVED))  # fmt: skip
    lines.append(check("a declined record (with reasons) at least 0.67x an approved one, /classify, 16 clients",
                       declined >= 0.67, f"{declined:.2f}x; {rates}"))  # fmt: skip
    mixed = median(service[MIXED], "requests_per_second") * 64
    lines.append(check(f"{MIXED}: at least 30,000 records/s with reasons", mixed >= 30_000, f"{mixed:,.0f}"))
    before, after = measurement.memory_mib
    lines.append(check(f"worker memory grows less than 30 MiB over {measurement.requests_served:,} requests",
                       after - before < 30, f"{before:.0f} -> {after:.0f} MiB"))  # fmt: skip
    collecting = [pause for pause in measurement.gc_pauses if pause[1] > 20]
    measured = f"{len(collecting)} collections over 20 ms"
    if waiting := [pause for pause in measurement.gc_pauses if pause[1] <= 20]:
        waited, cpu = max(waiting)
        measured += (f"; requests waited over 20 ms during {len(waiting)} shorter ones, the worker waiting for a "
                     f"core (the longest: {waited:.0f} ms, {cpu:.1f} of it collecting)")  # fmt: skip
    lines.append(check("no garbage-collection pause over 20 ms", not collecting, measured))
    if measurement.hogged["service", True]:
        # Both ratios, each with each side's own change and with the same check of BentoML's floor: a ratio
        # moves when either side does, whatever the service does (a server that hands requests to threads gets
        # faster with the hog; the HTTP floor, which needs wrk's core most, slower).
        for peer, what in HOGGED_PEERS.items():
            calm, hogged, change = hog_ratio_change(measurement, "service", peer)
            each = ", ".join(f"{server} {hog_effect(measurement, server):+.0%}" for server in ("service", peer))
            bentoml_change = hog_ratio_change(measurement, "bentoml", peer)[2]
            bentoml = f"BentoML's floor {bentoml_change:.0%} ({hog_effect(measurement, 'bentoml'):+.0%})"
            measured = f"{calm:.2f}x calm, {hogged:.2f}x with the hog: {change:.0%}; requests/s {each}; {bentoml}"
            lines.append(check(f"a CPU hog on the other core changes the ratio to {what} by less than 25%",
                               change < 0.25, measured))  # fmt: skip
    for mend in measurement.without:
        ratios = [ratio(measurement, load, f"without-{mend}") for load in SINGLE]
        lines.append(check(f"{mend} pays its way: /classify at 16 and 64 clients at least 1.0x without it",
                           min(ratios) >= 1, ", ".join(f"{each:.2f}x" for each in ratios)))  # fmt: skip
    return lines


def with_bentoml_floor(measurement: Measurement, load: Load, field: str) -> tuple[float, float]:
    """The service's median of `field` over the rounds, and BentoML's floor's."""
    return tuple(median(measurement.results[load.name, server], field) for server in ("service", "bentoml"))


def hog_ratio_change(measurement: Measurement, server: str, peer: str) -> tuple[float, float, float]:
    """The server's ratio to the peer without the CPU hog and with it, and how much it changed."""
    rounds = measurement.hogged
    calm, hogged = (ratio_of_rounds(rounds[server, on], rounds[peer, on]) for on in (False, True))
    return calm, hogged, abs(hogged - calm) / calm


def hog_effect(measurement: Measurement, server: str) -> float:
    """The change in the server's requests/s with the CPU hog: the median over rounds of its own change."""
    return ratio_of_rounds(measurement.hogged[server, True], measurement.hogged[server, False]) - 1


def chart(measurement: Measurement, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / len(SERVERS)
    figure, axes = plt.subplots(figsize=(7, 3.5))
    for offset, server in enumerate(SERVERS):
        rates = [median(measurement.results[load.name, server], "requests_per_second") for load in SINGLE]
        shift = (offset - (len(SERVERS) - 1) / 2) * width
        axes.bar([index + shift for index in range(len(SINGLE))], rates, width=width, label=server)
    axes.set_xticks(range(len(SINGLE)), [load.name for load in SINGLE])
    axes.set_ylabel("requests/s (median of rounds)")
    setting = f"{measurement.client}, {os.cpu_count()} cores, {measurement.workers} worker(s) a server"
    axes.set_title(f"One record a request ({setting})")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
