"""Write the JSON Schema of the config (for editors and docs): ``python -m impacteval.config.schema``."""

from __future__ import annotations

import json
import sys

from impacteval.config.models import Config


def config_json_schema() -> dict:
    """JSON Schema of the YAML config, generated from the pydantic models."""
    return Config.model_json_schema()


if __name__ == "__main__":  # pragma: no cover
    json.dump(config_json_schema(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
