"""Saving and loading the scorer (contract + model) through the BentoML model store, and which
model this project serves.

The served model is one exact tag, kept in served_model.txt (commit it: it says what the code serves).
`python train.py` saves a new model and makes it the served one; `python -m scoring.model_store promote
<tag>` serves another model already in the store (a rollback). Nothing else changes it: not a template
update, not another project's training (each project has its own model name).
"""

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import bentoml
import numpy as np

from scoring import settings
from scoring.contract import PROJECT_DIR, Contract
from scoring.contract import load as load_contract
from scoring.features import FeatureEncoder
from scoring.frameworks import {{ cookiecutter.framework }} as framework
from scoring.onnx_runtime import OnnxModel, compile_checked


@dataclass(frozen=True)
class Scorer:
    """Turns records into the probability of the contract's positive class."""

    contract: Contract
    model: Any  # the framework's own, or an OnnxModel (scoring/onnx_runtime.py)
    tag: str
    single_row: Callable[[np.ndarray], np.ndarray] | None = None  # the native model's faster path for one row

    @cached_property
    def encoder(self) -> FeatureEncoder:
        return FeatureEncoder(self.contract)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if self.single_row and len(features) == 1:
            return self.single_row(features)
        if isinstance(self.model, OnnxModel):
            return self.model.positive_probability(features)
        return framework.predict_proba(self.model, features)

    def score_records(self, records: list[dict]) -> np.ndarray:
        return self.probabilities(self.encoder.encode_records(records))

    def score_frame(self, frame) -> np.ndarray:
        return self.probabilities(self.encoder.encode_frame(frame))


def fit(contract: Contract, features: np.ndarray, target: np.ndarray, seed: int) -> Scorer:
    return Scorer(contract, framework.fit(features, target, seed), tag="unsaved")


def compile_onnx(scorer: Scorer, validation_features: np.ndarray, native: np.ndarray) -> tuple[bytes | None, str]:
    """The model as ONNX, where onnxruntime gives the `native` probabilities of the validation rows."""
    onnx, runtime = compile_checked(framework.to_onnx, scorer.model, native, validation_features)
    single_row = framework.single_row and onnx is None
    return onnx, runtime + ("; one row: the framework's single-row prediction" if single_row else "")


def save(
    scorer: Scorer, name: str, metadata: dict, labels: dict, validation: dict, onnx: bytes | None = None
) -> bentoml.Model:
    """Save the model with the contract it was trained on (the store holds all the preprocessing), its
    validation scores (the model card's source, scoring/report.py) and, where it gives the same
    probabilities, its ONNX form, which then serves."""
    custom_objects = {"contract": scorer.contract.model_dump(mode="json"), "validation": validation}
    if onnx:
        custom_objects["onnx"] = onnx
    return framework.BENTOML_MODULE.save_model(
        name, scorer.model, custom_objects=custom_objects, metadata=metadata, labels=labels
    )


def load(bento_model: bentoml.Model) -> Scorer:
    contract, tag = trained_contract(bento_model), str(bento_model.tag)
    if onnx := bento_model.custom_objects.get("onnx"):
        return Scorer(contract, OnnxModel(onnx), tag)
    model = framework.load(bento_model)
    return Scorer(contract, model, tag, single_row=framework.single_row(model) if framework.single_row else None)


def trained_contract(bento_model: bentoml.Model) -> Contract:
    return Contract.model_validate(bento_model.custom_objects["contract"])


SERVED_MODEL_FILE = PROJECT_DIR / "served_model.txt"
# Serves another tag without touching served_model.txt: the tests' throw-away models, a one-off check.
TAG_OVERRIDE = f"{settings.ENV_PREFIX}MODEL_TAG"


def served_tag() -> str:
    if tag := os.environ.get(TAG_OVERRIDE, "").strip():
        return tag
    return SERVED_MODEL_FILE.read_text(encoding="utf-8").strip() if SERVED_MODEL_FILE.exists() else ""


def served_model() -> bentoml.Model:
    """The served model from the local store; if it is missing, SystemExit says which and what to do."""
    tag = served_tag()
    if not tag:
        raise SystemExit(f"no model to serve: {SERVED_MODEL_FILE.name} is missing; train one with: python train.py")
    try:
        return bentoml.models.get(tag)
    except (bentoml.exceptions.NotFound, ValueError):
        raise SystemExit(
            f"model {tag} ({SERVED_MODEL_FILE.name}) is not in the BentoML model store; "
            "train one with: python train.py (or bentoml models import it)"
        ) from None


def promote(tag: str) -> bentoml.Model:
    """Make `tag` (a model of this project in the local store) the served model."""
    os.environ[TAG_OVERRIDE] = tag
    bento_model = served_model()
    if trained_contract(bento_model).signature() != load_contract().signature():
        raise SystemExit(f"{bento_model.tag} was trained on another contract.yaml; retrain instead: python train.py")
    SERVED_MODEL_FILE.write_text(f"{bento_model.tag}\n", encoding="utf-8")
    return bento_model


if __name__ == "__main__":  # python -m scoring.model_store promote <tag>
    if len(sys.argv) != 3 or sys.argv[1] != "promote":
        sys.exit("usage: python -m scoring.model_store promote <name:version>")
    from scoring import report  # matplotlib: a training package, which the service does without

    promoted = promote(sys.argv[2])
    print(f"serving {promoted.tag} (written to {SERVED_MODEL_FILE.name}); model card: {report.write_card(promoted)}")
