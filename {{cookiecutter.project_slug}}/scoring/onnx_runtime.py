"""The model compiled to ONNX and run by onnxruntime, where that gives the same probabilities.

A tree ensemble scores a row in 5-10 us with onnxruntime against 80-120 us with XGBoost's or
CatBoost's own prediction, whose per-call set-up dominates a single row. train.py compiles the
model, compares both runtimes on every validation row, and keeps the ONNX form only when no
probability differs by more than MAX_DIFFERENCE; otherwise the framework's own model serves.
"""

import numpy as np
import onnxruntime

MAX_DIFFERENCE = 1e-6


class OnnxModel:
    """Positive-class probabilities from an ONNX classifier, one thread per call (as the native models)."""

    def __init__(self, serialized: bytes) -> None:
        self.serialized = serialized
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[1].name  # converters name them (label, probabilities)

    def positive_probability(self, features: np.ndarray) -> np.ndarray:
        [probabilities] = self.session.run([self.output], {self.input: features.astype(np.float32)})
        if isinstance(probabilities, list):  # a ZipMap output: one {class: probability} a row
            return np.array([row[1] for row in probabilities], dtype=np.float32)
        return probabilities[:, 1]

    def __reduce__(self):  # a session cannot be pickled (batch scoring ships the model to Spark workers)
        return OnnxModel, (self.serialized,)


def compile_checked(to_onnx, model, native: np.ndarray, features: np.ndarray) -> tuple[bytes | None, str]:
    """(the ONNX model, or None where it would not give the same probabilities; what serves and why)."""
    if to_onnx is None:
        return None, "native (no ONNX converter for this framework)"
    try:
        serialized = to_onnx(model, features.shape[1]).SerializeToString()
    except Exception as error:  # a converter that cannot handle this model: the native model serves
        return None, f"native (ONNX conversion failed: {type(error).__name__})"
    difference = float(np.max(np.abs(OnnxModel(serialized).positive_probability(features) - native)))
    if difference > MAX_DIFFERENCE:
        return None, f"native (ONNX differs by up to {difference:.1e} on validation rows)"
    return serialized, f"onnxruntime (differs by up to {difference:.1e} on {len(features)} validation rows)"
