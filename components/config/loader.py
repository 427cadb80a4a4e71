"""Read and validate a stack's configuration: from a stack file (offline) or from Pulumi.

Both paths end in `parse_sections`, which reports every problem at once and raises before
anything is registered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from components.config.errors import ConfigError, Problem, problems_from_validation
from components.config.models import SECTIONS, FactoryConfig
from components.config.semantics import check
from components.conventions import CONFIG_NAMESPACE
from components.stack_yaml import load_stack_yaml

PREFIX = f"{CONFIG_NAMESPACE}:"


def parse_sections(sections: Mapping[str, Any]) -> FactoryConfig:
    """Validate `{section: value}` (keys without the namespace) into a FactoryConfig.

    Raises ConfigError listing every structural problem, or, when the structure is valid,
    every cross-field problem.
    """
    problems: list[Problem] = []
    for key in sections:
        if key not in SECTIONS:
            problems.append(Problem(PREFIX + key, "is not a known config section", ", ".join(SECTIONS)))
    known = {k: v for k, v in sections.items() if k in SECTIONS}
    try:
        cfg = FactoryConfig.model_validate(known)
    except ValidationError as exc:
        raise ConfigError(problems + problems_from_validation(exc, PREFIX, FactoryConfig)) from None
    problems += check(cfg)
    if problems:
        raise ConfigError(problems)
    return cfg


class StackFile:
    """A `stacks/Pulumi.<stack>.yaml` file split into our sections and everything else."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            doc = load_stack_yaml(path.read_text()) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError([Problem(str(path) + where, "is not valid YAML", "a YAML mapping")]) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("config", {}), dict):
            raise ConfigError([Problem(str(path), "has no `config:` mapping", "config: {ai-factory:<section>: …}")])
        raw: dict[str, Any] = doc.get("config") or {}
        self.raw_config = raw
        self.sections: dict[str, Any] = {}
        self.secret_keys: list[str] = []
        self.other: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, dict) and set(value) == {"secure"}:
                self.secret_keys.append(key)
            elif key.startswith(PREFIX):
                self.sections[key[len(PREFIX) :]] = value
            else:
                self.other[key] = value

    def parse(self) -> FactoryConfig:
        return parse_sections(self.sections)


def stacks_dir() -> Path:
    """The repository's `stacks/` directory (where Pulumi.yaml points stackConfigDir)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "Pulumi.yaml").is_file() and (parent / "stacks").is_dir():
            return parent / "stacks"
    return Path.cwd() / "stacks"


def stack_file_path(stack: str, directory: Path | None = None) -> Path:
    return (directory or stacks_dir()) / f"Pulumi.{stack}.yaml"


def available_stacks(directory: Path | None = None) -> list[str]:
    d = directory or stacks_dir()
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in d.glob("Pulumi.*.yaml"))


def load_stack(stack: str, directory: Path | None = None) -> tuple[StackFile, FactoryConfig]:
    """Read and validate `stacks/Pulumi.<stack>.yaml`; ConfigError for a missing stack or bad config."""
    path = stack_file_path(stack, directory)
    if not path.is_file():
        known = ", ".join(available_stacks(directory)) or "none"
        raise ConfigError([Problem(f"stack '{stack}'", f"has no file {path.name}", known)])
    sf = StackFile(path)
    return sf, sf.parse()


def from_pulumi() -> FactoryConfig:
    """The program's path: read every `ai-factory:<section>` key from Pulumi's config."""
    import pulumi.runtime.config as runtime_config

    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    sections: dict[str, Any] = {}
    for key in sorted(keys):
        if not key.startswith(PREFIX) or runtime_config.is_config_secret(key):
            continue
        raw = runtime_config.get_config(key)
        section = key[len(PREFIX) :]
        # Unknown keys are reported by parse_sections; secrets (`secure:`) are read elsewhere.
        if section not in SECTIONS and section in _secret_key_names():
            continue
        try:
            sections[section] = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            sections[section] = raw
    return parse_sections(sections)


def _secret_key_names() -> set[str]:
    from components.config.secrets import SECRETS

    return {s.key for s in SECRETS}
