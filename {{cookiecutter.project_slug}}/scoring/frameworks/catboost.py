"""CatBoost gradient-boosted trees, saved with bentoml.catboost."""

import tempfile

import bentoml
import numpy as np
from catboost import CatBoostClassifier, CatBoostError, Pool

BENTOML_MODULE = bentoml.catboost
SAVE_ERRORS = (CatBoostError,)  # how it says a model file could not be written


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> CatBoostClassifier:
    # Trees 3 deep: an exact attribution (a decline's reasons) costs leaves × depth² a tree.
    model = CatBoostClassifier(iterations=200, depth=3, random_seed=seed, verbose=False, allow_writing_files=False)
    return model.fit(features, target)


def load(bento_model: bentoml.Model) -> CatBoostClassifier:
    return BENTOML_MODULE.load_model(bento_model)


def predict_proba(model: CatBoostClassifier, features: np.ndarray) -> np.ndarray:
    return model.predict_proba(features, thread_count=1)[:, 1]


def contributions(model: CatBoostClassifier, features: np.ndarray) -> np.ndarray:
    return model.get_feature_importance(Pool(features), type="ShapValues", thread_count=1)


def to_onnx(model: CatBoostClassifier, n_features: int):
    import onnx  # training only

    with tempfile.TemporaryDirectory() as folder:  # CatBoost exports ONNX itself, to a file
        model.save_model(f"{folder}/model.onnx", format="onnx")
        exported = onnx.load(f"{folder}/model.onnx")
    # Its probabilities come out through a ZipMap, a Python dict a row: expose the tensor before it, as the
    # other converters do (zipmap=False), which onnxruntime can write in place (scoring/onnx_runtime.py).
    [zipmap] = [node for node in exported.graph.node if node.op_type == "ZipMap"]
    [mapped] = [output for output in exported.graph.output if output.name == zipmap.output[0]]
    exported.graph.node.remove(zipmap)
    exported.graph.output.remove(mapped)
    exported.graph.output.append(onnx.helper.make_tensor_value_info(zipmap.input[0], onnx.TensorProto.FLOAT, [None, 2]))
    return exported


single_row = None  # onnxruntime's bound buffers (or predict_proba) score one row
