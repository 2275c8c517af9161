"""BentoML's request metrics, kept by the decision routes (scoring/decision_routes.py) for the requests they answer.

The same names, labels, texts and buckets as BentoML's own middleware, which counts every other request: /metrics
shows one set of series, whoever answered. Made on the first request, as BentoML does, once BentoML has set up
Prometheus' multiprocess directory; not registered, since /metrics reads that directory.
"""

import time

from bentoml._internal.configuration.containers import BentoMLContainer
from bentoml._internal.context import server_context


class RequestMetrics:
    def __init__(self) -> None:
        client = BentoMLContainer.metrics_client.get().prometheus_client
        options = {"namespace": BentoMLContainer.api_server_config.metrics.namespace.get(), "registry": None}
        labels = ["endpoint", "service_name", "service_version", "http_response_code", "runner_name"]
        self.duration = client.Histogram("request_duration_seconds", "runner RPC duration in seconds", labels,
                                         buckets=BentoMLContainer.duration_buckets.get(), **options)  # fmt: skip
        self.total = client.Counter("request_total", "Total number of runner RPC", labels, **options)
        without_status = [label for label in labels if label != "http_response_code"]
        self.in_progress = client.Gauge("request_in_progress", "Total number of runner RPC in progress now",
                                        without_status, multiprocess_mode="livesum", **options)  # fmt: skip
        self.context = server_context.bento_name, server_context.bento_version, server_context.service_name
        self.last_request = client.Gauge("last_request_timestamp_seconds", "Timestamp of the last received request",
                                         without_status[1:], **options).labels(*self.context)  # fmt: skip
        self._series: dict[tuple[str, int], tuple] = {}  # (path, status) -> (total, duration) of that series
        self._in_progress: dict[str, object] = {}

    def started(self, path: str) -> None:
        if (gauge := self._in_progress.get(path)) is None:
            gauge = self._in_progress[path] = self.in_progress.labels(path, *self.context)
        gauge.inc()
        self.last_request.set(time.time())

    def finished(self, path: str, status: int, seconds: float) -> None:
        self._in_progress[path].dec()
        if not status:  # the client left: no answer to count
            return
        if (series := self._series.get((path, status))) is None:
            labels = (path, *self.context[:2], status, self.context[2])
            series = self._series[path, status] = (self.total.labels(*labels), self.duration.labels(*labels))
        total, duration = series
        total.inc()
        duration.observe(seconds)
