"""Config problems: one line each, `<config path>: <what is wrong> (allowed: …)`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

import pulumi
from pydantic import BaseModel, ValidationError


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    """Pulumi config path, e.g. `ai-factory:cloud.eks.burst.maxGpus` (usable with `pulumi config set --path`)."""
    message: str
    allowed: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (allowed: {self.allowed})"


class ConfigError(pulumi.RunError):
    """Invalid stack configuration.

    A `pulumi.RunError` so that `pulumi up` exits with only this message and no traceback;
    `factory` maps it to exit code 2.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _loc_to_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-after", "function-plain")):
            continue  # pydantic's validator frames are not config keys
        else:
            out += f".{part}" if out else str(part)
    return out


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config model that holds the last key of `loc` (walks aliases, lists, dicts, Optionals)."""
    current: Any = root
    for part in loc:
        while True:  # unwrap list[...], dict[..., X], X | None down to a model
            if isinstance(current, type) and issubclass(current, BaseModel):
                break
            args = [a for a in get_args(current) if a is not type(None)]
            if not args:
                return None
            current = args[-1]
        if isinstance(part, int):
            continue
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        if part not in fields:
            return current if part == loc[-1] else None
        current = fields[part].annotation
    return None


def _known_keys(root: type[BaseModel] | None, loc: tuple[int | str, ...]) -> str:
    model = _model_at(root, loc) if root is not None else None
    if model is None:
        return "see docs/stack.schema.json"
    return ", ".join(f.alias or n for n, f in model.model_fields.items())


def _describe(err: Any, root: type[BaseModel] | None = None) -> tuple[str, str]:
    """(what is wrong, what is allowed) for one pydantic error."""
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing":
        return "is required but missing", "a value; see docs/stack.schema.json"
    if kind == "extra_forbidden":
        return "is not a known setting", _known_keys(root, tuple(err["loc"]))
    if kind in ("enum", "literal_error"):
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{_show(value)} is not allowed", expected
    if kind == "string_pattern_mismatch":
        return f"{_show(value)} has the wrong format", f"text matching {ctx.get('pattern')}"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        limit = next(iter(ctx.values()))
        return f"{_show(value)} is out of range", f"{bound} {limit}"
    if kind in ("too_short", "too_long"):
        lo, hi = ctx.get("min_length"), ctx.get("max_length")
        if kind == "too_short":
            return "has too few entries", f"at least {lo}"
        return "has too many entries", f"at most {hi}"
    if kind == "string_too_short":
        return "must not be empty", f"at least {ctx.get('min_length')} characters"
    if kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
        if "(allowed:" in msg:
            what, allowed = msg.rsplit("(allowed:", 1)
            return what.strip(), allowed.rstrip(")").strip()
        return msg, "see docs/stack.schema.json"
    if kind.startswith("date_"):
        return f"{_show(value)} is not a date", "YYYY-MM-DD"
    type_names = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "int_from_float": "a whole number",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "text",
        "list_type": "a list",
        "dict_type": "a mapping",
        "model_type": "a mapping",
        "model_attributes_type": "a mapping",
    }
    if kind in type_names:
        return f"{_show(value)} has the wrong type", type_names[kind]
    return err["msg"], "see docs/stack.schema.json"


def problems_from_validation(exc: ValidationError, prefix: str, root: type[BaseModel] | None = None) -> list[Problem]:
    """Turn pydantic's errors into Problems whose paths start with `prefix` (e.g. `ai-factory:`)."""
    problems = []
    for err in exc.errors():
        path = _loc_to_path(tuple(err["loc"]))
        what, allowed = _describe(err, root)
        problems.append(Problem(prefix + path if path else prefix.rstrip(":."), what, allowed))
    return problems
