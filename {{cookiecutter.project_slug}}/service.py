"""The BentoML service: a record in, a status and the probability of the contract's positive class out."""

import bentoml

from scoring import bentoml_fixes, deciding, decision_log, model_store, schema, serving, settings
from scoring.decision_routes import DecisionRoutes
from scoring.middleware import OpenAPIDocument, UnknownPaths
from scoring.policy import load_policy
from scoring.schema import CONTRACT, Batch, Decision, Record, as_record

bentoml_fixes.say_which_fixes_are_unverified()
bentoml_fixes.log_in_one_line()
bentoml_fixes.metrics_of_its_own()
bentoml_fixes.exit_with_parent()
bentoml_fixes.bound_shutdown(serving.SHUTDOWN_SECONDS)
bentoml_fixes.start_pipelined_requests_afresh()
bentoml_fixes.close_slow_connections(serving.SLOW_CLIENT_SECONDS)
bentoml_fixes.bound_request_heads(serving.MAX_HEAD_BYTES, serving.MAX_HEADER_FIELDS)
bentoml_fixes.bound_pipelined_requests(serving.PIPELINE_READ_BYTES)
bentoml_fixes.drain_connections_on_shutdown(serving.IDLE_DRAIN_SECONDS)
bentoml_fixes.send_head_with_body()  # the speed mend, after the fixes

# Checked at import, so that `bentoml serve` stops at once with a message naming the problem (a failure
# in a worker's __init__ makes BentoML restart the worker for ever): an unknown or bad setting such as
# {PREFIX}DECLINE_THRESHOLD=2, a served model missing from the store (BentoML would look for it on
# BentoCloud), damaged there, or trained on another contract.yaml.
serving.check_environment()
OPTIONS = serving.load_options()
bentoml_fixes.name_a_busy_port()
bentoml_fixes.give_each_worker_its_own_socket(OPTIONS.workers)
POLICY = load_policy()
SERVED_MODEL = model_store.served_model()
if bentoml_fixes.IN_WORKER:
    model_store.check_trained_on(SERVED_MODEL, CONTRACT)
else:  # once, by `bentoml serve` before its workers start: a worker failing to load would be restarted for ever
    model_store.load_servable(SERVED_MODEL, CONTRACT)


@bentoml.service(name=settings.SERVICE_NAME, **serving.bentoml_config(OPTIONS))
class Decisions:
    bento_model = bentoml.models.BentoModel(SERVED_MODEL.tag)

    def __init__(self) -> None:
        self.scorer = model_store.load(self.bento_model)
        self.scorer.reasons(self.scorer.encoder.encode_records([CONTRACT.example]), 1)  # fails the start, not a request
        serving.settle_garbage_collector()
        serving.warn_about_long_gc_pauses()

    # Over HTTP, DecisionRoutes answers both routes with `decide`; the APIs declare them to BentoML (the
    # API page, /schema.json for BentoML's clients) and answer calls made in Python.
    @bentoml.api(input_spec=Record)
    async def classify(self, **fields) -> Decision:
        """Decide on one record."""
        [decision] = self.decide([as_record(fields)])
        return decision

    @bentoml.api(input_spec=Batch)
    async def classify_batch(self, records: list[Record]) -> list[Decision]:
        """Decide on a list of records (1 to 1000), in order, in one model call."""
        return self.decide([as_record(record.__dict__) for record in records])

    # Scores in the event loop: a row costs less than a hand-off to a thread would.
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


ROUTES = {"/classify": (schema.read_record, True), "/classify_batch": (schema.read_batch, False)}
# With BentoML's tracing or access log on, the decision routes sit behind them (and its metrics) to be seen.
OBSERVED = ("OpenTelemetryMiddleware", "AccessLogMiddleware") if OPTIONS.tracing or OPTIONS.access_log else ()
bentoml_fixes.add_outermost_middleware(
    Decisions, DecisionRoutes, behind=OBSERVED, routes=ROUTES, max_body_bytes=schema.MAX_BODY_BYTES,
    max_concurrency=OPTIONS.max_concurrency, max_uploads=serving.MAX_UPLOADS, retry_after=serving.RETRY_AFTER_SECONDS,
    metrics=OPTIONS.metrics and not OBSERVED, excluded=CONTRACT.excluded,
)  # fmt: skip
bentoml_fixes.add_outermost_middleware(Decisions, UnknownPaths)
REQUEST_MODELS = {"/classify": Record, "/classify_batch": Batch}
API_INFO = {
    "title": settings.PROJECT_NAME,
    "version": str(SERVED_MODEL.tag),  # what decides is the model
    "description": f"{CONTRACT.description}\n\nPOST a record to /classify (a list to /classify_batch): the answer "
    "is a status, the probability it comes from, and the principal reasons for any status but approval.",
}
LABELS = [POLICY.declined_label, POLICY.maybe_label, POLICY.approved_label]
Decisions.add_asgi_middleware(OpenAPIDocument, service=Decisions, inputs=REQUEST_MODELS, info=API_INFO, labels=LABELS)
