"""Regenerate aws_taggable.py from the installed pulumi-aws SDK.

    python -m policies.rules.gen_aws_taggable > policies/rules/aws_taggable.py

A static list (not SDK introspection at policy time) because the CrossGuard pack must not
depend on pulumi-aws being importable; tests/policies/test_rules_foundation.py fails when
the list misses a type the stacks register.
"""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pulumi_aws

_TOKEN = re.compile(r"__init__\(\s*'(aws:[A-Za-z0-9/]+:[A-Za-z0-9]+)'")
_INIT = re.compile(r"def _internal_init\(__self__,(.*?)\):", re.S)


def taggable_types() -> list[str]:
    root = Path(pulumi_aws.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        src = path.read_text()
        init = _INIT.search(src)
        token = _TOKEN.search(src)
        if init and token and re.search(r"\btags:", init.group(1)):
            found.add(token.group(1))
    return sorted(found)


def main() -> None:
    types = taggable_types()
    print(f'"""AWS resource types that accept `tags` (generated from pulumi-aws {version("pulumi-aws")}).')
    print()
    print("Regenerate with `python -m policies.rules.gen_aws_taggable > policies/rules/aws_taggable.py`.")
    print('"""')
    print()
    print("TAGGABLE_AWS_TYPES: frozenset[str] = frozenset(")
    print("    {")
    for t in types:
        print(f'        "{t}",')
    print("    }")
    print(")")


if __name__ == "__main__":
    main()
