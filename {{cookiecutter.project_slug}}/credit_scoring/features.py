"""The application fields the model uses, shared by training and serving."""

# Numeric codes of the categorical columns in CreditScoring.csv, and the names the model sees.
CATEGORY_CODES = {
    "home": {1: "rent", 2: "owner", 3: "private", 4: "ignore", 5: "parents", 6: "other", 0: "unk"},
    "marital": {1: "single", 2: "married", 3: "widow", 4: "separated", 5: "divorced", 0: "unk"},
    "records": {1: "no", 2: "yes", 0: "unk"},
    "job": {1: "fixed", 2: "partime", 3: "freelance", 4: "others", 0: "unk"},
}
NUMERIC_COLUMNS = ["seniority", "time", "age", "expenses", "income", "assets", "debt", "amount", "price"]
FEATURE_COLUMNS = ["seniority", "home", "time", "age", "marital", "records", "job",
                   "expenses", "income", "assets", "debt", "amount", "price"]  # fmt: skip
