"""python -m scoring.model_store promote <name:version>: serve another model already in the store (a rollback),
and write its model card."""

import sys

from scoring import report  # matplotlib: a training package, which the service does without
from scoring.model_store import SERVED_MODEL_FILE, promote

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "promote":
        sys.exit("usage: python -m scoring.model_store promote <name:version>")
    promoted = promote(sys.argv[2])
    print(f"serving {promoted.tag} (written to {SERVED_MODEL_FILE.name}); model card: {report.write_card(promoted)}")
