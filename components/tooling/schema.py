"""JSON schema of a stack file (`stacks/Pulumi.<stack>.yaml`) for editors and CI."""

from __future__ import annotations

from typing import Any

from components.config.models import FactoryConfig
from components.conventions import CONFIG_NAMESPACE


def stack_file_schema() -> dict[str, Any]:
    """Every `ai-factory:<section>` key with its model's schema; other namespaces pass through."""
    model = FactoryConfig.model_json_schema(by_alias=True, mode="validation")
    defs = model.pop("$defs", {})
    required = set(model.get("required", []))
    config_props = {f"{CONFIG_NAMESPACE}:{k}": v for k, v in model["properties"].items()}
    secret = {
        "type": "object",
        "properties": {"secure": {"type": "string"}},
        "required": ["secure"],
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "AI factory stack file (stacks/Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": config_props,
                "required": sorted(f"{CONFIG_NAMESPACE}:{k}" for k in required),
                # Secrets (`secure:`) and other providers' keys (e.g. aws:region) are allowed.
                "patternProperties": {f"^{CONFIG_NAMESPACE}:": {"anyOf": [secret, {}]}},
                "additionalProperties": True,
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
        },
        "required": ["config"],
        "$defs": defs,
    }
