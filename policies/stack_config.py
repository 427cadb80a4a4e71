"""Stack facts for the rules: the pack config `factory policy-config STACK` writes.

`pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`
and `factory plan` feed the rules this same document, so both judge a stack alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from policies.rules import RULES

CONFIG_DIR = Path(__file__).resolve().parent / "config"


def pack_config(cfg: Any) -> dict[str, Any]:
    """`{policy-name: {enforcementLevel, <facts>}}` for every rule, enforcement by the stack's tier."""
    tier = cfg.environment.tier.value
    return {rule.name: {"enforcementLevel": rule.enforcement[tier].value, **rule.stack_facts(cfg)} for rule in RULES}


def render(cfg: Any) -> str:
    return json.dumps(pack_config(cfg), indent=2, sort_keys=True) + "\n"


def config_path(stack: str) -> Path:
    return CONFIG_DIR / f"{stack}.json"
