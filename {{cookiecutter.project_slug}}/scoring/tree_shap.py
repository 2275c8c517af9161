"""Exact tree attributions: shap's compiled path-dependent TreeSHAP, called on the trees as shap
reads them, without shap's per-call checks (which cost more than the kernel itself for one row).

train.py keeps it only where it gives the framework's own contributions on every validation row
(model_store.check_tree_shap), and the model keeps the shap version checked: under another version the
framework's own `contributions` serve, as they do wherever the check failed. Written for shap 0.51.0.
"""

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

import numpy as np


def shap_version() -> str | None:
    """The installed shap's version; None where it is not installed (the bento has it only for scikit-learn)."""
    try:
        return version("shap")
    except PackageNotFoundError:
        return None


PATH_DEPENDENT, IDENTITY = 1, 0  # shap's codes: attributions of the trees' own output (the log-odds)


class TreeShap:
    """Contributions (one column per feature, the bias last) of a tree ensemble shap can read: XGBoost, LightGBM,
    scikit-learn and CatBoost boosters. The bias is the framework's own (`reference` of one row): shap 0.51
    reads XGBoost 3's base score differently, and CatBoost's not at all, which moves the bias only."""

    def __init__(self, model, reference: Callable[[np.ndarray], np.ndarray], width: int) -> None:
        import shap  # noqa: F401 (its compiled module needs the package imported)
        from shap import _cext
        from shap.explainers._tree import TreeEnsemble

        self.model, self.reference, self.width = model, reference, width
        trees = TreeEnsemble(model)
        if trees.values is None:  # an ensemble shap hands back to its framework
            raise TypeError(f"shap has no compiled trees for {type(model).__name__}")
        self._kernel = _cext.dense_tree_shap
        # CatBoost's oblivious trees have leaves no training row reached, whose zero weight makes the kernel
        # divide 0 by 0: a weight too small to count gives CatBoost's own attributions (training checks it).
        weights = np.where(trees.node_sample_weight > 0, trees.node_sample_weight, 1e-12)
        self._trees = (trees.children_left, trees.children_right, trees.children_default, trees.features,
                       trees.thresholds, trees.threshold_types, trees.values, weights, trees.max_depth)  # fmt: skip
        self._limit, self._offset, self._dtype = trees.values.shape[0], trees.base_offset, trees.input_dtype
        self.bias = float(reference(np.zeros((1, width)))[0, -1])

    def __call__(self, features: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(features, dtype=self._dtype)
        phi = np.zeros((len(rows), rows.shape[1] + 1, 1))
        self._kernel(*self._trees, rows, np.isnan(rows), None, None, None, self._limit, self._offset, phi,
                     PATH_DEPENDENT, IDENTITY, False)  # fmt: skip
        phi[:, -1, 0] = self.bias
        return phi[:, :, 0]

    def __reduce__(self):  # compiled state is rebuilt (batch scoring ships the scorer to Spark workers)
        return TreeShap, (self.model, self.reference, self.width)
