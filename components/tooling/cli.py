"""`factory`: the offline tooling of the AI factory.

Exit codes (DESIGN §4): 0 ok (advisory findings allowed), 1 a mandatory policy finding,
2 bad input (unknown stack, invalid config, bad flag) with one line per problem,
3 an operational failure with one line saying what failed.
"""

from __future__ import annotations

import argparse
import gc
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
    from components.guard.pause_state import PauseStateError, parse
    from components.tooling.plan import make_plan
    from components.tooling.report import RENDERERS

    pause_state = None
    if args.pause_state is not None:
        # The parameter's text, exactly as the guard writes it (aws ssm get-parameter ... --query Parameter.Value).
        try:
            pause_state = parse(args.pause_state.read_text())
        except (OSError, PauseStateError) as exc:
            print(f"factory: --pause-state {args.pause_state}: {exc}", file=sys.stderr)
            return EXIT_INPUT
    plan = make_plan(args.stack, args.stacks_dir, pause_state=pause_state)
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


def _cmd_models(args: argparse.Namespace) -> int:
    from components.config.loader import load_stack
    from components.tooling.registry import registry, render_json, render_text

    _, cfg = load_stack(args.stack, args.stacks_dir)
    rows = registry(cfg)
    sys.stdout.write(render_json(rows) if args.format == "json" else render_text(args.stack, cfg, rows))
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


def _cmd_policies(args: argparse.Namespace) -> int:
    from policies.catalogue import DOC_PATH, render_json, render_markdown

    text = render_markdown() if args.format == "markdown" else render_json()
    if args.output == "-" or (args.output is None and args.format == "json"):
        sys.stdout.write(text)
        return EXIT_OK
    path = Path(args.output) if args.output else DOC_PATH
    if args.check:
        if not path.is_file() or path.read_text() != text:
            print(f"factory: {path} is stale; run `factory policies --format {args.format}`", file=sys.stderr)
            return EXIT_POLICY
        return EXIT_OK
    path.write_text(text)
    print(f"wrote {path}")
    return EXIT_OK


def _cmd_pricing_refresh(args: argparse.Namespace) -> int:
    from policies.cost.refresh import PricingError, refresh

    try:
        changed = refresh(args.region)
    except PricingError as exc:
        print(f"factory: pricing refresh failed: {exc}", file=sys.stderr)
        return EXIT_OPERATIONAL
    print(f"refreshed {len(changed)} prices for {args.region}: {', '.join(changed) or 'none found'}")
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from components.tooling.diff import GuardThresholds, make_diff
    from components.tooling.diff_git import DiffInputError, OperationalFailure
    from components.tooling.diff_render import MARKDOWN_MAX_CHARS, RENDERERS

    try:
        diff = make_diff(
            args.stack, args.base, args.stacks_dir, GuardThresholds(args.cost_guard_usd, args.cost_guard_percent)
        )
    except DiffInputError as exc:
        for line in exc.args:  # the head plan's own problem lines, verbatim, or one of ours
            print(line, file=sys.stderr)
        return EXIT_INPUT
    except OperationalFailure as exc:
        print(f"factory: diff failed: {exc}", file=sys.stderr)
        return EXIT_OPERATIONAL
    limit = args.max_chars if args.max_chars is not None else (MARKDOWN_MAX_CHARS if args.format == "markdown" else 0)
    sys.stdout.write(RENDERERS[args.format](diff, limit))
    return EXIT_POLICY if diff.blocking else EXIT_OK


def _cmd_audit(args: argparse.Namespace) -> int:
    from components.tooling.audit import RENDERERS, run_audit
    from components.tooling.audit_aws import AwsFailure

    try:
        report = run_audit(args.stack, args.stacks_dir, args.budget_name)
    except AwsFailure as exc:
        print(f"factory: {exc}", file=sys.stderr)
        return EXIT_OPERATIONAL
    sys.stdout.write(RENDERERS[args.format](report))
    return EXIT_POLICY if report.has_mandatory else EXIT_OK


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
    p.add_argument(
        "--pause-state",
        type=Path,
        default=None,
        metavar="FILE",
        help="plan as if the budget guard's pause record (SSM /ai-factory/<env>/budget-guard/pause) held FILE's "
        "JSON; default: no record (nothing paused)",
    )
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

    p = sub.add_parser("policies", help="write the policy catalogue (docs/POLICIES.md) from the rule registry")
    p.add_argument("--format", choices=("markdown", "json"), default="markdown")
    p.add_argument("--output", help="file to write, or - for stdout (default docs/POLICIES.md for markdown)")
    p.add_argument("--check", action="store_true", help="exit 1 when the committed file is stale")
    p.set_defaults(func=_cmd_policies)

    p = sub.add_parser("pricing", help="price catalogue maintenance")
    pricing = p.add_subparsers(dest="pricing_command", required=True, parser_class=_Parser)
    p = pricing.add_parser("refresh", help="re-read a region's prices from the AWS Price List API")
    p.add_argument("--region", required=True, help="AWS region to price, e.g. eu-central-1")
    p.set_defaults(func=_cmd_pricing_refresh)
    p = sub.add_parser("diff", help="what a change does to a stack: resources, cost and policy against a git ref")
    p.add_argument("stack")
    p.add_argument("--base", required=True, help="git ref to compare with (branch, tag or commit), e.g. origin/main")
    p.add_argument("--format", choices=("markdown", "json", "text"), default="markdown")
    p.add_argument(
        "--cost-guard-usd",
        type=float,
        default=None,
        help="advisory: flag an expected monthly increase above this many dollars (default: stack config, else 500)",
    )
    p.add_argument(
        "--cost-guard-percent",
        type=float,
        default=None,
        help="advisory: flag an expected monthly increase above this percentage (default: stack config, else 10)",
    )
    p.add_argument(
        "--max-chars",
        type=int,
        default=None,
        help="cut longer output in the middle (default: 64,000 for markdown, no limit otherwise; 0 = no limit)",
    )
    p.set_defaults(func=_cmd_diff)

    p = sub.add_parser("models", help="the model registry: live revisions, evaluations, approvals, release gates")
    p.add_argument("stack")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("audit", help="check the live AWS account of a stack against the policy rules (drift)")
    p.add_argument("stack")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.add_argument("--budget-name", help="the stack's AWS Budget (default: <environment>-budget)")
    p.set_defaults(func=_cmd_audit)
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
    # `factory` is a short-lived process. Its cyclic garbage collector spends its passes walking the
    # ~8,000 classes the provider SDKs define on import and the Output graph of the program, and
    # frees almost nothing: off, a prod-eu plan takes ~20 % less time and a 500-server plan ~30 %
    # less, for +3 % peak memory (benchmarks/plan_scaling.py). Reference counting still frees
    # everything acyclic. Library use (tests, `make_plan` in-process) keeps the default.
    gc.disable()
    sys.exit(run())


if __name__ == "__main__":
    main()
