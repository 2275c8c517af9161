"""Saving and loading the scorer (contract + model) through the BentoML model store."""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import bentoml
import numpy as np

from scoring.contract import Contract
from scoring.features import FeatureEncoder
from scoring.frameworks import {{ cookiecutter.framework }} as framework


@dataclass(frozen=True)
class Scorer:
    """Turns records into the probability of the contract's positive class."""

    contract: Contract
    model: Any
    tag: str

    @cached_property
    def encoder(self) -> FeatureEncoder:
        return FeatureEncoder(self.contract)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return framework.predict_proba(self.model, features)

    def score_records(self, records: list[dict]) -> np.ndarray:
        return self.probabilities(self.encoder.encode_records(records))

    def score_frame(self, frame) -> np.ndarray:
        return self.probabilities(self.encoder.encode_frame(frame))


def fit(contract: Contract, features: np.ndarray, target: np.ndarray, seed: int) -> Scorer:
    return Scorer(contract, framework.fit(features, target, seed), tag="unsaved")


def save(scorer: Scorer, name: str, metadata: dict, labels: dict) -> bentoml.Model:
    """Save the model with the contract it was trained on: the store holds all the preprocessing."""
    return framework.BENTOML_MODULE.save_model(
        name,
        scorer.model,
        custom_objects={"contract": scorer.contract.model_dump(mode="json")},
        metadata=metadata,
        labels=labels,
    )


def load(bento_model: bentoml.Model) -> Scorer:
    return Scorer(
        contract=Contract.model_validate(bento_model.custom_objects["contract"]),
        model=framework.BENTOML_MODULE.load_model(bento_model),
        tag=str(bento_model.tag),
    )
