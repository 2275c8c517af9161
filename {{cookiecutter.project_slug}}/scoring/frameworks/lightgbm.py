"""LightGBM gradient-boosted trees, saved as a booster with bentoml.lightgbm."""

import ctypes

import bentoml
import lightgbm as lgb
import numpy as np
from lightgbm.basic import _C_API_DTYPE_FLOAT64, _C_API_PREDICT_NORMAL, _LIB, _safe_call

BENTOML_MODULE = bentoml.lightgbm
SAVE_ERRORS = (lgb.basic.LightGBMError,)  # how it says a model file could not be written


def fit(features: np.ndarray, target: np.ndarray, seed: int) -> lgb.Booster:
    # Trees at most 4 deep: an exact attribution (a decline's reasons) costs leaves × depth² a tree.
    model = lgb.LGBMClassifier(
        n_estimators=150, learning_rate=0.05, num_leaves=8, max_depth=4, random_state=seed, verbose=-1
    )
    return model.fit(features, target).booster_


def load(bento_model: bentoml.Model) -> lgb.Booster:
    return BENTOML_MODULE.load_model(bento_model)


def predict_proba(model: lgb.Booster, features: np.ndarray) -> np.ndarray:
    return model.predict(features, num_threads=1)  # a binary booster predicts the positive-class probability


def contributions(model: lgb.Booster, features: np.ndarray) -> np.ndarray:
    return model.predict(features, pred_contrib=True, num_threads=1)


# Not compiled to ONNX: LightGBM's own single-row path (below) scores a row faster than onnxruntime, and
# onnxruntime for several rows would give a record a probability differing in the 8th digit from its
# one-record request's (float32 against float64): live and batch answers could then disagree at a threshold.
to_onnx = None


class SingleRow:
    """One row through LightGBM's C API for single rows (LGBM_BoosterPredictForMatSingleRowFast), set up once.

    Booster.predict parses its parameters and allocates its buffers on every call; this sets them up once,
    and scores a row faster than onnxruntime does.
    The Python package has no wrapper for it, so this calls LightGBM's own library with ctypes (private
    names of lightgbm.basic: the pinned version is the one tested). Gives Booster.predict's probabilities
    exactly. Not for several threads at once: one row buffer (the service scores in its event loop).
    """

    def __init__(self, booster: lgb.Booster) -> None:
        self._config = ctypes.c_void_p()
        self.booster = booster  # the fast config points into it: kept alive as long as this
        self._row, self._probability, self._length = np.zeros(booster.num_feature()), np.zeros(1), ctypes.c_int64()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_C_API_PREDICT_NORMAL),
                ctypes.c_int(0),  # from the first iteration
                ctypes.c_int(-1),  # to the last
                ctypes.c_int(_C_API_DTYPE_FLOAT64),
                ctypes.c_int32(len(self._row)),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        self._arguments = (
            self._config,
            self._row.ctypes.data_as(ctypes.c_void_p),
            ctypes.byref(self._length),
            self._probability.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        )

    def __call__(self, features: np.ndarray) -> np.ndarray:
        self._row[:] = features[0]
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFast(*self._arguments))
        return self._probability.copy()

    def __del__(self) -> None:
        if self._config:
            _LIB.LGBM_FastConfigFree(self._config)

    def __reduce__(self):  # a C handle cannot be pickled (batch scoring ships the scorer to Spark workers)
        return SingleRow, (self.booster,)


single_row = SingleRow
