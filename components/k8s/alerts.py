"""Alert rules (PrometheusRule groups), a pure function of config.

Every alert carries `runbook_url` (one page per alert under conventions.RUNBOOK_BASE_URL),
a severity and a summary; the tests parse every expression with a real PromQL parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components import conventions as c
from components.config.models import FactoryConfig
from components.releases import deployment_id

HOURS_PER_MONTH = 730
LOCATION_LABEL = "label_ai_factory_io_location"
"""kube-state-metrics' spelling of the node label ai-factory.io/location (metricLabelsAllowlist)."""
CLOUD_GPUS = (
    'sum(kube_node_status_allocatable{resource="nvidia_com_gpu"}'
    f' * on(node) group_left() kube_node_labels{{{LOCATION_LABEL}="{c.LOCATION_CLOUD}"}})'
)
"""GPUs on cloud burst nodes right now."""
HOURLY_COST = "sum(node_total_hourly_cost)"
"""OpenCost's price of every node per hour (on-prem at the amortised GPU price)."""


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    labels: tuple[tuple[str, str], ...] = ()
    """Extra labels (e.g. the model a canary alert is about)."""
    description: str | None = None
    """What to do, for alerts whose remedy is not on the runbook page alone."""

    def rule(self) -> dict[str, Any]:
        annotations = {"summary": self.summary, "runbook_url": f"{c.RUNBOOK_BASE_URL}/{self.name.lower()}"}
        if self.description is not None:
            annotations["description"] = self.description
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.duration,
            "labels": {"severity": self.severity, **dict(self.labels)},
            "annotations": annotations,
        }


SNAPSHOT_STALE_HOURS = 36
"""A daily schedule missed once (plus its run time) before the missing-snapshot alert pages."""
CANARY_WINDOW = "10m"
CANARY_MIN_RPS = 0.05
"""Below this request rate (3/min) the candidate's ratios are noise: no alert."""


def _ratio(metric_ok: str, metric_all: str, model_id: str) -> str:
    return (
        f'sum(rate({metric_ok}{{model_id="{model_id}"}}[{CANARY_WINDOW}]))'
        f' / sum(rate({metric_all}{{model_id="{model_id}"}}[{CANARY_WINDOW}]))'
    )


def _ttft_p95(model_name: str) -> str:
    return (
        "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket"
        f'{{model_name="{model_name}"}}[{CANARY_WINDOW}])))'
    )


def canary_alerts(cfg: FactoryConfig) -> list[Alert]:
    """Per model under canary: the candidate against the stable on error ratio and p95 time-to-first-token.

    Error ratios come from the router's per-deployment counters (`model_id` is the LiteLLM
    deployment id, i.e. `<name>/stable` and `<name>/candidate`); TTFT from vLLM's own histogram, whose
    `model_name` is the served model name of each release.
    """
    if cfg.serving is None:
        return []
    gov = cfg.serving.governance
    out: list[Alert] = []
    for m in cfg.serving.models:
        if m.candidate is None:
            continue
        cand = f"{m.name}{c.CANDIDATE_SUFFIX}"
        cand_id, stable_id = deployment_id(m.name, "candidate"), deployment_id(m.name, "stable")
        labels = (("model", m.name), ("release", "candidate"))
        revert = (
            f"Roll back: revert the pull request that added serving.models[{m.name}].candidate (or remove the "
            "candidate block) and run `pulumi up`; the router stops sending it traffic as soon as its config rolls out."
        )
        failures, total = "litellm_deployment_failure_responses_total", "litellm_deployment_total_requests_total"
        out.append(
            Alert(
                "CanaryErrorRateHigh",
                f"({_ratio(failures, total, cand_id)}) > ({_ratio(failures, total, stable_id)} or vector(0))"
                f" + {gov.canary_error_rate_margin}"
                f' and sum(rate({total}{{model_id="{cand_id}"}}[{CANARY_WINDOW}])) > {CANARY_MIN_RPS}',
                "10m",
                "critical",
                f"Candidate of {m.name} ({m.candidate.source.revision[:12]}) fails more often than the stable "
                f"revision (by more than {gov.canary_error_rate_margin:.0%})",
                labels,
                revert,
            )
        )
        out.append(
            Alert(
                "CanaryTimeToFirstTokenHigh",
                f"{_ttft_p95(cand)} > {gov.canary_ttft_ratio} * {_ttft_p95(m.name)}",
                "15m",
                "warning",
                f"p95 time-to-first-token of the {m.name} candidate is above {gov.canary_ttft_ratio}x the stable's",
                labels,
                revert,
            )
        )
    return out


TEAM_BUDGET_LEFT = 0.1
"""Warn when a team has less than this share of its router budget left in the period."""


def team_alerts() -> list[Alert]:
    """Router teams (components/k8s/router_teams.py): budgets running out, and the key job failing."""
    by_team = "max by (team, team_alias)"
    job = f'namespace="{c.NAMESPACE_SERVING}",job_name=~"{c.ROUTER_TEAMS_JOB}-.*"'
    return [
        Alert(
            "RouterTeamBudgetNearlySpent",
            f"{by_team} (litellm_remaining_team_budget_metric) / {by_team} (litellm_team_max_budget_metric)"
            f" < {TEAM_BUDGET_LEFT}",
            "15m",
            "warning",
            f"Team {{{{ $labels.team_alias }}}} has less than {TEAM_BUDGET_LEFT:.0%} of its router budget left: "
            "its requests fail once it is spent",
        ),
        Alert(
            "RouterTeamsReconcileFailed",
            f"max by (namespace, job_name) (kube_job_status_failed{{{job}}}) > 0",
            "0m",
            "warning",
            "Router teams job {{ $labels.job_name }} failed: a team's budget, models or key may be stale",
        ),
    ]


def alert_groups(cfg: FactoryConfig) -> list[dict[str, Any]]:
    obs = cfg.observability
    pause_usd = cfg.budget.total_monthly_usd * cfg.budget.pause_at_percent / 100
    gpu = [
        Alert(
            "GpuXidError",
            "max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS) > 0",
            "0m",
            "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}",
        ),
        Alert(
            "GpuRowRemapFailure",
            "max by (Hostname, gpu) (DCGM_FI_DEV_ROW_REMAP_FAILURE) > 0",
            "0m",
            "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} failed to remap a memory row: drain and RMA",
        ),
        Alert(
            "GpuUncorrectableEccRemapped",
            "max by (Hostname, gpu) (DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS) > 0",
            "0m",
            "warning",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} remapped rows after uncorrectable ECC errors",
        ),
        Alert(
            "GpuNodeNotReady",
            'max by (node) (kube_node_status_condition{condition="Ready",status="true"} == 0)',
            "5m",
            "critical",
            "Node {{ $labels.node }} is not Ready",
        ),
    ]
    serving = [
        Alert(
            "VllmQueueDepthHigh",
            f"sum by (namespace, model_name) ({c.VLLM_QUEUE_METRIC}) > {obs.queue_depth_alert}",
            "10m",
            "warning",
            "{{ $labels.model_name }} has {{ $value }} requests waiting: autoscaling is not keeping up",
        ),
        Alert(
            "VllmTimeToFirstTokenHigh",
            "histogram_quantile(0.95, sum by (le, model_name) (rate(vllm:time_to_first_token_seconds_bucket[5m])))"
            f" > {obs.ttft_p95_seconds}",
            "10m",
            "warning",
            "p95 time-to-first-token of {{ $labels.model_name }} is {{ $value }}s",
        ),
    ]
    cost = [
        Alert(
            "BudgetBurnHigh",
            f"{HOURLY_COST} * {HOURS_PER_MONTH} > {pause_usd:.0f}",
            "1h",
            "warning",
            f"Projected monthly cost {{{{ $value }}}} USD is above {cfg.budget.pause_at_percent}% of the budget",
        ),
    ]
    if cfg.cloud is not None and cfg.cloud.eks is not None:
        cost.append(
            Alert(
                "BurstPoolAtGpuLimit",
                f"{CLOUD_GPUS} >= {cfg.cloud.eks.burst.max_gpus}",
                "15m",
                "warning",
                f"Cloud burst uses all {cfg.cloud.eks.burst.max_gpus} GPUs it may: requests now queue",
            )
        )
    vs = cfg.vector_store
    if vs is not None and vs.snapshots is not None:
        # The CronJob of components/k8s/vector_snapshots.py (kube-state-metrics' job and cronjob series).
        job = f'namespace="{c.NAMESPACE_VECTOR}",job_name=~"{c.VECTOR_SNAPSHOT_JOB}-.*"'
        serving.append(
            Alert(
                "VectorSnapshotFailed",
                f"max by (namespace, job_name) (kube_job_status_failed{{{job}}}) > 0",
                "0m",
                "warning",
                "Vector store snapshot run {{ $labels.job_name }} failed: a collection or node was not backed up",
            )
        )
        serving.append(
            Alert(
                "VectorSnapshotMissing",
                f'time() - max(kube_cronjob_status_last_successful_time{{namespace="{c.NAMESPACE_VECTOR}",'
                f'cronjob="{c.VECTOR_SNAPSHOT_JOB}"}}) > {SNAPSHOT_STALE_HOURS * 3600}',
                "30m",
                "critical",
                f"No successful vector store snapshot for more than {SNAPSHOT_STALE_HOURS} hours",
            )
        )
    if cfg.serving is not None and cfg.serving.router.teams:
        serving += team_alerts()
    groups = [
        {"name": "ai-factory.gpu", "rules": [a.rule() for a in gpu]},
        {"name": "ai-factory.serving", "rules": [a.rule() for a in serving]},
        {"name": "ai-factory.cost", "rules": [a.rule() for a in cost]},
    ]
    if canary := canary_alerts(cfg):
        groups.append({"name": "ai-factory.canary", "rules": [a.rule() for a in canary]})
    return groups
