"""BentoML's floor: the least a BentoML service does for this request, with the service's settings.

The same request model, BentoML settings (workers, metrics, access log, tracing, timeout) and garbage-collector
settings as service.py, but BentoML's own request path (none of the project's middleware or decision routes),
no model, no policy and no decision log: it validates the records and answers constants, BentoML's way.
What the service adds to it is the project's; what it lacks against the HTTP floor is BentoML's.

Started by compare.py from the measured project's folder, this folder on PYTHONPATH (`bentoml serve
bentoml_floor:Floor`).
"""

import bentoml
from pydantic import BaseModel

from scoring import bentoml_fixes, serving
from scoring.schema import Batch, Record

bentoml_fixes.metrics_of_its_own()  # as service.py: metrics apart from the service's,
OPTIONS = serving.load_options()
bentoml_fixes.give_each_worker_its_own_socket(OPTIONS.workers)  # and one socket shared by every worker


class Answer(BaseModel):
    status: str
    probability: float
    model: str


ANSWER = Answer(status="APPROVED", probability=0.5, model="none")


@bentoml.service(name="bentoml-floor", **serving.bentoml_config(OPTIONS))
class Floor:
    def __init__(self) -> None:
        serving.settle_garbage_collector()

    @bentoml.api(input_spec=Record)
    async def classify(self, **fields) -> Answer:
        return ANSWER

    @bentoml.api(input_spec=Batch)
    async def classify_batch(self, records: list[Record]) -> list[Answer]:
        return [ANSWER] * len(records)
