"""Configuration: YAML -> frozen, validated models."""

from impacteval.config.load import load_config, parse_config
from impacteval.config.models import Config

__all__ = ["Config", "load_config", "parse_config"]
