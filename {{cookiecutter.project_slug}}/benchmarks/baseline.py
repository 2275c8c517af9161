"""The benchmark's baseline: the same model and policy behind a bare Starlette endpoint (uvicorn)."""

import bentoml
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from scoring import model_store, settings
from scoring.policy import load_policy
from scoring.schema import Record

scorer = model_store.load(bentoml.models.get(f"{settings.MODEL_NAME}:latest"))
policy = load_policy()


async def classify(request: Request) -> JSONResponse:
    try:
        record = Record.model_validate_json(await request.body())
    except ValidationError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    [decision] = policy.decisions(scorer.score_records([record.model_dump(by_alias=True)]), scorer.tag)
    return JSONResponse(decision.model_dump())


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ready")


app = Starlette(routes=[Route("/classify", classify, methods=["POST"]), Route("/readyz", ready)])
