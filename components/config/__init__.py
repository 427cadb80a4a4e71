"""Typed stack configuration: models, loading, cross-field checks and secrets."""

from components.config.errors import ConfigError, Problem
from components.config.loader import StackFile, available_stacks, from_pulumi, load_stack, parse_sections
from components.config.models import FactoryConfig, Tier

__all__ = [
    "ConfigError",
    "FactoryConfig",
    "Problem",
    "StackFile",
    "Tier",
    "available_stacks",
    "from_pulumi",
    "load_stack",
    "parse_sections",
]
