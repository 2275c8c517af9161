"""The model compiled to ONNX and run by onnxruntime, where that gives the same probabilities.

A tree ensemble scores a row faster with onnxruntime than with a framework's own prediction, whose
per-call set-up dominates a single row. train.py compiles the model, compares both runtimes on every
validation row, and keeps the ONNX form only when no probability differs by more than MAX_DIFFERENCE;
otherwise the framework's own model serves.
"""

import numpy as np
import onnxruntime

MAX_DIFFERENCE = 1e-6


class OnnxModel:
    """Positive-class probabilities from an ONNX classifier, one thread per call (as the native models).

    Not for several threads at once: one row goes through buffers bound once (the service scores in its
    event loop; batch scoring, in one thread a process)."""

    def __init__(self, serialized: bytes) -> None:
        self.serialized = serialized
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.output = self.session.get_outputs()[1].name  # converters name them (label, probabilities)
        self._one_row = self._bind_one_row()

    def _bind_one_row(self) -> tuple[np.ndarray, np.ndarray, onnxruntime.IOBinding] | None:
        """(input row, output, their binding) for one-row calls: onnxruntime reads and writes these arrays in
        place (IOBinding), so a call converts nothing. Only where the probabilities are a tensor of known
        width."""
        width, probabilities = self.session.get_inputs()[0].shape[1], self.session.get_outputs()[1]
        if not isinstance(width, int) or probabilities.type != "tensor(float)" or probabilities.shape[1:] != [2]:
            return None
        row, output = np.zeros((1, width), np.float32), np.zeros((1, 2), np.float32)
        binding = self.session.io_binding()
        binding.bind_ortvalue_input(self.input, onnxruntime.OrtValue.ortvalue_from_numpy(row))
        binding.bind_ortvalue_output(self.output, onnxruntime.OrtValue.ortvalue_from_numpy(output))
        return row, output, binding

    def positive_probability(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 1 and self._one_row:
            row, output, binding = self._one_row
            row[:] = features
            self.session.run_with_iobinding(binding)
            return output[:, 1].copy()
        [probabilities] = self.session.run([self.output], {self.input: features.astype(np.float32)})
        if isinstance(probabilities, list):  # a ZipMap (one {class: probability} a row), should a converter add one
            return np.array([row[1] for row in probabilities], dtype=np.float32)
        return probabilities[:, 1]

    def __reduce__(self):  # a session cannot be pickled (batch scoring ships the model to Spark workers)
        return OnnxModel, (self.serialized,)


def compile_checked(to_onnx, model, native: np.ndarray, features: np.ndarray) -> tuple[bytes | None, str]:
    """(the ONNX model, or None where it would not give the same probabilities; what serves and why)."""
    if to_onnx is None:
        return None, "native (no ONNX form for this framework)"
    try:
        serialized = to_onnx(model, features.shape[1]).SerializeToString()
    except Exception as error:  # a converter that cannot handle this model: the native model serves
        return None, f"native (ONNX conversion failed: {type(error).__name__})"
    difference = float(np.max(np.abs(OnnxModel(serialized).positive_probability(features) - native)))
    if difference > MAX_DIFFERENCE:
        return None, f"native (ONNX differs by up to {difference:.1e} on validation rows)"
    return serialized, f"onnxruntime (differs by up to {difference:.1e} on {len(features)} validation rows)"
