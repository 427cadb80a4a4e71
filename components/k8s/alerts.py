"""Alert rules (PrometheusRule groups), a pure function of config.

Every alert carries `runbook_url` (one page per alert under conventions.RUNBOOK_BASE_URL),
a severity and a summary; the tests parse every expression with a real PromQL parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components import conventions as c
from components.config.models import FactoryConfig
from components.k8s.cost_rules import burn_threshold_usd, cloud_burn_expr, recording_rules
from components.releases import deployment_id

LOCATION_LABEL = "label_ai_factory_io_location"
"""kube-state-metrics' spelling of the node label ai-factory.io/location (metricLabelsAllowlist)."""
CLOUD_GPUS = (
    'sum(kube_node_status_allocatable{resource="nvidia_com_gpu"}'
    f' * on(node) group_left() kube_node_labels{{{LOCATION_LABEL}="{c.LOCATION_CLOUD}"}})'
)
"""GPUs on cloud burst nodes right now."""


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
    gpu = [
        Alert(
            # The gauge holds the *last* XID code and keeps it: alert when it changes, not while it is set.
            "GpuXidError",
            "max by (Hostname, gpu) (changes(DCGM_FI_DEV_XID_ERRORS[15m])) > 0"
            " and max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS) > 0",
            "0m",
            "critical",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported a new XID error",
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
            # A lifetime counter (dcgm-exporter's counters CSV): a remap is news once, not forever.
            "max by (Hostname, gpu) (increase(DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS[1h])) > 0",
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
            # Per replica: KEDA adds replicas at the queue-depth threshold per replica, so only a queue far
            # above it for long means scaling is stuck (GPUs exhausted, pool at its cap, pods pending).
            f"avg by (namespace, model_name) ({c.VLLM_QUEUE_METRIC}) > {obs.queue_depth_alert}",
            "10m",
            "warning",
            "{{ $labels.model_name }} has {{ $value }} requests waiting per replica: autoscaling is not keeping up",
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
    cost: list[Alert] = []
    if cfg.cloud is not None and cfg.cloud.eks is not None:
        # Only cloud nodes make the spend vary (the site's amortisation is fixed), so the burn alert
        # exists where there is a cloud pool to burn it.
        cost.append(
            Alert(
                "BudgetBurnHigh",
                cloud_burn_expr(cfg),
                "1h",
                "warning",
                "At the cloud nodes' current rate ({{ $value | humanize }} USD/month) the budget guard will pause "
                f"the burst pools this month (threshold {burn_threshold_usd(cfg):.0f} USD)",
                description=(
                    "Node prices only (ai_factory:node_hourly_cost_usd, the plan's cost model); storage, traffic and "
                    "the control plane are counted by the AWS Budget's own alerts."
                ),
            )
        )
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
                f'cronjob="{c.VECTOR_SNAPSHOT_JOB}"}}) > {vs.snapshots.alert_after_hours * 3600}',
                "30m",
                "critical",
                f"No successful vector store snapshot for more than {vs.snapshots.alert_after_hours} hours",
            )
        )
    if cfg.serving is not None and cfg.serving.router.teams:
        serving += team_alerts()
    groups = [
        # Recording rules first: the cost alerts and dashboards read their series.
        ("ai-factory.cost-model", recording_rules(cfg)),
        ("ai-factory.gpu", [a.rule() for a in gpu]),
        ("ai-factory.serving", [a.rule() for a in serving]),
        ("ai-factory.cost", [a.rule() for a in cost]),
        ("ai-factory.canary", [a.rule() for a in canary_alerts(cfg)]),
    ]
    return [{"name": name, "rules": rules} for name, rules in groups if rules]
