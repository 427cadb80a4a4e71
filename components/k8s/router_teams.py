"""Per-team router keys and budgets: a Job that reconciles LiteLLM teams and keys from config.

LiteLLM keeps teams and virtual keys in its database and creates them through its admin API
(`/team/new`, `/key/service-account/generate`), not its config. The router-teams job
(components/k8s/scripts/router_teams.py) does that in the cluster, with the master key: one
LiteLLM team per `serving.router.teams` entry (budget, period, rpm/tpm, callable models), one
key per team (`llm_api` routes only) written to the Secret `router-key` in the team's namespace,
rotated after `keyMaxAgeDays` (the replaced key stays valid for `keyGraceHours`), and teams removed
from config blocked (never deleted: their spend history stays). Issued keys never pass through
Pulumi, so they are in no state file or preview.

The Job is named after a hash of what it applies, so a config change replaces it and
`pulumi up` waits for it to complete (or fails with it); a daily CronJob with the same pod
repairs drift (a deleted Secret) and rotates keys as they age. Its only Kubernetes rights are on
Secrets in the teams' namespaces: create, and get/update of `router-key`.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import conventions as c
from components.config.models import FactoryConfig
from components.k8s import images
from components.k8s.context import PlatformContext, restricted_container_security, restricted_pod_security
from components.k8s.placement import router_placement
from components.k8s.tenancy import ROUTER_POD
from components.routing import callable_names

NAME = c.ROUTER_TEAMS_JOB
"""ServiceAccount, ConfigMap, CronJob and NetworkPolicy name; the job pods' app label."""
TEAMS_POD = {c.LABEL_APP: NAME}
KEY_SECRET = "router-key"
"""Secret in each team's namespace: api-key, base-url (and ca.crt with router TLS)."""
SCRIPT_KEY = "router_teams.py"
TEAMS_KEY = "teams.json"
SCRIPTS_DIR = "/scripts"
CA_DIR = "/etc/router-ca"
SCHEDULE = "17 3 * * *"
"""Daily: repairs deleted Secrets and rotates aged keys; config changes run at once (the Job)."""
READY_TIMEOUT_SECONDS = 600
"""How long one run waits for the router to answer /health/readiness."""
BACKOFF_LIMIT = 3
ACTIVE_DEADLINE_SECONDS = 1800
"""The whole Job (every retry) ends after this; it bounds how long `pulumi up` may wait for it."""
JOB_TIMEOUT = f"{ACTIVE_DEADLINE_SECONDS // 60 + 5}m"
"""Pulumi's create/update await of the Job: its deadline plus scheduling slack (Pulumi's default for a
Job is 10 minutes, shorter than one run may legitimately wait for the router)."""
REPLACE_UNREADY = {"pulumi.com/replaceUnready": "true"}
"""A Job that failed is replaced on the next `pulumi up` instead of being awaited again (pulumi-kubernetes
waits on an unready resource until its inputs change otherwise)."""


def api_server_egress(cfg: FactoryConfig) -> dict[str, Any]:
    """Where the API server behind kubernetes.default is, and nothing wider (the pod holds the master key).

    EKS: the private endpoint's ENIs in the VPC on 443 (hybrid nodes reach them over the site VPN).
    kubeadm: the control-plane nodes on the site's node networks, on 6443 (kubeadm's default) or 443."""
    if cfg.has_eks:
        assert cfg.cloud is not None
        cidrs, ports = [cfg.cloud.vpc.cidr], [443]
    else:
        assert cfg.on_prem is not None, "the router runs on EKS or on the site's kubeadm cluster"
        cidrs, ports = list(cfg.on_prem.network.node_cidrs), [443, 6443]
    return {
        "to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs],
        "ports": [{"protocol": "TCP", "port": p} for p in ports],
    }


def script_text() -> str:
    return resources.files("components.k8s.scripts").joinpath(SCRIPT_KEY).read_text(encoding="utf-8")


def team_namespace(team: str) -> str:
    return f"{c.NAMESPACE_TEAM_PREFIX}{team}"


def teams_document(cfg: FactoryConfig) -> dict[str, Any]:
    """What the job applies (its TEAMS_FILE): every configured team with its limits and callable models."""
    assert cfg.serving is not None
    every = callable_names(cfg)
    teams: dict[str, Any] = {}
    for team, access in sorted(cfg.serving.router.teams.items()):
        teams[team] = {
            "namespace": team_namespace(team),
            # An empty list means "every model" to LiteLLM; the catalog's names keep the external API out.
            "models": list(access.models) if access.models is not None else every,
            "maxBudget": access.max_budget_usd,
            "budgetDuration": access.budget_duration if access.max_budget_usd is not None else None,
            "rpmLimit": access.rpm_limit,
            "tpmLimit": access.tpm_limit,
            "keyMaxAgeDays": access.key_max_age_days,
            "keyGraceHours": access.key_grace_hours,
        }
    return {
        "environment": cfg.environment.name,
        "managedBy": c.PROJECT,
        "secretName": KEY_SECRET,
        "teams": teams,
    }


def router_base_url(cfg: FactoryConfig) -> str:
    """How pods in the cluster reach the router: HTTPS on 443 with router TLS, else HTTP on its port."""
    assert cfg.serving is not None
    host = f"router.{c.NAMESPACE_SERVING}.svc.cluster.local"
    if cfg.serving.router.tls_secret is not None:
        return f"https://{host}"
    return f"http://{host}:{c.PORT_ROUTER}"


def pod_spec(cfg: FactoryConfig, image: pulumi.Input[str], credentials_secret: str) -> dict[str, Any]:
    assert cfg.serving is not None
    tls_secret = cfg.serving.router.tls_secret
    env: list[dict[str, Any]] = [
        {"name": "ROUTER_URL", "value": router_base_url(cfg)},
        {
            "name": "LITELLM_MASTER_KEY",
            "valueFrom": {"secretKeyRef": {"name": credentials_secret, "key": "LITELLM_MASTER_KEY"}},
        },
        {"name": "TEAMS_FILE", "value": f"{SCRIPTS_DIR}/{TEAMS_KEY}"},
        {"name": "READY_TIMEOUT_SECONDS", "value": str(READY_TIMEOUT_SECONDS)},
    ]
    mounts: list[dict[str, Any]] = [{"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True}]
    volumes: list[dict[str, Any]] = [{"name": "scripts", "configMap": {"name": NAME}}]
    if tls_secret is not None:
        env.append({"name": "ROUTER_CA_FILE", "value": f"{CA_DIR}/ca.crt"})
        mounts.append({"name": "router-ca", "mountPath": CA_DIR, "readOnly": True})
        # Only the CA: the job has no use for the router's private key.
        volumes.append(
            {"name": "router-ca", "secret": {"secretName": tls_secret, "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
        )
    return {
        "serviceAccountName": NAME,
        # The job writes Secrets through the API server: it needs its token (and nothing else does).
        "automountServiceAccountToken": True,
        "restartPolicy": "Never",
        "priorityClassName": c.PRIORITY_STANDARD,
        "securityContext": restricted_pod_security(images.LITELLM_UID),
        **router_placement(cfg).pod_fields(),
        "containers": [
            {
                "name": "reconcile",
                "image": image,
                "command": ["python3", f"{SCRIPTS_DIR}/{SCRIPT_KEY}"],
                "env": env,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}},
                "securityContext": restricted_container_security(),
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }


def job_spec(pod: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return {
        "backoffLimit": BACKOFF_LIMIT,
        "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
        "template": {"metadata": {"labels": {**labels, **TEAMS_POD}}, "spec": pod},
    }


def network_policy(cfg: FactoryConfig) -> dict[str, Any]:
    """The job talks to the router and the API server; nothing talks to it."""
    return {
        "podSelector": {"matchLabels": TEAMS_POD},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [
            {
                "to": [{"podSelector": {"matchLabels": ROUTER_POD}}],
                "ports": [{"protocol": "TCP", "port": c.PORT_ROUTER}],
            },
            api_server_egress(cfg),
        ],
    }


def key_writer_rules() -> list[dict[str, Any]]:
    """Create has no resourceNames in Kubernetes RBAC; reading and replacing are limited to the key Secret."""
    return [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [KEY_SECRET], "verbs": ["get", "update"]},
    ]


class RouterTeams(pulumi.ComponentResource):
    """The reconcile Job and CronJob, their script, service account, RBAC and network policy."""

    def __init__(
        self,
        name: str,
        ctx: PlatformContext,
        credentials_secret: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(c.type_token("k8s", "RouterTeams"), name, {}, opts)
        cfg = ctx.config
        assert cfg.serving is not None
        ns = c.NAMESPACE_SERVING
        labels = ctx.labels(NAME, "router")
        document = json.dumps(teams_document(cfg), indent=1, sort_keys=True)
        script = script_text()
        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=ctx.meta(NAME, ns, labels),
            automount_service_account_token=False,
            opts=ctx.opts(self),
        )
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=ctx.meta(NAME, ns, labels),
            data={SCRIPT_KEY: script, TEAMS_KEY: document},
            opts=ctx.opts(self),
        )
        netpol = k8s.networking.v1.NetworkPolicy(
            f"{name}-netpol", metadata=ctx.meta(NAME, ns, labels), spec=network_policy(cfg), opts=ctx.opts(self)
        )
        grants: list[pulumi.Resource] = []
        for team in sorted(cfg.serving.router.teams):
            team_ns = team_namespace(team)
            role = k8s.rbac.v1.Role(
                f"{name}-{team}-role",
                metadata=ctx.meta(NAME, team_ns, labels),
                rules=key_writer_rules(),
                opts=ctx.opts(self),
            )
            grants.append(role)
            grants.append(
                k8s.rbac.v1.RoleBinding(
                    f"{name}-{team}-binding",
                    metadata=ctx.meta(NAME, team_ns, labels),
                    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
                    subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": ns}],
                    opts=ctx.opts(self, depends_on=[role]),
                )
            )
        pod = pod_spec(cfg, ctx.image(images.LITELLM), credentials_secret)
        run_id = hashlib.sha256((document + script).encode()).hexdigest()[:10]
        # The namespace denies all traffic by default: no run may start before its own policy exists.
        after = ctx.opts(self, depends_on=[sa, config, netpol, *grants])
        # Named after what it applies: a change replaces the Job, and `pulumi up` waits for it (as long
        # as the Job may run); a failed one is replaced by the next `pulumi up`, not awaited again.
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata=ctx.meta(f"{NAME}-{run_id}", ns, labels, annotations=dict(REPLACE_UNREADY)),
            spec=job_spec(pod, labels),
            opts=ctx.opts(
                self,
                depends_on=[sa, config, netpol, *grants],
                custom_timeouts=pulumi.CustomTimeouts(create=JOB_TIMEOUT, update=JOB_TIMEOUT),
            ),
        )
        k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=ctx.meta(NAME, ns, labels),
            spec={
                "schedule": SCHEDULE,
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 3600,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {"metadata": {"labels": {**labels, **TEAMS_POD}}, "spec": job_spec(pod, labels)},
            },
            opts=after,
        )
        self.register_outputs({})
