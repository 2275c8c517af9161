"""LightGBM gradient-boosted trees, saved as a booster with bentoml.lightgbm."""

import bentoml
import lightgbm as lgb
import numpy as np

BENTOML_MODULE = bentoml.lightgbm


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> lgb.Booster:
    model = lgb.LGBMClassifier(n_estimators=150, learning_rate=0.05, num_leaves=15, random_state=seed, verbose=-1)
    return model.fit(features, target).booster_


def load(bento_model: bentoml.Model) -> lgb.Booster:
    return BENTOML_MODULE.load_model(bento_model)


def predict_proba(model: lgb.Booster, features: np.ndarray) -> np.ndarray:
    return model.predict(features, num_threads=1)  # a binary booster predicts the positive-class probability


def to_onnx(model: lgb.Booster, n_features: int):
    from onnxmltools import convert_lightgbm  # training only
    from onnxmltools.convert.common.data_types import FloatTensorType

    initial_types = [("features", FloatTensorType([None, n_features]))]
    return convert_lightgbm(model, initial_types=initial_types, target_opset=15, zipmap=False)
