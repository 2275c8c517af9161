"""The credit-risk BentoML service: an application in, a status and the default probability out."""

import bentoml

from credit_scoring import model_store, settings
from credit_scoring.policy import DecisionPolicy
from credit_scoring.schema import Application, Decision


@bentoml.service(name=settings.SERVICE_NAME)
class CreditRisk:
    bento_model = bentoml.models.BentoModel(f"{settings.MODEL_NAME}:latest")

    def __init__(self) -> None:
        self.policy = DecisionPolicy()
        self.scorer = model_store.load(self.bento_model)

    @bentoml.api(input_spec=Application)
    def classify(self, **application) -> Decision:
        """Decide on one application."""
        [probability] = self.scorer.default_probability([application])
        return Decision(
            status=self.policy.decide(probability), probability=float(probability), model=self.scorer.tag
        )
