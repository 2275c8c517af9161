"""Framework adapters. Each module here offers the same seven things:

- ``BENTOML_MODULE``: the ``bentoml.<framework>`` module that saves the model;
- ``fit(features, target, seed)``: train on the encoded features (NaN = missing), return what is saved;
- ``load(bento_model)``: the saved model, set up to serve: one thread per model call, since on a request's
  few rows, waking a thread per core costs more than it saves, and competes with any other load;
- ``predict_proba(model, features)``: the probability of the positive class for each row;
- ``contributions(model, features)``: the framework's own exact tree attributions (TreeSHAP) on the log-odds
  scale, one column per feature and the bias last, adding up to each row's log-odds;
- ``to_onnx``: ``to_onnx(model, n_features)`` -> an ONNX classifier with outputs (label, probabilities),
  or None where no converter handles the model (scoring/onnx_runtime.py decides which runtime serves);
- ``single_row``: ``single_row(model)`` -> a callable giving one encoded row's probability exactly as
  ``predict_proba`` does, faster, for one-record requests where the native model serves; or None.

The project uses one of them (settings.FRAMEWORK); model_store.py is the only importer.
"""
