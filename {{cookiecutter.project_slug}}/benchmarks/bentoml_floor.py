"""BentoML's floor: the least a BentoML service does for this request, with the service's settings.

The same request model, answer model, BentoML settings (workers, metrics, access log, tracing, timeout),
fixes of BentoML's request path, way of answering and garbage-collector settings as service.py, but no
model, no policy, no decision log and none of the project's middleware: it validates the records and
answers constants.
What the service adds to it is the project's; what it lacks against the HTTP floor is BentoML's.

bentoml serve benchmarks.bentoml_floor:Floor --port 3001
"""

import bentoml

from scoring import bentoml_fixes, serving
from scoring.schema import Batch, Decision, Record, json_answer

bentoml_fixes.mend_request_path()  # as service.py: BentoML's timer leak and per-request waste,
bentoml_fixes.accept_waiting_connections()  # and uvloop's one accept a turn
OPTIONS = serving.load_options()
bentoml_fixes.give_each_worker_its_own_socket(OPTIONS.workers)  # and one socket shared by every worker
ANSWER = {"status": "APPROVED", "probability": 0.5, "model": "none"}


@bentoml.service(name="bentoml-floor", **serving.bentoml_config(OPTIONS))
class Floor:
    def __init__(self) -> None:
        serving.settle_garbage_collector()

    @bentoml.api(input_spec=Record)
    async def classify(self, **fields) -> Decision:
        return json_answer(ANSWER)

    @bentoml.api(input_spec=Batch)
    async def classify_batch(self, records: list[Record]) -> list[Decision]:
        return json_answer([ANSWER] * len(records))
