"""LightGBM gradient-boosted trees, saved as a booster with bentoml.lightgbm."""

import bentoml
import lightgbm as lgb
import numpy as np

BENTOML_MODULE = bentoml.lightgbm


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> lgb.Booster:
    model = lgb.LGBMClassifier(n_estimators=150, learning_rate=0.05, num_leaves=15, random_state=seed, verbose=-1)
    return model.fit(features, target).booster_


def predict_proba(model: lgb.Booster, features: np.ndarray) -> np.ndarray:
    return model.predict(features)  # a binary booster predicts the positive-class probability
