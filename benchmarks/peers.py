"""What the service is measured against, each under uvicorn, started by compare.py from the measured project's
folder with this folder on PYTHONPATH (`uvicorn peers:fastapi_app`):

- fastapi_app: the strong hand-written endpoint for the same trained model, as a good engineer would write it
  in an afternoon: FastAPI, an `async` route, the service's strict request model (built from contract.yaml:
  types, bounds, categories, nulls, no extra keys), the service's encoder and model as served (ONNX on
  onnxruntime with one thread, where training kept it), the same thresholds; answering the status, the
  probability and the model, with neither reasons, a decision id, a decision log nor metrics;
- fastapi_sync_app: a weaker one, as often written: a synchronous route (run in a thread), scikit-learn's
  DictVectorizer and the framework's own prediction on the model as saved (XGBoost's and scikit-learn's
  with their default threads; LightGBM's and CatBoost's adapters ask for one thread a call);
- floor_app: the HTTP floor: a bare Starlette app that only parses the same JSON body and answers a constant.
"""

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel
from sklearn.feature_extraction import DictVectorizer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from scoring import model_store
from scoring.features import FeatureEncoder
from scoring.model_store import framework
from scoring.policy import load_policy
from scoring.schema import CONTRACT, Record, as_record

SERVED = model_store.served_model()
SCORER = model_store.load(SERVED)
POLICY = load_policy()


class Answer(BaseModel):
    status: str
    probability: float
    model: str


fastapi_app = FastAPI()


@fastapi_app.post("/classify")
async def classify(record: Record) -> Answer:
    [probability] = SCORER.probabilities(SCORER.encoder.encode_records([as_record(record.__dict__)])).tolist()
    return Answer(status=POLICY.decide(probability), probability=probability, model=SCORER.tag)


MODEL = framework.BENTOML_MODULE.load_model(SERVED)  # as saved: the framework's default threads
BOOLEANS = {name: spec.true_value for name, spec in CONTRACT.fields.items() if spec.kind == "boolean"}
# The columns the model was trained on, in its order (a team's vectorizer would be the one it trained with).
VECTORIZER = DictVectorizer(sparse=False)
VECTORIZER.feature_names_ = FeatureEncoder(model_store.trained_contract(SERVED)).columns
VECTORIZER.vocabulary_ = {column: index for index, column in enumerate(VECTORIZER.feature_names_)}

fastapi_sync_app = FastAPI()


@fastapi_sync_app.post("/classify")
def classify_in_a_thread(record: Record) -> Answer:
    fields = record.model_dump(by_alias=True)
    for name, true_value in BOOLEANS.items():
        fields[name] = fields[name] in (True, true_value)
    probability = float(np.asarray(framework.predict_proba(MODEL, VECTORIZER.transform([fields])))[0])
    return Answer(status=POLICY.decide(probability), probability=probability, model=str(SERVED.tag))


async def constant(request: Request) -> JSONResponse:
    await request.json()
    return JSONResponse({"status": "APPROVED", "probability": 0.5, "model": "none"})


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ready")


fastapi_app.add_api_route("/readyz", ready)
fastapi_sync_app.add_api_route("/readyz", ready)
floor_app = Starlette(routes=[Route("/classify", constant, methods=["POST"]), Route("/readyz", ready)])
