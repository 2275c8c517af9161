"""Request and response bodies of the service, validated by pydantic."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from credit_scoring.features import CATEGORY_CODES

Home = Literal[tuple(CATEGORY_CODES["home"].values())]
Marital = Literal[tuple(CATEGORY_CODES["marital"].values())]
Records = Literal[tuple(CATEGORY_CODES["records"].values())]
Job = Literal[tuple(CATEGORY_CODES["job"].values())]

MAX_MONEY = 10_000_000  # larger amounts are typos, not applications
MAX_BATCH_SIZE = 1000  # applications in one batch request
MAX_BODY_BYTES = 1024 * 1024  # a full batch is about 250 kB
Money = Annotated[float, Field(ge=0, le=MAX_MONEY)]

EXAMPLE_APPLICATION = {
    "seniority": 3, "home": "owner", "time": 36, "age": 26, "marital": "single",
    "records": "no", "job": "freelance", "expenses": 35, "income": 0.0,
    "assets": 60000.0, "debt": 3000.0, "amount": 800, "price": 1000,
}  # fmt: skip


class Application(BaseModel):
    """A loan application, in the units of the credit-scoring data."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra={"example": EXAMPLE_APPLICATION})

    seniority: int = Field(ge=0, le=70, description="Years with the current employer")
    home: Home = Field(description="Housing situation")
    time: int = Field(ge=1, le=120, description="Requested loan term, in months")
    age: int = Field(ge=18, le=110, description="Age of the client, in years")
    marital: Marital = Field(description="Marital status")
    records: Records = Field(description="Whether the client has past-due records")
    job: Job = Field(description="Type of employment")
    expenses: Money = Field(description="Monthly expenses")
    income: Money = Field(description="Monthly income")
    assets: Money = Field(description="Value of the client's assets")
    debt: Money = Field(description="Amount of debt")
    amount: Money = Field(gt=0, description="Requested loan amount")
    price: Money = Field(gt=0, description="Price of the good being financed")


Applications = Annotated[list[Application], Field(min_length=1, max_length=MAX_BATCH_SIZE)]


class Decision(BaseModel):
    """The outcome for one application."""

    status: str = Field(description="Decision label derived from the default probability")
    probability: float = Field(ge=0, le=1, description="Predicted probability of default")
    model: str = Field(description="Tag of the model that produced the probability")
