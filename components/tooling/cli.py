"""`factory`: the offline tooling of the AI factory.

Exit codes (DESIGN §4): 0 ok (advisory findings allowed), 1 a mandatory policy finding,
2 bad input (unknown stack, invalid config, bad flag) with one line per problem,
3 an operational failure with one line saying what failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import yaml

from components.config.errors import ConfigError

EXIT_OK, EXIT_POLICY, EXIT_INPUT, EXIT_OPERATIONAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, but bad flags print one line and exit 2 (not the full usage)."""

    def error(self, message: str) -> NoReturn:
        print(f"factory: {message} (allowed: see `factory {self.prog.split()[-1]} --help`)", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def _cmd_plan(args: argparse.Namespace) -> int:
    from components.tooling.plan import make_plan
    from components.tooling.report import RENDERERS

    plan = make_plan(args.stack, args.stacks_dir)
    sys.stdout.write(RENDERERS[args.format](plan))
    return EXIT_POLICY if plan.has_mandatory else EXIT_OK


def _cmd_inventory(args: argparse.Namespace) -> int:
    from components.config.loader import load_stack
    from components.inventory import inventory

    _, cfg = load_stack(args.stack, args.stacks_dir)
    if cfg.on_prem is None:
        print(f"factory: stack '{args.stack}' has no on-prem site (ai-factory:onPrem)", file=sys.stderr)
    sys.stdout.write(yaml.safe_dump(inventory(cfg), sort_keys=False, default_flow_style=False))
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from components.tooling.schema import stack_file_schema

    text = json.dumps(stack_file_schema(), indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return EXIT_OK


def _cmd_policy_config(args: argparse.Namespace) -> int:
    from components.config.loader import load_stack
    from policies.stack_config import config_path, render

    _, cfg = load_stack(args.stack, args.stacks_dir)
    text = render(cfg)
    path = Path(args.output) if args.output else config_path(args.stack)
    if args.check:
        if not path.is_file() or path.read_text() != text:
            print(f"factory: {path} is stale; run `factory policy-config {args.stack}`", file=sys.stderr)
            return EXIT_POLICY
        return EXIT_OK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="factory", description="Offline tooling of the AI factory blueprint.")
    parser.add_argument(
        "--stacks-dir",
        type=Path,
        default=None,
        help="directory of the Pulumi.<stack>.yaml files (default: the project's stacks/)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("plan", help="offline preview: resources, policy findings and cost of a stack")
    p.add_argument("stack")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.set_defaults(func=_cmd_plan)

    p = sub.add_parser("inventory", help="print the Ansible inventory (YAML) of the stack's on-prem site")
    p.add_argument("stack")
    p.set_defaults(func=_cmd_inventory)

    p = sub.add_parser("schema", help="write the JSON schema of stacks/Pulumi.*.yaml")
    p.add_argument("--output", default="docs/stack.schema.json", help="file to write, or - for stdout")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("policy-config", help="write policies/config/STACK.json (stack facts for the rules)")
    p.add_argument("stack")
    p.add_argument("--output", help="file to write (default policies/config/STACK.json)")
    p.add_argument("--check", action="store_true", help="exit 1 when the committed file is stale")
    p.set_defaults(func=_cmd_policy_config)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"factory: {args.command} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_OPERATIONAL


def main() -> None:
    # pulumi-aws floods DeprecationWarnings on import; they are not the user's business.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    sys.exit(run())


if __name__ == "__main__":
    main()
