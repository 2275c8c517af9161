"""Framework adapters. Each module here offers the same three things:

- ``BENTOML_MODULE``: the ``bentoml.<framework>`` module that saves and loads the model;
- ``fit(features, target, seed)``: train on the vectorized features, return what is saved;
- ``predict_proba(model, features)``: the default probability of each row of a loaded model.

The project uses one of them (settings.FRAMEWORK); model_store.py is the only importer.
"""
