"""Naming and tagging: one place computes the standard tags every resource carries."""

from __future__ import annotations

from dataclasses import dataclass

from components import conventions as c
from components.config.models import FactoryConfig

NO_DATA = "none"
"""`data-classification` of infrastructure that stores no data (networks, roles, …)."""


@dataclass(frozen=True)
class Naming:
    """Resource names and standard tags of one environment."""

    environment: str
    owner: str
    cost_center: str

    @classmethod
    def from_config(cls, cfg: FactoryConfig) -> Naming:
        env = cfg.environment
        return cls(environment=env.name, owner=env.owner, cost_center=env.cost_center)

    def name(self, *parts: str) -> str:
        """`<environment>-<part>-…`, the prefix of every physical name."""
        return "-".join((self.environment, *parts))

    def tags(self, data_class: str = NO_DATA, component: str | None = None, **extra: str) -> dict[str, str]:
        """Standard tags merged with `extra` (`{**standard, **extra}`, DESIGN §5)."""
        standard = {
            c.TAG_ENVIRONMENT: self.environment,
            c.TAG_OWNER: self.owner,
            c.TAG_COST_CENTER: self.cost_center,
            c.TAG_DATA_CLASSIFICATION: data_class,
            c.TAG_MANAGED_BY: c.MANAGED_BY_VALUE,
        }
        if component:
            standard[c.TAG_COMPONENT] = component
        return {**standard, **extra}
