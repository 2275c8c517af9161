"""Saving and loading the scorer (contract + model) through the BentoML model store, and which
model this project serves.

The served model is one exact tag, kept in served_model.txt (commit it: it says what the code serves).
`python train.py` saves a new model and makes it the served one; `python -m scoring.model_store promote
<tag>` serves another model already in the store (a rollback; scoring/model_store/__main__.py, which also
writes its model card). Nothing else changes it: not a template update, not another project's training (each
project has its own model name).
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property, partial
from typing import Any

import bentoml
import numpy as np

from scoring import settings
from scoring.contract import PROJECT_DIR, Contract, ContractError
from scoring.contract import load as load_contract
from scoring.features import FeatureEncoder
from scoring.frameworks import {{ cookiecutter.framework }} as framework
from scoring.onnx_runtime import OnnxModel, compile_checked
from scoring.reasons import Reasons
from scoring.tree_shap import TreeShap, shap_version

MAX_CONTRIBUTION_DIFFERENCE = 1e-5  # on the log-odds scale: the framework's own works in float32


@dataclass(frozen=True)
class Scorer:
    """Turns records into the probability of the contract's positive class, and explains it."""

    contract: Contract
    model: Any  # the framework's own, or an OnnxModel (scoring/onnx_runtime.py)
    tag: str
    single_row: Callable[[np.ndarray], np.ndarray] | None = None  # the native model's faster path for one row
    native: Any = None  # the framework's own model, where `model` is not
    tree_shap: bool = False  # attributions by shap's compiled TreeSHAP (checked at training), else the framework's

    @cached_property
    def encoder(self) -> FeatureEncoder:
        return FeatureEncoder(self.contract)

    @cached_property
    def explain(self) -> Callable[[np.ndarray], np.ndarray]:
        """Encoded rows -> exact contributions on the log-odds scale (a column per feature, the bias last)."""
        native = self.model if self.native is None else self.native
        own = partial(framework.contributions, native)
        return TreeShap(native, own, len(self.encoder.columns)) if self.tree_shap else own

    @cached_property
    def _reasons(self) -> Reasons:
        return Reasons(self.contract, self.encoder)

    def reasons(self, features: np.ndarray, limit: int) -> list[list[dict]]:
        """The principal reasons of each row's probability: at most `limit` fields, largest contribution first."""
        return self._reasons.principal(self.explain(features), limit)

    def by_field(self, contributions: np.ndarray) -> np.ndarray:
        """Contributions (from `explain`) summed by contract field, one column per field."""
        return self._reasons.by_field(contributions)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if self.single_row and len(features) == 1:
            return self.single_row(features)
        if isinstance(self.model, OnnxModel):
            return self.model.positive_probability(features)
        return framework.predict_proba(self.model, features)

    def score_records(self, records: list[dict]) -> np.ndarray:
        return self.probabilities(self.encoder.encode_records(records))


def fit(contract: Contract, features: np.ndarray, target: np.ndarray, seed: int) -> Scorer:
    return Scorer(contract, framework.fit(features, target, seed), tag="unsaved")


def compile_onnx(scorer: Scorer, validation_features: np.ndarray, native: np.ndarray) -> tuple[bytes | None, str]:
    """The model as ONNX, where onnxruntime gives the `native` probabilities of the validation rows."""
    onnx, runtime = compile_checked(framework.to_onnx, scorer.model, native, validation_features)
    single_row = framework.single_row and onnx is None
    return onnx, runtime + ("; one row: the framework's single-row prediction" if single_row else "")


def check_tree_shap(scorer: Scorer, validation_features: np.ndarray) -> tuple[Scorer, str]:
    """(the freshly trained `scorer`, explained by shap's compiled TreeSHAP where that gives the framework's own
    contributions on the validation rows; what explains the decisions and why)."""
    own, fast = scorer.explain(validation_features), replace(scorer, tree_shap=True)
    try:
        difference = float(np.max(np.abs(fast.explain(validation_features) - own)))
    except Exception as error:  # trees shap cannot read: the framework's own attributions serve
        return scorer, f"the framework's own TreeSHAP (shap's compiled one: {type(error).__name__})"
    if not difference <= MAX_CONTRIBUTION_DIFFERENCE:  # NaN too
        return scorer, f"the framework's own TreeSHAP (shap's compiled one differs by up to {difference:.1e})"
    return fast, f"shap's compiled TreeSHAP (the framework's own within {difference:.1e} on {len(own)} rows)"


MAX_LOG_ODDS_DIFFERENCE = 1e-4


def log_odds_gap(contributions: np.ndarray, probabilities: np.ndarray) -> float:
    """How far the contributions and bias are from each row's log-odds, at most, where float32 probabilities
    still give the log-odds (between 0.001 and 0.999)."""
    clear = (probabilities > 1e-3) & (probabilities < 1 - 1e-3)
    log_odds = np.log(probabilities[clear] / (1 - probabilities[clear]))
    return float(np.max(np.abs(contributions[clear].sum(axis=1) - log_odds), initial=0))


def save(
    scorer: Scorer,
    name: str,
    metadata: dict,
    labels: dict,
    validation: dict,
    onnx: bytes | None = None,
) -> bentoml.Model:
    """Save the model with the contract it was trained on (the store holds all the preprocessing), its
    validation scores (the model card's source, scoring/report.py), where it gives the same probabilities
    its ONNX form, which then serves, and whether shap's compiled TreeSHAP gives its attributions."""
    custom_objects = {"contract": scorer.contract.model_dump(mode="json"), "validation": validation}
    custom_objects["tree_shap"] = shap_version() if scorer.tree_shap else None  # the shap version checked
    if onnx:
        custom_objects["onnx"] = onnx
    return framework.BENTOML_MODULE.save_model(
        name, scorer.model, custom_objects=custom_objects, metadata=metadata, labels=labels
    )


def load(bento_model: bentoml.Model) -> Scorer:
    """The scorer of `bento_model`, with the texts (descriptions, reasons) of this project's contract.yaml when it
    has the model's fields and rules: a reason's wording changes without retraining."""
    contract, tag = trained_contract(bento_model), str(bento_model.tag)
    if (current := _project_contract()) and current.signature() == contract.signature():
        contract = current
    checked = bento_model.custom_objects.get("tree_shap")  # the shap version training checked, if any
    model, tree_shap = framework.load(bento_model), checked is not None and checked == shap_version()
    if onnx := bento_model.custom_objects.get("onnx"):
        return Scorer(contract, OnnxModel(onnx), tag, native=model, tree_shap=tree_shap)
    single_row = framework.single_row(model) if framework.single_row else None
    return Scorer(contract, model, tag, single_row=single_row, tree_shap=tree_shap)


def _project_contract() -> Contract | None:
    try:
        return load_contract()
    except ContractError:  # the model's own contract serves; the caller checks the two agree where it matters
        return None


def load_servable(bento_model: bentoml.Model, contract: Contract) -> Scorer:
    """The scorer of `bento_model`, once it has decided the contract's example; SystemExit in one line where the
    store's copy is damaged or was trained on another contract: found at start, not by a request."""
    check_trained_on(bento_model, contract)
    try:
        scorer = load(bento_model)
        features = scorer.encoder.encode_records([contract.example])
        scorer.probabilities(features), scorer.reasons(features, 1)
    except Exception as error:  # whatever a damaged file raises, in any framework
        raise SystemExit(_damaged(bento_model, error)) from None
    return scorer


def check_trained_on(bento_model: bentoml.Model, contract: Contract) -> None:
    """SystemExit in one line where `bento_model` was trained on another contract (or its own is damaged)."""
    try:
        trained = trained_contract(bento_model)
    except Exception as error:
        raise SystemExit(_damaged(bento_model, error)) from None
    if trained.signature() != contract.signature():
        raise SystemExit(f"{bento_model.tag} was trained on another contract.yaml: retrain with python train.py")


def _damaged(bento_model: bentoml.Model, error: Exception) -> str:
    return (f"model {bento_model.tag} in the BentoML model store is damaged ({type(error).__name__}): "
            "train again with python train.py, or import the model again")  # fmt: skip


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
