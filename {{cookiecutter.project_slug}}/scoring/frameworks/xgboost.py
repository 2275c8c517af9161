"""XGBoost gradient-boosted trees, saved as a booster with bentoml.xgboost."""

from importlib.metadata import version

import _bentoml_impl.frameworks.xgboost
import bentoml
import numpy as np
import xgboost as xgb

BENTOML_MODULE = bentoml.xgboost
SAVE_ERRORS = (xgb.core.XGBoostError,)  # how it says a model file could not be written
# BentoML 1.4.40 records the version of the `xgboost` distribution, which the CPU build, `xgboost-cpu`, is not.
_bentoml_impl.frameworks.xgboost.get_pkg_version = lambda name: xgb.__version__ if name == "xgboost" else version(name)


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> xgb.Booster:
    model = xgb.XGBClassifier(n_estimators=150, learning_rate=0.1, max_depth=3, min_child_weight=1, random_state=seed)
    # The booster alone: serving it needs neither scikit-learn nor the classifier wrapper.
    return model.fit(features, target).get_booster()


def load(bento_model: bentoml.Model) -> xgb.Booster:
    booster = BENTOML_MODULE.load_model(bento_model)
    booster.set_param({"nthread": 1})
    return booster


def predict_proba(model: xgb.Booster, features: np.ndarray) -> np.ndarray:
    return model.inplace_predict(features)  # a binary:logistic booster predicts the positive-class probability


def contributions(model: xgb.Booster, features: np.ndarray) -> np.ndarray:
    return model.predict(xgb.DMatrix(features, nthread=1), pred_contribs=True)


def to_onnx(model: xgb.Booster, n_features: int):
    from onnxmltools import convert_xgboost  # training only
    from onnxmltools.convert.common.data_types import FloatTensorType

    return convert_xgboost(model, initial_types=[("features", FloatTensorType([None, n_features]))], target_opset=15)


single_row = None  # onnxruntime's bound buffers (or predict_proba) score one row
