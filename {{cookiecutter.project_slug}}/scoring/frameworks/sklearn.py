"""scikit-learn histogram gradient boosting, saved with bentoml.sklearn."""

import bentoml
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

BENTOML_MODULE = bentoml.sklearn


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_depth=3, random_state=seed)
    return model.fit(features, target)


def predict_proba(model: HistGradientBoostingClassifier, features: np.ndarray) -> np.ndarray:
    return model.predict_proba(features)[:, 1]
