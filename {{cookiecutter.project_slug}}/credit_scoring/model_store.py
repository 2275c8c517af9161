"""Saving and loading the scorer (vectorizer + model) through the BentoML model store."""

from dataclasses import dataclass
from typing import Any

import bentoml
import numpy as np
from sklearn.feature_extraction import DictVectorizer

from credit_scoring.frameworks import {{ cookiecutter.framework }} as framework


@dataclass(frozen=True)
class Scorer:
    """Turns applications (dicts of the service's fields) into default probabilities."""

    vectorizer: DictVectorizer
    model: Any
    tag: str

    def default_probability(self, applications: list[dict]) -> np.ndarray:
        return framework.predict_proba(self.model, self.vectorizer.transform(applications))


def fit(applications: list[dict], target: np.ndarray, seed: int) -> Scorer:
    vectorizer = DictVectorizer(sparse=False)
    features = vectorizer.fit_transform(applications)
    return Scorer(vectorizer, framework.fit(features, target, seed), tag="unsaved")


def save(scorer: Scorer, name: str, metadata: dict, labels: dict) -> bentoml.Model:
    """Save the model with its vectorizer, so the store holds all the preprocessing."""
    return framework.BENTOML_MODULE.save_model(
        name,
        scorer.model,
        custom_objects={"vectorizer": scorer.vectorizer},
        metadata=metadata,
        labels=labels,
    )


def load(bento_model: bentoml.Model) -> Scorer:
    return Scorer(
        vectorizer=bento_model.custom_objects["vectorizer"],
        model=framework.BENTOML_MODULE.load_model(bento_model),
        tag=str(bento_model.tag),
    )
