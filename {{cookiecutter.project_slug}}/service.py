"""The BentoML service: a record in, a status and the probability of the contract's positive class out."""

import gc
import json
import logging

import bentoml

from scoring import model_store, settings
from scoring.body_limit import BodySizeLimit
from scoring.policy import load_policy
from scoring.schema import CONTRACT, MAX_BODY_BYTES, Batch, Decision, Record, as_record

# Checked at import, so that `bentoml serve` stops at once with a message naming the problem (a failure
# in a worker's __init__ makes BentoML restart the worker for ever): a bad override such as
# {PREFIX}DECLINE_THRESHOLD=2, a served model missing from the store (BentoML would look for it on
# BentoCloud), or a model trained on another contract.yaml.
POLICY = load_policy()
SERVED_MODEL = model_store.served_model()
if model_store.trained_contract(SERVED_MODEL).signature() != CONTRACT.signature():
    raise SystemExit(f"{SERVED_MODEL.tag} was trained on another contract.yaml: retrain with python train.py")
decision_log = logging.getLogger("bentoml.decisions")


@bentoml.service(name=settings.SERVICE_NAME)
class Decisions:
    bento_model = bentoml.models.BentoModel(SERVED_MODEL.tag)

    def __init__(self) -> None:
        self.scorer = model_store.load(self.bento_model)
        # Long-lived from here on (BentoML, the model): full collections walking them stalled every request
        # ~150 ms every second or two under load. Frozen, the garbage collector skips them.
        gc.freeze()

    @bentoml.api(input_spec=Record)
    async def classify(self, **fields) -> Decision:
        """Decide on one record."""
        [decision] = self.decide([as_record(fields)])
        return decision

    # Not BentoML's adaptive batching: a request's records are already a batch, and the batcher made
    # one-client requests wait for company (26 ms instead of 2 ms) and shed load with bare 503s.
    @bentoml.api(input_spec=Batch)
    async def classify_batch(self, records: list[Record]) -> list[Decision]:
        """Decide on a list of records (1 to 1000), in order, in one model call."""
        return self.decide([record.model_dump(by_alias=True) for record in records])

    # The APIs are async and score in the event loop: a row takes ~0.3 ms, less than a hand-off to a thread.
    def decide(self, records: list[dict]) -> list[Decision]:
        decisions = POLICY.decisions(self.scorer.score_records(records), self.scorer.tag)
        for decision in decisions:  # no field of the record is logged: they may be personal data
            decision_log.info(json.dumps({"event": "decision", **decision.model_dump()}))
        return decisions


Decisions.add_asgi_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
