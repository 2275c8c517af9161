"""The credit-risk BentoML service: applications in, a status and the default probability out."""

import gc
import json
import logging

import bentoml

from credit_scoring import model_store, settings
from credit_scoring.body_limit import BodySizeLimit
from credit_scoring.policy import load_policy
from credit_scoring.schema import MAX_BATCH_SIZE, MAX_BODY_BYTES, Application, Applications, Decision

# Validated at import: a bad override (e.g. {PREFIX}DECLINE_THRESHOLD=2) stops `bentoml serve` at once.
POLICY = load_policy()
decision_log = logging.getLogger("bentoml.decisions")


@bentoml.service(name=settings.SERVICE_NAME)
class CreditRisk:
    bento_model = bentoml.models.BentoModel(f"{settings.MODEL_NAME}:latest")

    def __init__(self) -> None:
        self.scorer = model_store.load(self.bento_model)
        # Long-lived from here on (BentoML, the model): full collections walking them stalled every request
        # ~150 ms every second or two under load. Frozen, the garbage collector skips them.
        gc.freeze()

    @bentoml.api(input_spec=Application)
    async def classify(self, **application) -> Decision:
        """Decide on one application."""
        [decision] = self.decide([application])
        return decision

    # BentoML answers 503 to requests it cannot batch within max_latency_ms, rather than queue them forever.
    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=500)
    async def classify_batch(self, applications: Applications) -> list[Decision]:
        """Decide on a list of applications, in order; concurrent requests are batched together."""
        return self.decide([application.model_dump() for application in applications])

    # The APIs are async and score in the event loop: a row takes ~0.3 ms, less than a hand-off to a thread.
    def decide(self, applications: list[dict]) -> list[Decision]:
        decisions = POLICY.decisions(self.scorer.default_probability(applications), self.scorer.tag)
        for decision in decisions:  # no application field is logged: they are personal data
            decision_log.info(json.dumps({"event": "decision", **decision.model_dump()}))
        return decisions


CreditRisk.add_asgi_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
