"""Per-team router keys and budgets, the router's database and TLS, as the platform plans them.

The reconcile script itself runs for real against fake LiteLLM and Kubernetes APIs in
test_router_teams_script.py; here: what Pulumi gives it (teams document, RBAC, network policy,
Job naming), the database LiteLLM needs for teams, where all of it runs, and router TLS.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml
from support import sections, stack_doc

from components import conventions as c
from components.config.errors import ConfigError
from components.config.loader import parse_sections
from components.config.models import FactoryConfig
from components.k8s import router_teams
from components.k8s.placement import router_placement
from components.k8s.router import router_config
from components.k8s.router_database import storage_class_name
from components.routing import callable_names, router_on_prem
from components.tooling.plan import make_plan

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

JOB = "kubernetes:batch/v1:Job"
CRONJOB = "kubernetes:batch/v1:CronJob"


def _cfg(stack: str, mutate=None) -> FactoryConfig:
    secs = sections(stack)
    if mutate:
        mutate(secs)
    return parse_sections(secs)


def _problems(stack: str, mutate) -> list[str]:
    with pytest.raises(ConfigError) as err:
        _cfg(stack, mutate)
    return [f"{p.path}: {p.message}" for p in err.value.problems]


def _lines(stack: str, mutate) -> list[str]:
    """The problems exactly as `factory` prints them, one line each (with what is allowed)."""
    with pytest.raises(ConfigError) as err:
        _cfg(stack, mutate)
    return str(err.value).splitlines()


def _named(plan, type_: str, name: str, namespace: str | None = None) -> list[dict]:
    return [
        r
        for r in plan.resources
        if r["type"] == type_
        and r["inputs"]["metadata"]["name"] == name
        and (namespace is None or r["inputs"]["metadata"].get("namespace") == namespace)
    ]


def _pod_of(resource: dict) -> dict:
    spec = resource["inputs"]["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


# --------------------------------------------------------------------- the teams document
def test_teams_document_of_prod_eu() -> None:
    cfg = _cfg("prod-eu")
    doc = router_teams.teams_document(cfg)
    every = callable_names(cfg)
    assert doc == {
        "environment": "prod-eu",
        "managedBy": c.PROJECT,
        "secretName": "router-key",
        "teams": {
            "assistant": {
                "namespace": "aif-team-assistant",
                "models": ["llama-31-8b", "llama-33-70b", "auto-internal", "auto-restricted"],
                "maxBudget": 8000.0,
                "budgetDuration": "30d",
                "rpmLimit": 3000,
                "tpmLimit": 2000000,
                "keyMaxAgeDays": 90,
                "keyGraceHours": 24,
            },
            "research": {
                "namespace": "aif-team-research",
                # No list in config: every model and alias, never the external API group directly.
                "models": every,
                "maxBudget": 3000.0,
                "budgetDuration": "30d",
                "rpmLimit": 600,
                "tpmLimit": None,
                "keyMaxAgeDays": 90,
                "keyGraceHours": 24,
            },
        },
    }
    assert "external-fallback" not in every and {"llama-31-8b", "auto-public", "auto-embed-internal"} <= set(every)


def test_the_script_reads_the_document_the_platform_writes(tmp_path) -> None:
    """The job's parser (scripts/router_teams.py) accepts every reference stack's document unchanged."""
    from components.k8s.scripts import router_teams as script

    for stack in ("lab", "prod-eu"):
        path = tmp_path / f"{stack}.json"
        path.write_text(json.dumps(router_teams.teams_document(_cfg(stack))))
        parsed = script.load_config(str(path))
        assert sorted(parsed.teams) == sorted(_cfg(stack).serving.router.teams), stack
        assert {t.key_grace_hours for t in parsed.teams.values()} == {24}, stack


# ---------------------------------------------------------------------------- config checks
@pytest.mark.parametrize("where", ["team", "router"])
def test_a_zero_budget_period_is_refused_as_litellm_does(where: str) -> None:
    """LiteLLM's validate_budget_duration (management_endpoints/common_utils.py) refuses a period <= 0."""

    def zero(s):
        router = s["serving"]["router"]
        (router["teams"]["research"] if where == "team" else router)["budgetDuration"] = "0d"

    path = "serving.router.teams.research.budgetDuration" if where == "team" else "serving.router.budgetDuration"
    assert _lines("prod-eu", zero) == [
        f"ai-factory:{path}: '0d' has the wrong format (allowed: text matching ^[1-9]\\d*[smhd]$)"
    ]

    def leading_zero(s):
        s["serving"]["router"]["teams"]["research"]["budgetDuration"] = "07d"

    assert len(_problems("prod-eu", leading_zero)) == 1
    ok = _cfg("prod-eu", lambda s: s["serving"]["router"].update(budgetDuration="10d"))
    assert ok.serving.router.budget_duration == "10d"


def test_key_grace_is_at_least_a_day() -> None:
    def short(s):
        s["serving"]["router"]["teams"]["research"]["keyGraceHours"] = 1

    assert _lines("prod-eu", short) == [
        "ai-factory:serving.router.teams.research.keyGraceHours: 1 is out of range (allowed: >= 24)"
    ]


def test_a_team_needs_a_namespace_and_known_models() -> None:
    def bad(s):
        s["serving"]["router"]["teams"]["ghost"] = {"models": ["llama-31-8b", "gpt-4o", "external-fallback"]}

    assert _problems("prod-eu", bad) == [
        "ai-factory:serving.router.teams.ghost: the team's key Secret goes to its namespace, and the team has none",
        "ai-factory:serving.router.teams.ghost.models[1]: 'gpt-4o' is no model or alias of the router",
        "ai-factory:serving.router.teams.ghost.models[2]: 'external-fallback' is no model or alias of the router",
    ]


def test_tls_ends_on_site_for_restricted_traffic() -> None:
    arn = "arn:aws:acm:eu-central-1:111122223333:certificate/x"

    def acm_only(s):
        del s["serving"]["router"]["tlsSecret"]
        s["serving"]["router"]["tlsCertificateArn"] = arn

    def both(s):
        s["serving"]["router"]["tlsCertificateArn"] = arn

    def none(s):
        del s["serving"]["router"]["tlsSecret"]

    assert _problems("prod-eu", acm_only) == [
        "ai-factory:serving.router.tlsCertificateArn: data class restricted may be processed on-prem only, and TLS "
        "ending at an AWS load balancer would expose its prompts in the cloud"
    ]
    assert [p.split(":", 2)[1] for p in _problems("prod-eu", both)] == [
        "serving.router.tlsSecret",
        "serving.router.tlsCertificateArn",
    ]
    assert _problems("prod-eu", none) == [
        "ai-factory:serving.router: tier prod serves the router over TLS (prompts and keys cross the network)"
    ]


def test_teams_need_the_database_password_secret() -> None:
    from components.config.secrets import needed_secrets

    def no_teams(s):
        s["serving"]["router"].pop("teams")

    def no_budgets(s):
        no_teams(s)
        s["serving"]["router"].pop("maxBudgetUsd")

    def keys(cfg: FactoryConfig) -> set[str]:
        return {s.key for s in needed_secrets(cfg)}

    assert "routerDatabasePassword" in keys(_cfg("prod-eu"))
    # A router-wide budget alone needs the database too (LiteLLM enforces no budget without one).
    assert "routerDatabasePassword" in keys(_cfg("prod-eu", no_teams))
    assert "routerDatabasePassword" not in keys(_cfg("prod-eu", no_budgets))


# ------------------------------------------------------------------------- the planned objects
def test_job_rbac_and_network_policy(plans) -> None:
    plan = plans["prod-eu"]
    cfg = plan.config
    [config_map] = _named(plan, "kubernetes:core/v1:ConfigMap", "router-teams", c.NAMESPACE_SERVING)
    data = config_map["inputs"]["data"]
    assert data["router_teams.py"] == router_teams.script_text()
    assert json.loads(data["teams.json"]) == router_teams.teams_document(cfg)
    jobs = [r for r in plan.resources if r["type"] == JOB]
    assert [j["inputs"]["metadata"]["name"] for j in jobs] == [f"router-teams-{_run_id(data)}"]
    [cron] = _named(plan, CRONJOB, "router-teams", c.NAMESPACE_SERVING)
    assert cron["inputs"]["spec"]["concurrencyPolicy"] == "Forbid"
    for pod in (_pod_of(jobs[0]), _pod_of(cron)):
        assert pod["serviceAccountName"] == "router-teams" and pod["automountServiceAccountToken"] is True
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        # The master key by reference only; the CA, not the router's private key.
        assert env["LITELLM_MASTER_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "router-credentials",
            "key": "LITELLM_MASTER_KEY",
        }
        assert env["ROUTER_URL"]["value"] == "https://router.aif-serving.svc.cluster.local"
        [ca] = [v for v in pod["volumes"] if v["name"] == "router-ca"]
        assert ca["secret"] == {"secretName": "router-tls", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    roles = [r for r in plan.resources if r["type"] == "kubernetes:rbac.authorization.k8s.io/v1:Role"]
    assert sorted(r["inputs"]["metadata"]["namespace"] for r in roles) == ["aif-team-assistant", "aif-team-research"]
    for role in roles:
        assert role["inputs"]["rules"] == [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["router-key"], "verbs": ["get", "update"]},
        ]
    bindings = [r for r in plan.resources if r["type"] == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"]
    assert len(bindings) == 2
    for binding in bindings:
        assert binding["inputs"]["subjects"] == [
            {"kind": "ServiceAccount", "name": "router-teams", "namespace": c.NAMESPACE_SERVING}
        ]
        assert binding["inputs"]["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "router-teams",
        }
    [netpol] = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "router-teams")
    egress = netpol["inputs"]["spec"]["egress"]
    assert egress[0] == {
        "to": [{"podSelector": {"matchLabels": {c.LABEL_APP: "router"}}}],
        "ports": [{"protocol": "TCP", "port": c.PORT_ROUTER}],
    }
    assert len(egress) == 2 and "ingress" not in netpol["inputs"]["spec"]


# The pod holds the master key: its API-server egress goes where the API server is, nothing wider.
API_SERVER_EGRESS = {
    # EKS: the private endpoint's ENIs in the VPC (cloud.vpc.cidr), reached over the VPN from the site.
    "prod-eu": {"to": [{"ipBlock": {"cidr": "10.100.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 443}]},
    # kubeadm: the control plane on the site's node networks (onPrem.network.nodeCidrs).
    "lab": {
        "to": [{"ipBlock": {"cidr": "10.30.0.0/24"}}],
        "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}],
    },
}


@pytest.mark.parametrize("stack", sorted(API_SERVER_EGRESS))
def test_job_reaches_only_the_api_server_and_the_router(stack: str, plans) -> None:
    plan = plans[stack]
    [netpol] = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "router-teams", c.NAMESPACE_SERVING)
    egress = netpol["inputs"]["spec"]["egress"]
    assert egress[1] == API_SERVER_EGRESS[stack]
    assert "0.0.0.0/0" not in json.dumps(netpol["inputs"])
    if plan.config.has_eks:
        assert egress[1]["to"] == [{"ipBlock": {"cidr": plan.config.cloud.vpc.cidr}}]
    else:
        assert egress[1]["to"] == [{"ipBlock": {"cidr": x}} for x in plan.config.on_prem.network.node_cidrs]


@pytest.mark.parametrize("stack", ["lab", "prod-eu"])
def test_no_run_starts_before_its_network_policy(stack: str, plans) -> None:
    """The namespace denies by default: the Job and the CronJob wait for the policy that lets them out."""
    plan = plans[stack]
    [netpol] = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "router-teams", c.NAMESPACE_SERVING)
    runs = [r for r in plan.resources if r["type"] in (JOB, CRONJOB) and "router-teams" in r["name"]]
    assert len(runs) == 2
    for run in runs:
        assert netpol["urn"] in run["dependencies"], run["name"]


def test_a_failed_job_is_replaced_and_awaited_as_long_as_it_may_run(monkeypatch, write_stack) -> None:
    """pulumi-kubernetes awaits a Job 10 minutes by default and, after a failure, waits on the same unready
    Job again unless it carries `pulumi.com/replaceUnready: "true"` (the Job resource's documentation)."""
    from components.tooling import mock_runtime

    timeouts: dict[str, tuple[str, str]] = {}
    register = mock_runtime.RecordingMonitor.RegisterResource

    def recording(self, request):
        if request.type == JOB and "router-teams" in request.name:
            timeouts[request.name] = (request.customTimeouts.create, request.customTimeouts.update)
        return register(self, request)

    monkeypatch.setattr(mock_runtime.RecordingMonitor, "RegisterResource", recording)
    plan = make_plan("lab-t", write_stack("lab-t", stack_doc("lab")))
    [job] = [r for r in plan.resources if r["type"] == JOB and "router-teams" in r["name"]]
    assert job["inputs"]["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
    spec = job["inputs"]["spec"]
    deadline = spec["activeDeadlineSeconds"]
    # One run may wait READY_TIMEOUT for the router; with its retries the Job ends at its deadline.
    env = {e["name"]: e.get("value") for e in _pod_of(job)["containers"][0]["env"]}
    assert float(env["READY_TIMEOUT_SECONDS"]) * (spec["backoffLimit"] + 1) >= deadline
    [(create, update)] = timeouts.values()
    assert create == update == "35m"
    assert int(create.removesuffix("m")) * 60 > deadline
    # The CronJob's runs are not awaited by Pulumi: no annotation there.
    [cron] = [r for r in plan.resources if r["type"] == CRONJOB and "router-teams" in r["name"]]
    assert "annotations" not in cron["inputs"]["metadata"]


def _run_id(data: dict) -> str:
    import hashlib

    return hashlib.sha256((data["teams.json"] + data["router_teams.py"]).encode()).hexdigest()[:10]


def test_a_budget_change_replaces_the_job_and_nothing_else_of_it(write_stack) -> None:
    doc = stack_doc("lab")
    base = make_plan("lab-a", write_stack("lab-a", doc))
    doc["config"]["ai-factory:serving"]["router"]["teams"]["lab-users"]["maxBudgetUsd"] = 250
    changed = make_plan("lab-b", write_stack("lab-b", doc))

    def job_names(plan) -> list[str]:
        return [r["inputs"]["metadata"]["name"] for r in plan.resources if r["type"] == JOB]

    assert len(job_names(base)) == 1 and job_names(base) != job_names(changed)
    again = make_plan("lab-c", write_stack("lab-c", stack_doc("lab")))
    assert job_names(again) == job_names(base)


def test_no_team_no_database_and_no_job(plans) -> None:
    plan = plans["dev"]
    assert not plan.config.serving.router.teams
    assert not [
        r for r in plan.resources if r["type"] in (JOB, "kubernetes:apps/v1:StatefulSet") and "router" in r["name"]
    ]
    assert "database_url" not in router_config(plan.config)["general_settings"]


def test_a_router_budget_without_teams_gets_the_database(write_stack) -> None:
    """LiteLLM enforces `max_budget` only with its database (proxy_server.py: "the budget will NOT be
    enforced" without one): a router budget alone brings the database, its URL, its policies and secret."""
    from components.config.secrets import needed_secrets

    doc = stack_doc("dev")
    doc["config"]["ai-factory:serving"].setdefault("router", {})["maxBudgetUsd"] = 500
    plan = make_plan("dev-budget", write_stack("dev-budget", doc))
    cfg = plan.config
    assert not cfg.serving.router.teams and cfg.serving.router.max_budget_usd == 500
    assert "routerDatabasePassword" in {s.key for s in needed_secrets(cfg)}
    assert router_config(cfg)["general_settings"]["database_url"] == "os.environ/DATABASE_URL"
    assert router_config(cfg)["litellm_settings"]["max_budget"] == 500
    [sts] = _named(plan, "kubernetes:apps/v1:StatefulSet", "router-db", c.NAMESPACE_SERVING)
    assert sts["inputs"]["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == storage_class_name(cfg)
    [dep] = _named(plan, "kubernetes:apps/v1:Deployment", "router", c.NAMESPACE_SERVING)
    env = {e["name"]: e for e in _pod_of(dep)["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "router-credentials", "key": "DATABASE_URL"}
    assert _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "router-db", c.NAMESPACE_SERVING)
    [router_pol] = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "router", c.NAMESPACE_SERVING)
    assert {"to": [_db_peer()], "ports": [{"protocol": "TCP", "port": c.PORT_POSTGRES}]} in router_pol["inputs"][
        "spec"
    ]["egress"]
    # No teams: no key job.
    assert not [r for r in plan.resources if r["type"] in (JOB, CRONJOB)]


def _db_peer() -> dict:
    return {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": c.NAMESPACE_SERVING}},
        "podSelector": {"matchLabels": {c.LABEL_APP: "router-db"}},
    }


@pytest.mark.parametrize("stack", ["lab", "prod-eu"])
def test_database_is_protected_encrypted_and_reachable_from_the_router_only(stack: str, plans) -> None:
    plan = plans[stack]
    [sts] = _named(plan, "kubernetes:apps/v1:StatefulSet", "router-db", c.NAMESPACE_SERVING)
    spec = sts["inputs"]["spec"]
    assert sts["protect"] is plan.config.is_prod
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]["spec"]
    # Both stacks run the router on the site: the site's encrypted class, not EBS.
    assert claim["storageClassName"] == plan.config.kubernetes.on_prem_storage_class == storage_class_name(plan.config)
    env = {e["name"]: e for e in spec["template"]["spec"]["containers"][0]["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "router-db", "key": "POSTGRES_PASSWORD"}
    [netpol] = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "router-db", c.NAMESPACE_SERVING)
    assert netpol["inputs"]["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": c.NAMESPACE_SERVING}},
                    "podSelector": {"matchLabels": {c.LABEL_APP: "router"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": c.PORT_POSTGRES}],
        }
    ]
    [router_pol] = _named(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "router", c.NAMESPACE_SERVING)
    assert any(
        rule["ports"] == [{"protocol": "TCP", "port": c.PORT_POSTGRES}]
        for rule in router_pol["inputs"]["spec"]["egress"]
    )
    # The password reaches the cluster only as a secret Output (masked in the plan).
    [secret] = _named(plan, "kubernetes:core/v1:Secret", "router-db", c.NAMESPACE_SERVING)
    assert secret["inputs"]["stringData"] == c.SECRET_MASK


def test_router_config_with_teams_loads_in_litellm_and_prices_tokens() -> None:
    from litellm.proxy._types import ConfigYAML
    from litellm.types.router import GenericLiteLLMParams

    cfg = _cfg("prod-eu")
    config = router_config(cfg)
    parsed = ConfigYAML(**yaml.safe_load(yaml.safe_dump(config)))
    assert parsed.general_settings.database_url == "os.environ/DATABASE_URL"
    assert parsed.general_settings.store_model_in_db is False
    assert parsed.general_settings.store_prompts_in_spend_logs is False
    [small] = [d for d in config["model_list"] if d["model_info"]["id"] == "llama-31-8b/stable"]
    params = GenericLiteLLMParams(**small["litellm_params"])
    assert params.input_cost_per_token == pytest.approx(0.05e-6)
    assert params.output_cost_per_token == pytest.approx(0.20e-6)


# ---------------------------------------------------------------------------------- placement
def test_restricted_traffic_keeps_router_cache_database_and_job_on_site(plans) -> None:
    plan = plans["prod-eu"]
    assert router_on_prem(plan.config)
    names = {"router", "router-cache", "router-db", "router-teams"}
    pods = [
        (r["inputs"]["metadata"]["name"], _pod_of(r))
        for r in plan.resources
        if r["type"] in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", JOB, CRONJOB)
        and r["inputs"]["metadata"].get("namespace") == c.NAMESPACE_SERVING
        and (r["inputs"]["metadata"]["name"] in names or r["inputs"]["metadata"]["name"].startswith("router-teams-"))
    ]
    assert len(pods) == 5
    for name, pod in pods:
        terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms == [
            {"matchExpressions": [{"key": c.LABEL_LOCATION, "operator": "In", "values": [c.LOCATION_ON_PREM]}]}
        ], name
        assert not any(t.get("key") == c.BURST_TAINT_KEY for t in pod.get("tolerations", [])), name


def test_router_runs_on_the_system_pool_when_every_class_may_be_processed_in_the_cloud() -> None:
    def no_restricted(s):
        s["serving"]["models"] = [m for m in s["serving"]["models"] if "restricted" not in m["dataClasses"]]
        s["serving"]["router"]["teams"]["assistant"]["models"] = ["llama-31-8b"]

    cfg = _cfg("prod-eu", no_restricted)
    assert not router_on_prem(cfg)
    assert router_placement(cfg).pod_fields() == {}


# --------------------------------------------------------------------------------------- TLS
def test_on_prem_router_serves_https_itself(plans) -> None:
    plan = plans["lab"]
    [dep] = _named(plan, "kubernetes:apps/v1:Deployment", "router", c.NAMESPACE_SERVING)
    pod = _pod_of(dep)
    container = pod["containers"][0]
    args = container["args"]
    assert args[args.index("--ssl_keyfile_path") + 1] == "/etc/litellm-tls/tls.key"
    assert args[args.index("--ssl_certfile_path") + 1] == "/etc/litellm-tls/tls.crt"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    [tls] = [v for v in pod["volumes"] if v["name"] == "tls"]
    assert tls["secret"] == {"secretName": "router-tls", "defaultMode": 0o440}
    [svc] = _named(plan, "kubernetes:core/v1:Service", "router", c.NAMESPACE_SERVING)
    assert svc["inputs"]["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "https"}]
    assert "type" not in svc["inputs"]["spec"]  # no cloud load balancer on the lab's own cluster
    assert not _named(plan, "kubernetes:core/v1:Service", "router-internal")


def test_prometheus_scrapes_the_router_over_verified_tls(plans) -> None:
    plan = plans["lab"]
    [sm] = _named(plan, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "router")
    assert sm["inputs"]["metadata"]["namespace"] == c.NAMESPACE_SERVING  # where the CA Secret is
    assert sm["inputs"]["spec"]["endpoints"] == [
        {
            "port": "https",
            "path": "/metrics/",
            "interval": "30s",
            "scheme": "https",
            "tlsConfig": {
                "ca": {"secret": {"name": "router-tls", "key": "ca.crt"}},
                "serverName": "router.aif-serving.svc",
            },
        }
    ]
    [dev_sm] = _named(plans["dev"], "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "router")
    assert dev_sm["inputs"]["spec"]["endpoints"] == [{"port": "http", "path": "/metrics/", "interval": "30s"}]


def test_eks_load_balancer_passes_tls_through_to_the_site_router(plans) -> None:
    plan = plans["prod-eu"]
    [lb] = _named(plan, "kubernetes:core/v1:Service", "router-internal", c.NAMESPACE_SERVING)
    annotations = lb["inputs"]["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    # No certificate at the load balancer: it never sees a prompt in clear.
    assert not {k for k in annotations if "ssl" in k}
    assert lb["inputs"]["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]
    # Its own app label, so the router's ServiceMonitor does not scrape it twice.
    assert lb["inputs"]["metadata"]["labels"][c.LABEL_APP] == "router-internal"


def test_acm_certificate_ends_tls_at_the_load_balancer_where_allowed() -> None:
    from components.k8s.router import lb_annotations, lb_service_spec, service_spec

    arn = "arn:aws:acm:eu-central-1:111122223333:certificate/x"

    def acm(s):
        s["serving"].setdefault("router", {})["tlsCertificateArn"] = arn

    cfg = _cfg("dev", acm)
    assert lb_annotations(cfg)["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == arn
    assert lb_service_spec(cfg)["ports"][0]["targetPort"] == "http"
    assert service_spec(cfg)["ports"] == [{"name": "http", "port": c.PORT_ROUTER, "targetPort": "http"}]


def test_residency_rule_blocks_a_router_workload_moved_to_the_cloud(plans) -> None:
    """AIF-RES-004 sees the router, its cache and its database: unpinned in prod-eu, each is a finding."""
    from policies.rules.base import ResourceView
    from policies.rules.placement import PLACEMENT_RULE, check_placement

    plan = plans["prod-eu"]
    facts = PLACEMENT_RULE.stack_facts(plan.config)
    views = []
    for name in ("router", "router-cache", "router-db"):
        [rec] = [
            r
            for kind in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet")
            for r in _named(plan, kind, name, c.NAMESPACE_SERVING)
        ]
        views.append(ResourceView(type=rec["type"], urn=rec["urn"], name=rec["name"], props=rec["inputs"]))
    assert list(check_placement(views, facts)) == []
    loose = []
    for view in views:
        props = json.loads(json.dumps(view.props))
        pod = props["spec"]["template"]["spec"]
        pod.pop("affinity"), pod.pop("nodeSelector")
        loose.append(ResourceView(type=view.type, urn=view.urn, name=view.name, props=props))
    assert [f.message for f in check_placement(loose, facts)] == [
        f"router {app} ({app}) handles restricted but is not pinned to {c.LABEL_LOCATION}={c.LOCATION_ON_PREM}"
        for app in ("router", "router-cache", "router-db")
    ]


def test_team_alerts_only_with_teams() -> None:
    from components.k8s.alerts import alert_groups

    def names(cfg: FactoryConfig) -> set[str]:
        return {r["alert"] for g in alert_groups(cfg) for r in g["rules"] if "alert" in r}

    team = {"RouterTeamBudgetNearlySpent", "RouterTeamsReconcileFailed"}
    assert team <= names(_cfg("prod-eu")) and team <= names(_cfg("lab"))
    assert not team & names(_cfg("dev"))
