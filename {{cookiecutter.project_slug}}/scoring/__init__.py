"""Scoring records by the data contract: data checks, features, the model store and the decision policy."""
