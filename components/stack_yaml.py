"""Reading stack files as Pulumi reads them, without the config models.

Kept outside `components.config` so that tools which only compare stack files (`factory diff`'s
parent process) do not import pydantic and the models.
"""

from __future__ import annotations

from typing import Any

import yaml


class StackYamlLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text (`date: 2026-10-28` stays "2026-10-28").

    Pulumi hands config values to the program as JSON text, in which a date is a string; reading
    the stack file offline must give the program the very same values.
    """


StackYamlLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_stack_yaml(text: str) -> Any:
    return yaml.load(text, Loader=StackYamlLoader)
