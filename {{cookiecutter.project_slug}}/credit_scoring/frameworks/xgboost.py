"""XGBoost gradient-boosted trees, saved with bentoml.xgboost."""

import bentoml
import numpy as np
import xgboost as xgb

BENTOML_MODULE = bentoml.xgboost


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> xgb.XGBClassifier:
    model = xgb.XGBClassifier(n_estimators=150, learning_rate=0.1, max_depth=3, min_child_weight=1, random_state=seed)
    return model.fit(features, target)


def predict_proba(model: xgb.XGBClassifier, features: np.ndarray) -> np.ndarray:
    return model.predict_proba(features)[:, 1]
