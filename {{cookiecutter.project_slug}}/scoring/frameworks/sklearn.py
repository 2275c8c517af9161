"""scikit-learn histogram gradient boosting, saved with bentoml.sklearn."""

import bentoml
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

BENTOML_MODULE = bentoml.sklearn


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_depth=3, random_state=seed)
    return model.fit(features, target)


def load(bento_model: bentoml.Model) -> HistGradientBoostingClassifier:
    threadpool_limits(limits=1, user_api="openmp")  # for the whole process: its predictions use OpenMP
    return BENTOML_MODULE.load_model(bento_model)


def predict_proba(model: HistGradientBoostingClassifier, features: np.ndarray) -> np.ndarray:
    return model.predict_proba(features)[:, 1]


# skl2onnx 1.20 fails to convert HistGradientBoostingClassifier with numpy 2.4 and onnx 1.19-1.23
# (checked: "AttributeProto.ints: Expected an int, got a boolean"); the native model serves.
to_onnx = None
