"""How the service runs, set at serve time with environment variables named after settings.ENV_PREFIX.

Every variable with that prefix must be one the project knows: a typo such as ..._DECLINE_TRESHOLD
would otherwise be ignored without a word. (In Kubernetes, the Deployment turns off the variables
Kubernetes would add for each Service, `enableServiceLinks: false`, since they share the prefix.)
"""

import difflib
import gc
import logging
import os
import re
import time

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from scoring import settings
from scoring.model_store import TAG_OVERRIDE
from scoring.policy import DecisionPolicy, variable_problem

REQUEST_TIMEOUT_SECONDS = 10  # BentoML's routes (health, metrics, the API page): unanswered by then, 504
SHUTDOWN_SECONDS = 10  # on SIGTERM, time left to requests in flight (Kubernetes' grace period is 30 s)
IDLE_DRAIN_SECONDS = 1  # on SIGTERM, time an idle connection may still send a request (answered, then closed)
SLOW_CLIENT_SECONDS = 5  # a request's head or body (at most 1 MiB) not received in this time (to twice it): 408
RETRY_AFTER_SECONDS = 1
MAX_UPLOADS = 256  # decision request bodies (1 MiB at most) arriving at once, beyond which 429: bounded memory
MAX_HEAD_BYTES = 64 * 1024  # a request's line and headers in all: large tokens fit, a flood of headers does not
MAX_HEADER_FIELDS = 100
PIPELINE_READ_BYTES = 16 * 1024  # requests parsed ahead of their answers, at most: what one connection may queue


class ServingOptions(BaseSettings):
    """What runs besides the decisions, each with its cost per request (docs/performance.md)."""

    model_config = SettingsConfigDict(env_prefix=settings.ENV_PREFIX, frozen=True)

    workers: int = Field(1, ge=1, le=64, description="worker processes (one core each)")
    # In flight: from the arrival of the request's whole body until its answer is sent: uploads hold no place.
    max_concurrency: int = Field(128, ge=1, description="decision requests in flight beyond which the answer is 429")
    metrics: bool = Field(True, description="Prometheus metrics at /metrics")
    access_log: bool = Field(False, description="one log line per request (BentoML's access log)")
    tracing: bool = Field(False, description="OpenTelemetry spans (BentoML's tracing)")
    decision_log: bool = Field(True, description="one JSON line per decision on standard output")


def bentoml_config(options: ServingOptions) -> dict:
    """The `@bentoml.service` settings for these options."""
    return {
        "workers": options.workers,
        "traffic": {"timeout": REQUEST_TIMEOUT_SECONDS},  # the decision routes have their own limit
        "metrics": {"enabled": options.metrics},
        "logging": {"access": {"enabled": options.access_log}},
        "tracing": {"excluded_urls": None if options.tracing else [".*"]},
    }


def known_variables() -> list[str]:
    names = [*DecisionPolicy.model_fields, *ServingOptions.model_fields]
    return sorted({f"{settings.ENV_PREFIX}{name.upper()}" for name in names} | {TAG_OVERRIDE})


def check_environment(environ: dict[str, str] = os.environ) -> None:
    """SystemExit naming each variable with the project's prefix that the project does not know."""
    known = known_variables()
    unknown = sorted(name for name in environ if name.upper().startswith(settings.ENV_PREFIX) and name not in known)
    if unknown:
        guesses = [_with_guess(name, known) for name in unknown]
        raise SystemExit(f"unknown setting {', '.join(guesses)}; the settings are: {', '.join(known)}")


def _with_guess(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"{name} (did you mean {close[0]}?)" if close else name


def settle_garbage_collector(young_objects: int = 20_000) -> None:
    """Once loaded: everything so far lives as long as the worker, so keep it out of every later collection
    (walking it made each gen-2 collection pause all requests); and collect the young generation every
    `young_objects` allocations rather than 700: fewer collections, each still short."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_objects, *gc.get_threshold()[1:])


def warn_about_long_gc_pauses(threshold_ms: float = 20) -> None:
    """Log a warning for each garbage collection that stops every request for over `threshold_ms`, with the
    collector's own CPU time: where that is far less, the worker was not running (the machine gave its core
    to another process mid-collection), which a collection's size does not explain."""
    started_wall = started_cpu = 0.0

    def timing(phase: str, info: dict) -> None:
        nonlocal started_wall, started_cpu
        if phase == "start":
            started_wall, started_cpu = time.perf_counter(), time.thread_time()
        elif (paused := 1000 * (time.perf_counter() - started_wall)) > threshold_ms:
            collecting = 1000 * (time.thread_time() - started_cpu)
            logging.getLogger("scoring.serving").warning(
                "garbage collection paused requests for %.0f ms (generation %d; %.1f ms of it collecting)",
                paused, info["generation"], collecting,
            )  # fmt: skip

    gc.callbacks.append(timing)


def gc_pauses_in(log: str) -> list[tuple[float, float]]:
    """(ms requests waited, ms of it collecting) for each warning of warn_about_long_gc_pauses in `log`."""
    found = re.findall(r"garbage collection paused requests for (\d+) ms \(generation \d; ([\d.]+) ms", log)
    return [(float(waited), float(collecting)) for waited, collecting in found]


def load_options() -> ServingOptions:
    try:
        return ServingOptions()
    except ValidationError as error:
        raise SystemExit(f"invalid serving option: {'; '.join(map(variable_problem, error.errors()))}") from None
