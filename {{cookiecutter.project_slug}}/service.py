"""The BentoML service: a record in, a status and the probability of the contract's positive class out."""

import bentoml

from scoring import bentoml_fixes, deciding, decision_log, model_store, serving, settings
from scoring.middleware import BodyLimit, JSONOnly, OpenAPIDocument, UnknownPaths
from scoring.policy import load_policy
from scoring.schema import CONTRACT, MAX_BODY_BYTES, Batch, Decision, Record, as_record, json_answer

bentoml_fixes.mend_request_path()
bentoml_fixes.accept_waiting_connections()
bentoml_fixes.log_rejections_in_one_line()
bentoml_fixes.exit_with_parent()
bentoml_fixes.bound_shutdown(serving.SHUTDOWN_SECONDS)
bentoml_fixes.close_idle_connections(serving.HEAD_TIMEOUT_SECONDS)
bentoml_fixes.retry_after_when_busy(serving.RETRY_AFTER_SECONDS)

# Checked at import, so that `bentoml serve` stops at once with a message naming the problem (a failure
# in a worker's __init__ makes BentoML restart the worker for ever): an unknown or bad setting such as
# {PREFIX}DECLINE_THRESHOLD=2, a served model missing from the store (BentoML would look for it on
# BentoCloud), or a model trained on another contract.yaml.
serving.check_environment()
OPTIONS = serving.load_options()
bentoml_fixes.give_each_worker_its_own_socket(OPTIONS.workers)
POLICY = load_policy()
SERVED_MODEL = model_store.served_model()
if model_store.trained_contract(SERVED_MODEL).signature() != CONTRACT.signature():
    raise SystemExit(f"{SERVED_MODEL.tag} was trained on another contract.yaml: retrain with python train.py")


@bentoml.service(name=settings.SERVICE_NAME, **serving.bentoml_config(OPTIONS))
class Decisions:
    bento_model = bentoml.models.BentoModel(SERVED_MODEL.tag)

    def __init__(self) -> None:
        self.scorer = model_store.load(self.bento_model)
        self.scorer.reasons(self.scorer.encoder.encode_records([CONTRACT.example]), 1)  # fails the start, not a request
        serving.settle_garbage_collector()
        serving.warn_about_long_gc_pauses()

    @bentoml.api(input_spec=Record)
    async def classify(self, **fields) -> Decision:
        """Decide on one record."""
        [decision] = self.decide([as_record(fields)])
        return json_answer(decision)

    # Not BentoML's adaptive batching: a request's records are already a batch, and the batcher made
    # one-client requests wait for company (26 ms instead of 2 ms) and shed load with bare 503s.
    @bentoml.api(input_spec=Batch)
    async def classify_batch(self, records: list[Record]) -> list[Decision]:
        """Decide on a list of records (1 to 1000), in order, in one model call."""
        return json_answer(self.decide([as_record(record.__dict__) for record in records]))

    # The APIs are async and score in the event loop: a row takes microseconds, less than a hand-off to a thread.
    # Decisions as dicts, answered with json_answer (sent as they are; the APIs' annotations give the
    # OpenAPI document): BentoML's own answer path took a quarter of a batch's CPU.
    def decide(self, records: list[dict]) -> list[dict]:
        decided = deciding.decide(self.scorer, POLICY, self.scorer.encoder.encode_records(records))
        answers = [
            {"status": status, "probability": probability, "model": self.scorer.tag, "decision_id": decision_id,
             "reasons": reasons}
            for status, probability, reasons, decision_id in zip(
                decided.statuses, decided.probabilities, decided.reasons, decision_log.new_ids(len(records)),
                strict=True,
            )
        ]  # fmt: skip
        if OPTIONS.decision_log:  # before the answer: every decision answered is logged
            decision_log.write(answers, POLICY)
        return answers


API_PATHS = {api.route for api in Decisions.apis.values()}
bentoml_fixes.add_outermost_middleware(Decisions, UnknownPaths)
REQUEST_MODELS = {"/classify": Record, "/classify_batch": Batch}
Decisions.add_asgi_middleware(OpenAPIDocument, service=Decisions, inputs=REQUEST_MODELS)
Decisions.add_asgi_middleware(JSONOnly, paths=API_PATHS)
Decisions.add_asgi_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
