"""Credit-risk scoring: data preparation, model store access and the decision policy."""
