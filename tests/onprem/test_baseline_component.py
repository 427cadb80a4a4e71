"""OnPremGpuBaseline under Pulumi's mock runtime and the GpuServer provider's diff."""

from __future__ import annotations

import itertools
import json

import pytest
from support import REPO, stack_doc

from components.config import ConfigError, load_stack
from components.config.secrets import SECRETS_BY_KEY, parse_json_secret
from components.inventory import inventory
from components.onprem.ansible_run import content_hash, host_inventory, host_vars, vars_hash
from components.onprem.credentials import role_vars, ssm_role_vars
from components.onprem.gpu_server import GpuServerProvider
from components.tooling.plan import make_plan

GPU_SERVER = "pulumi-python:dynamic/onprem:GpuServer"
ACTIVATION_URN = (
    "urn:pulumi:prod-eu::ai-factory::ai-factory:aws:HybridNodeIdentity$aws:ssm/activation:Activation"
    "::prod-eu-hybrid-nodes-activation"
)


@pytest.fixture(scope="module")
def prod_plan():
    return make_plan("prod-eu")


def test_prod_eu_has_exactly_one_baseline_resource_per_server(prod_plan) -> None:
    servers = [r for r in prod_plan.resources if r["type"] == GPU_SERVER]
    assert [r["name"] for r in servers] == [f"prod-eu-onprem-fra1-gpu-0{i}" for i in range(1, 5)]
    component = next(r for r in prod_plan.resources if r["type"] == "ai-factory:onprem:OnPremGpuBaseline")
    assert all(r["parent"] == component["urn"] for r in servers)


def test_batches_chain_so_a_failed_batch_stops_the_rollout(prod_plan) -> None:
    servers = {r["name"]: r for r in prod_plan.resources if r["type"] == GPU_SERVER}
    names = sorted(servers)
    # The first batch waits for the cluster side (test_hybrid_servers_join_…); each later batch
    # waits for exactly the one before it.
    assert not any(d.endswith(GPU_SERVER + "::" + n) for n in names for d in servers[names[0]]["dependencies"])
    for prev, cur in itertools.pairwise(names):
        # Besides its input (the join variables come from the SSM activation), only the previous batch.
        servers_before = [d for d in servers[cur]["dependencies"] if GPU_SERVER in d]
        assert servers_before == [servers[prev]["urn"]]
        assert [d for d in servers[cur]["dependencies"] if GPU_SERVER not in d] == [ACTIVATION_URN]


def test_batch_size_two_runs_pairs_in_parallel(write_stack) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:onPrem"]["rollout"]["batchSize"] = 2
    plan = make_plan("pairs", write_stack("pairs", doc))
    deps = {r["name"].rsplit("-", 1)[-1]: r["dependencies"] for r in plan.resources if r["type"] == GPU_SERVER}
    urn = {r["name"].rsplit("-", 1)[-1]: r["urn"] for r in plan.resources if r["type"] == GPU_SERVER}
    # The first pair waits for the same cluster-side prerequisites, never for a server.
    assert deps["01"] == deps["02"] and not set(deps["01"]) & set(urn.values())
    assert deps["03"] == deps["04"] == sorted([urn["01"], urn["02"], ACTIVATION_URN.replace(":prod-eu::", ":pairs::")])


def test_server_inputs_hash_roles_and_host_vars_and_hide_secrets(prod_plan) -> None:
    _, cfg = load_stack("prod-eu")
    inv = inventory(cfg)
    server = next(r for r in prod_plan.resources if r["name"] == "prod-eu-onprem-fra1-gpu-02")
    inputs = server["inputs"]
    assert inputs["host"] == "fra1-gpu-02" and inputs["address"] == "10.20.0.12"
    assert inputs["contentHash"] == content_hash(REPO / "ansible")
    assert inputs["hostVarsHash"] == vars_hash(host_vars(inv, "fra1-gpu-02"))
    assert json.loads(inputs["inventory"]) == host_inventory(inv, "fra1-gpu-02")
    assert list(json.loads(inputs["inventory"])["all"]["children"]["gpu_servers"]["hosts"]) == ["fra1-gpu-02"]
    assert inputs["sshPrivateKey"] == "[secret]"
    assert inputs["secretVars"] == "[secret]"
    assert inputs["__provider"] == "[secret]"


def test_content_hash_changes_when_a_role_changes(tmp_path) -> None:
    (tmp_path / "roles" / "r" / "tasks").mkdir(parents=True)
    (tmp_path / "playbooks").mkdir()
    task = tmp_path / "roles" / "r" / "tasks" / "main.yml"
    task.write_text("- name: a\n  ansible.builtin.debug:\n")
    before = content_hash(tmp_path)
    (tmp_path / "inventories").mkdir()
    (tmp_path / "inventories" / "x.yml").write_text("all: {}\n")
    assert content_hash(tmp_path) == before, "inventories do not change a server"
    task.write_text("- name: b\n  ansible.builtin.debug:\n")
    assert content_hash(tmp_path) != before


def test_provider_diff_names_what_changed() -> None:
    p = GpuServerProvider()
    olds = {"host": "h1", "address": "10.0.0.1", "contentHash": "a", "hostVarsHash": "v", "ansibleDir": "/x"}
    same = p.diff("h1", olds, {**olds, "ansibleDir": "/elsewhere"})
    assert same.changes is False and same.replaces == []
    roles = p.diff("h1", olds, {**olds, "contentHash": "b"})
    assert roles.changes is True and roles.replaces == []
    renamed = p.diff("h1", olds, {**olds, "host": "h2"})
    assert renamed.changes is True and renamed.replaces == ["host"]


def test_malformed_join_secret_names_the_key_never_the_value() -> None:
    spec = SECRETS_BY_KEY["kubeadmJoin"]
    with pytest.raises(ConfigError) as err:
        parse_json_secret(spec, '{"token": "x", "caCertHash": ""}')
    assert str(err.value) == (
        "ai-factory:kubeadmJoin: secret is not a JSON object with the required fields "
        '(allowed: {"token": "…", "caCertHash": "…"})'
    )
    with pytest.raises(ConfigError) as err:
        parse_json_secret(spec, "not json S3CR3T")
    assert "S3CR3T" not in str(err.value)


def test_lab_servers_join_with_kubeadm_credentials() -> None:
    plan = make_plan("lab")
    servers = [r for r in plan.resources if r["type"] == GPU_SERVER]
    assert len(servers) == 2
    inv = json.loads(servers[0]["inputs"]["inventory"])
    assert inv["all"]["vars"]["k8s_node_join_method"] == "kubeadm"
    assert all(r["inputs"]["secretVars"] == "[secret]" for r in servers)


def test_join_secrets_become_the_k8s_node_role_variables() -> None:
    """The names the k8s_node role reads (ansible/roles/k8s_node/meta/argument_specs.yml)."""
    assert json.loads(ssm_role_vars("id-1", "code-1")) == {
        "k8s_node_ssm_activation_id": "id-1",
        "k8s_node_ssm_activation_code": "code-1",
    }
    assert json.loads(role_vars("kubeadmJoin", '{"token": "abc.def", "caCertHash": "sha256:00"}')) == {
        "k8s_node_kubeadm_token": "abc.def",
        "k8s_node_kubeadm_ca_cert_hash": "sha256:00",
    }
    specs = (REPO / "ansible/roles/k8s_node/meta/argument_specs.yml").read_text()
    for var in (
        "k8s_node_ssm_activation_id",
        "k8s_node_ssm_activation_code",
        "k8s_node_kubeadm_token",
        "k8s_node_kubeadm_ca_cert_hash",
    ):
        assert var in specs


def test_cloud_only_stack_has_no_baseline() -> None:
    assert not [r for r in make_plan("dev").resources if r["type"] == GPU_SERVER]


def test_hybrid_servers_join_with_the_stacks_own_activation_after_the_cluster_is_ready() -> None:
    """prod-eu: no activation secret; the first batch waits for the cluster, its add-ons, the hybrid
    identity and the network, and every server's join variables come from the SSM activation."""
    import components.tooling.plan as plan_module

    captured: list = []
    real = plan_module.run_under_mocks
    plan_module.run_under_mocks = lambda *a, **k: captured.append(real(*a, **k)) or captured[-1]
    try:
        plan_module.make_plan("prod-eu")
    finally:
        plan_module.run_under_mocks = real
    regs = captured[0]
    by_urn = {r.urn: r for r in regs}
    servers = [r for r in regs if r.type == GPU_SERVER]
    activation = next(r for r in regs if r.type == "aws:ssm/activation:Activation")
    assert activation.name == "prod-eu-hybrid-nodes-activation"
    for server in servers:
        assert server.property_dependencies["secretVars"] == (activation.urn,), server.name
    first = next(r for r in servers if r.name.endswith("fra1-gpu-01"))
    # depends_on a component means every resource in it (the engine expands components).
    waits_for = {by_urn[u].name for u in first.dependencies}
    assert {
        "prod-eu-cluster-eks",
        "prod-eu-cluster-vpc-cni",
        "prod-eu-cluster-kube-proxy",
        "prod-eu-cluster-coredns",
        "prod-eu-cluster-eks-pod-identity-agent",
        "prod-eu-hybrid-nodes-role",
        "prod-eu-hybrid-nodes-activation",
    } <= waits_for
    waited_types = {by_urn[u].type for u in first.dependencies}
    assert {"aws:ec2/vpnConnection:VpnConnection", "aws:eks/accessEntry:AccessEntry"} <= waited_types
    assert GPU_SERVER not in waited_types
    second = next(r for r in servers if r.name.endswith("fra1-gpu-02"))
    assert {by_urn[u].name for u in second.dependencies} == {first.name, activation.name}


def test_failed_loop_items_are_named_with_their_reason() -> None:
    from components.onprem.ansible_run import failures_from_json

    doc = {
        "plays": [
            {
                "tasks": [
                    {"task": {"name": "Ok"}, "hosts": {"h1": {"changed": False}}},
                    {
                        "task": {"name": "Stop services"},
                        "hosts": {
                            "h1": {
                                "failed": True,
                                "msg": "One or more items failed",
                                "results": [
                                    {"item": "kubelet", "failed": True, "msg": "Could not find the requested service"},
                                    {"item": "containerd", "changed": True},
                                ],
                            }
                        },
                    },
                    {"task": {"name": "Copy"}, "hosts": {"h1": {"failed": True, "stderr": "disk full\n"}}},
                    {"task": {"name": "Other host"}, "hosts": {"h2": {"failed": True, "msg": "x"}}},
                ]
            }
        ]
    }
    assert failures_from_json(doc, "h1") == [
        "Stop services: kubelet: Could not find the requested service",
        "Copy: disk full",
    ]
