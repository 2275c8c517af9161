"""scikit-learn histogram gradient boosting, saved with bentoml.sklearn."""

from unittest import mock

import bentoml
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

BENTOML_MODULE = bentoml.sklearn
SAVE_ERRORS = ()  # a pickle: OSError alone


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_depth=3, random_state=seed)
    return model.fit(features, target)


def load(bento_model: bentoml.Model) -> HistGradientBoostingClassifier:
    threadpool_limits(limits=1, user_api="openmp")  # for the whole process: its predictions use OpenMP
    return BENTOML_MODULE.load_model(bento_model)


def predict_proba(model: HistGradientBoostingClassifier, features: np.ndarray) -> np.ndarray:
    return model.predict_proba(features)[:, 1]


def contributions(model: HistGradientBoostingClassifier, features: np.ndarray) -> np.ndarray:
    import shap  # scikit-learn has no attributions of its own: shap's exact TreeSHAP reads its trees

    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    values = explainer.shap_values(features, check_additivity=False)
    return np.column_stack([values, np.full(len(features), explainer.expected_value)])


def to_onnx(model: HistGradientBoostingClassifier, n_features: int):
    from skl2onnx import to_onnx as convert  # training only
    from skl2onnx.common import tree_ensemble
    from skl2onnx.common.data_types import FloatTensorType

    # skl2onnx 1.20 gives each leaf a missing-value flag of False, which onnx 1.23 refuses in an integer list
    # ("AttributeProto.ints: Expected an int, got a boolean"): hand it 0/1 (train.py still compares every
    # validation row's probability with scikit-learn's own).
    add_node = tree_ensemble.add_node

    def add_node_with_int_flag(*args, nodes_missing_value_tracks_true=0, **kwargs):
        return add_node(*args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs)

    with mock.patch.object(tree_ensemble, "add_node", add_node_with_int_flag):
        initial_types = [("features", FloatTensorType([None, n_features]))]
        return convert(model, initial_types=initial_types, options={"zipmap": False}, target_opset=15)


single_row = None  # onnxruntime's bound buffers (or predict_proba) score one row
