"""Scoring records by the data contract: data checks, features, the model store and the decision policy."""

import os
import warnings

# pandera imports pyspark.pandas when pyspark is installed (requirements-spark.txt), which then warns that it
# does not fully support pandas 3. pandas-on-Spark is not used here: batch scoring on Spark uses mapInPandas.
warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)

# onnxruntime (1.29 and later) sends usage telemetry to Microsoft from Linux too, unless this is set before it
# starts: a decision service on applicants' data calls no one.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
