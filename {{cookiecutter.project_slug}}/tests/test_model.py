"""The served model: features encoded alike on every path, and the faster runtime giving the same answers."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from conftest import PROJECT_DIR, with_served_model
from examples import as_records

from scoring import data
from scoring.contract import load
from scoring.features import FeatureEncoder
from scoring.model_store import framework
from scoring.onnx_runtime import compile_checked

# The served runtime (ONNX where it was kept) against the framework's own model.
COMPARE = """
served = scorer.probabilities(features)
native = framework.predict_proba(framework.load(bento_model), features)
one_by_one = np.concatenate([scorer.probabilities(features[i : i + 1]) for i in range(len(features))])
print(json.dumps({"difference": float(np.max(np.abs(served - native))), "runtime": bento_model.info.metadata["runtime"],
                  "onnx": "onnx" in bento_model.custom_objects, "single_row": scorer.single_row is not None,
                  "one_by_one_as_served": bool(np.array_equal(one_by_one, served)),
                  "one_by_one_as_native": bool(np.array_equal(one_by_one, native))}))
"""


def test_records_and_data_files_are_encoded_alike():
    contract = load()
    rows, _ = data.check_rows(data.training_data(contract), contract)
    encoder = FeatureEncoder(contract)
    records = as_records(rows[list(contract.fields)])
    assert np.array_equal(encoder.encode_frame(rows), encoder.encode_records(records), equal_nan=True)


def test_the_served_runtime_gives_the_frameworks_own_probabilities_one_by_one_too(serve_env):
    result = with_served_model(serve_env, COMPARE)
    assert result["difference"] <= 1e-6
    # A one-record request scores as in a batch (ONNX: through bound buffers), or, where the framework has a
    # single-row path, exactly as the framework's own prediction.
    assert result["one_by_one_as_native" if result["single_row"] else "one_by_one_as_served"]
    assert result["runtime"].startswith("onnxruntime" if result["onnx"] else "native")
    assert result["runtime"].endswith("single-row prediction") == result["single_row"]


def fitted_on_noise() -> tuple[object, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(300, 4))
    model = framework.fit(features, (features[:, 0] + rng.normal(size=300) > 0).astype(int), seed=0)
    return model, framework.predict_proba(model, features), features


@pytest.mark.skipif(framework.to_onnx is None, reason="this framework is not compiled to ONNX")
def test_the_frameworks_own_model_serves_where_onnx_would_not_give_the_same_probabilities():
    model, native, features = fitted_on_noise()
    assert compile_checked(framework.to_onnx, model, native, features)[0] is not None
    differing = compile_checked(framework.to_onnx, model, native + 1e-3, features)
    assert differing == (None, "native (ONNX differs by up to 1.0e-03 on validation rows)")

    def unsupported(model, n_features):
        raise NotImplementedError("this kind of model")

    failing = compile_checked(unsupported, model, native, features)
    assert failing == (None, "native (ONNX conversion failed: NotImplementedError)")


def test_the_frameworks_own_model_serves_where_there_is_no_onnx_form():
    model, native, features = fitted_on_noise()
    assert compile_checked(None, model, native, features) == (None, "native (no ONNX form for this framework)")


@pytest.mark.skipif(framework.single_row is None, reason="this framework has no single-row path")
def test_the_single_row_path_gives_the_frameworks_own_probabilities_after_pickling_too():
    model, native, features = fitted_on_noise()
    single_row = pickle.loads(pickle.dumps(framework.single_row(model)))  # as batch scoring ships it to Spark
    assert np.array_equal(np.concatenate([single_row(features[i : i + 1]) for i in range(len(features))]), native)


ONNX_SESSION = """
import scoring  # first, as every entry point of the project imports it
import onnxruntime
from onnx import TensorProto, helper
values = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1]) for name in ("x", "y")]
graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", values[:1], values[1:])
onnxruntime.InferenceSession(helper.make_model(graph, ir_version=10).SerializeToString())
"""


def test_onnxruntime_keeps_no_device_id_and_queues_no_telemetry(tmp_path):
    """onnxruntime 1.29 and later write both under ~/.cache for Microsoft, unless told not to before starting."""
    env = {name: value for name, value in os.environ.items() if name not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    subprocess.run([sys.executable, "-c", ONNX_SESSION], cwd=PROJECT_DIR, env={**env, "HOME": str(tmp_path)},
                   check=True)  # fmt: skip
    assert not list(tmp_path.rglob("*"))
