"""`factory audit STACK`: drift of the live AWS account from the policy rules.

Reads the account with the caller's credentials (region from `ai-factory:cloud.region`),
checks what audit_checks.py knows, and reports every finding under the policy rule's own ID,
name, enforcement (for the stack's tier) and remediation — text, JSON or Markdown.

Exit codes (cli.py): 0 no mandatory finding · 1 a mandatory finding · 2 bad stack/config ·
3 AWS unreachable or refusing (one line, from audit_aws.AwsFailure).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from components import conventions as c
from components.config.errors import ConfigError, Problem
from components.config.loader import load_stack
from components.config.models import FactoryConfig
from components.tooling import audit_checks as checks
from components.tooling.audit_aws import Aws, AwsFailure, translating
from policies.rules import RULES_BY_ID
from policies.rules.base import Enforcement


@dataclass(frozen=True)
class AuditFinding:
    policy: str
    """Rule ID, e.g. AIF-ENC-001 (the same ID `factory plan` and CrossGuard report)."""
    name: str
    enforcement: str
    resource: str
    """ARN of the live resource."""
    region: str
    message: str
    remediation: str


@dataclass(frozen=True)
class AuditReport:
    stack: str
    account: str
    region: str
    scope: str
    regions: list[str]
    checked: dict[str, int]
    findings: list[AuditFinding] = field(default_factory=list)

    @property
    def has_mandatory(self) -> bool:
        return any(f.enforcement == Enforcement.MANDATORY.value for f in self.findings)


def budget_name_for(cfg: FactoryConfig) -> str:
    """The stack's AWS Budget as the Budgets component names it (conventions.budget_name)."""
    return c.budget_name(cfg.environment.name)


def _finding(hit: checks.Hit, tier: str) -> AuditFinding | None:
    rule = RULES_BY_ID[hit.rule_id]
    level = rule.enforcement.get(tier, Enforcement.MANDATORY)
    if level == Enforcement.DISABLED:
        return None
    return AuditFinding(hit.rule_id, rule.name, level.value, hit.resource, hit.region, hit.message, rule.remediation)


def audit_config(cfg: FactoryConfig, stack: str, aws: Aws, budget_name: str) -> AuditReport:
    """Audit one already-validated stack config against the account `aws` reaches."""
    assert cfg.cloud is not None
    env = cfg.environment.name
    with translating("sts:GetCallerIdentity"):
        account = str(aws.client("sts").get_caller_identity()["Account"])
    if cfg.cloud.account_id and account != cfg.cloud.account_id:
        raise AwsFailure(f"AWS credentials are for account {account}, the stack names {cfg.cloud.account_id}")
    regions = checks.enabled_regions(aws)
    inventory = checks.discover(aws, env, regions)
    clusters = checks.discover_eks(aws, env, sorted({cfg.cloud.region, *cfg.residency.allowed_regions}))
    for cluster, groups in clusters.values():
        inventory.setdefault(cluster.arn, cluster)
        for ng in groups:
            arn = ng["nodegroupArn"]
            inventory.setdefault(arn, checks.LiveResource(arn, cluster.region, ng.get("tags") or {}))
    resources = sorted(inventory.values(), key=lambda r: r.arn)
    buckets = [r for r in resources if r.service == "s3" and r.kind == "bucket"]
    keys = [r for r in resources if r.service == "kms" and r.kind == "key"]
    hits: list[checks.Hit] = [
        *checks.check_residency(resources, cfg),
        *checks.check_tags(resources, cfg),
        *(h for b in buckets for h in checks.check_bucket(aws, b)),
        *(h for k in keys for h in checks.check_key(aws, k)),
        *checks.check_gpu_limits(clusters, cfg),
        *checks.check_budget(aws, cfg, account, budget_name),
    ]
    tier = cfg.environment.tier.value
    unique = dict.fromkeys(hits)  # a resource listed by two sources is reported once
    findings = [f for f in (_finding(h, tier) for h in unique) if f is not None]
    scope = (
        f"resources tagged {c.TAG_ENVIRONMENT}={env} in {len(regions)} enabled regions, EKS clusters with that tag, "
        f"and budget {budget_name}; untagged resources are not in scope"
    )
    checked = {"resources": len(resources), "buckets": len(buckets), "keys": len(keys), "clusters": len(clusters)}
    return AuditReport(stack, account, cfg.cloud.region, scope, regions, checked, findings)


def run_audit(stack: str, stacks_dir: Path | None = None, budget_name: str | None = None) -> AuditReport:
    _, cfg = load_stack(stack, stacks_dir)
    if cfg.cloud is None:
        raise ConfigError(
            [
                Problem(
                    "ai-factory:cloud",
                    "is not set: the stack has no AWS account to audit",
                    "a stack with ai-factory:cloud",
                )
            ]
        )
    return audit_config(cfg, stack, Aws(cfg.cloud.region), budget_name or budget_name_for(cfg))


# ------------------------------------------------------------------------ rendering
def _counts(findings: Iterable[AuditFinding]) -> str:
    items = list(findings)
    mandatory = sum(f.enforcement == "mandatory" for f in items)
    return f"{mandatory} mandatory, {len(items) - mandatory} advisory finding(s)"


def render_text(report: AuditReport) -> str:
    lines = [
        f"audit {report.stack}: account {report.account}, region {report.region}",
        f"scope: {report.scope}",
        "checked: " + ", ".join(f"{v} {k}" for k, v in report.checked.items()),
    ]
    for f in report.findings:
        where = f" ({f.region})" if f.region else ""
        lines.append(f"[{f.enforcement}] {f.policy} {f.name}: {f.resource}{where}: {f.message}")
        lines.append(f"    remediation: {f.remediation}")
    lines.append(_counts(report.findings))
    return "\n".join(lines) + "\n"


def render_json(report: AuditReport) -> str:
    doc = {**asdict(report), "has_mandatory": report.has_mandatory}
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: AuditReport) -> str:
    lines = [
        f"## Audit of `{report.stack}` (account {report.account}, {report.region})",
        "",
        f"Scope: {report.scope}.",
        "",
        "Checked: " + ", ".join(f"{v} {k}" for k, v in report.checked.items()) + ".",
        "",
    ]
    if report.findings:
        lines += ["| Policy | Enforcement | Resource | Finding | Remediation |", "|---|---|---|---|---|"]
        for f in report.findings:
            cells = (
                f"{f.policy} `{f.name}`",
                f.enforcement,
                f"`{_cell(f.resource)}`",
                _cell(f.message),
                _cell(f.remediation),
            )
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.append(f"**{_counts(report.findings)}**")
    return "\n".join(lines) + "\n"


RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown}
