"""The Pulumi program: config → factory → exports.

`stacks/__main__.py` calls `main()`; `factory plan` runs the same function under Pulumi's
mock runtime, so the offline preview and `pulumi up` execute identical code.
"""

from __future__ import annotations

import pulumi

from components import factory
from components.config import from_pulumi


def main() -> factory.Factory:
    cfg = from_pulumi()  # raises ConfigError (a pulumi.RunError) before anything is registered
    built = factory.build(cfg)
    for key, value in built.outputs().items():
        pulumi.export(key, value)
    return built
