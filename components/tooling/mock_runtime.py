"""Run the Pulumi program under Pulumi's own mock runtime and record every registration.

No CLI, no plugin, no network: `pulumi.runtime.set_mocks` replaces the engine. The monitor
records what a real provider would receive (type, name, parent, inputs, protect, provider).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource_cycle_breaker
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.conventions import PROJECT

PLACEHOLDER_ACCOUNT = "000000000000"
"""Account id the offline plan answers with when the stack file names none."""
S3_RANGES_STAND_IN = ["198.51.100.0/24", "203.0.113.0/24"]
"""The offline account's answer for the region's S3 prefix list: documentation ranges (RFC 5737), so a
plan never passes stand-ins off as AWS's addresses; a real preview reads the list itself."""


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    """Deserialized inputs; secret values are still wrapped (rpc.is_rpc_secret)."""
    protect: bool
    retain_on_delete: bool
    provider: str | None
    """Provider reference `urn::id` as the engine receives it."""
    custom: bool
    ignore_changes: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    """URNs this resource was told to wait for (depends_on and input references)."""
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Input property → URNs of the resources its value came from (what CrossGuard shows rules)."""


class PlanMocks(pulumi.runtime.Mocks):
    """Outputs a provider would return, filled deterministically from the inputs."""

    def __init__(self, account_id: str, region: str | None, ssm_parameters: Mapping[str, str] | None = None) -> None:
        self.account_id = account_id
        self.region = region or "us-east-1"
        self.ssm_parameters = dict(ssm_parameters or {})
        """SSM parameters (name → value) the offline account holds: none unless a caller plants one
        (the budget guard's pause record: `factory plan --pause-state FILE`)."""
        self.pending = threading.local()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        # The monitor reads the deserialized inputs back from this thread (no second decode).
        self.pending.inputs = args.inputs
        outputs = dict(args.inputs)
        rid = f"{args.name}-id"
        if args.typ.startswith("aws:"):
            service = args.typ.split(":")[1].split("/")[0]
            outputs.setdefault("arn", f"arn:aws:{service}:{self.region}:{self.account_id}:{args.name}")
            if args.typ == "aws:kms/key:Key":
                outputs.setdefault("keyId", f"{args.name}-key-id")
            if args.typ == "aws:s3/bucket:Bucket":
                # Pulumi auto-naming: `<name>-<random>`; the plan shows a stable stand-in.
                outputs.setdefault("bucket", f"{args.name}-xxxxxxx")
                outputs["arn"] = f"arn:aws:s3:::{outputs['bucket']}"
            outputs.update(self._aws_outputs(args.typ, args.name, outputs))
        return rid, outputs

    def _aws_outputs(self, typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """Provider-computed outputs the program reads (each one is used by some component)."""
        if typ == "aws:eks/cluster:Cluster":
            cluster = inputs.get("name", name)
            vpc = dict(inputs.get("vpcConfig") or {})
            vpc.setdefault("clusterSecurityGroupId", f"sg-{cluster}-cluster")
            return {
                "endpoint": f"https://{cluster}.gr7.{self.region}.eks.amazonaws.com",
                "certificateAuthority": {"data": "T0ZGTElORS1QTEFOLUNB"},  # base64("OFFLINE-PLAN-CA")
                "vpcConfig": vpc,
            }
        if typ == "aws:eks/nodeGroup:NodeGroup":
            group = inputs.get("nodeGroupName", name)
            return {"resources": [{"autoscalingGroups": [{"name": f"eks-{group}-00000000"}]}]}
        if typ == "aws:ec2/launchTemplate:LaunchTemplate":
            return {"latestVersion": 1}
        if typ == "aws:ec2/eip:Eip":
            return {"allocationId": f"eipalloc-{name}"}
        if typ == "aws:sqs/queue:Queue":
            return {"url": f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{inputs.get('name', name)}"}
        if typ == "aws:iam/role:Role":
            role = inputs.get("name") or f"{name}-xxxxxxx"
            return {"name": role, "arn": f"arn:aws:iam::{self.account_id}:role/{role}"}
        if typ == "aws:ecr/repository:Repository":
            repo = inputs.get("name", name)
            return {"repositoryUrl": f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com/{repo}"}
        if typ == "aws:ssm/activation:Activation":
            return {"activationCode": "offline-plan-activation-code"}
        return {}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        tok = args.token
        if tok == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/offline-plan",
                "userId": "OFFLINEPLAN",
                "id": self.account_id,
            }, []
        if tok == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if tok == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}, []
        if tok == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            name = str(args.args.get("name") or "")
            entries = [{"cidr": cidr, "description": "offline stand-in"} for cidr in S3_RANGES_STAND_IN]
            return {
                "id": "pl-offline",
                "arn": f"arn:aws:ec2:{self.region}:aws:prefix-list/pl-offline",
                "addressFamily": "IPv4",
                "entries": entries,
                "filters": [],
                "maxEntries": len(entries),
                "name": name,
                "ownerId": "AWS",
                "region": self.region,
                "tags": {},
                "version": 1,
            }, []
        if tok == "aws:ssm/getParametersByPath:getParametersByPath":
            return self._parameters_by_path(args.args), []
        # An invoke nobody mocked would silently return nothing and hide a bug: refuse.
        raise UnmockedInvokeError(tok)

    def _parameters_by_path(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """GetParametersByPath over the planted parameters (an empty path answers empty, as AWS does)."""
        path = str(args.get("path") or "").rstrip("/")
        recursive = bool(args.get("recursive"))
        names = sorted(
            n for n in self.ssm_parameters if n.startswith(f"{path}/") and (recursive or "/" not in n[len(path) + 1 :])
        )
        return {
            "id": path,
            "path": path,
            "arns": [f"arn:aws:ssm:{self.region}:{self.account_id}:parameter/{n.lstrip('/')}" for n in names],
            "names": names,
            "types": ["String"] * len(names),
            "values": [self.ssm_parameters[n] for n in names],
            "recursive": recursive,
            "withDecryption": bool(args.get("withDecryption", True)),
            "region": self.region,
        }


class UnmockedInvokeError(RuntimeError):
    def __init__(self, token: str) -> None:
        super().__init__(f"the offline plan has no answer for invoke {token}; add it to PlanMocks.call")


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """MockMonitor that keeps every RegisterResource request's metadata and inputs."""

    def __init__(self, mocks: PlanMocks) -> None:
        super().__init__(mocks)
        self.plan_mocks = mocks
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = self.plan_mocks.pending.inputs
        reg = Registration(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            inputs=inputs,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            provider=request.provider or None,
            custom=bool(request.custom),
            ignore_changes=list(request.ignoreChanges),
            dependencies=list(request.dependencies),
            property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
        )
        with self._lock:
            self.registrations.append(reg)
        return response


def config_map(sections: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, str]:
    """Stack-file config as the Pulumi CLI hands it to a program: strings, objects as JSON."""
    out: dict[str, str] = {}
    for key, value in {**{f"{PROJECT}:{k}": v for k, v in sections.items()}, **other}.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = json.dumps(value)
    return out


def run_under_mocks(
    program: Callable[[], Any],
    *,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    account_id: str,
    region: str | None,
    preview: bool = False,
    ssm_parameters: Mapping[str, str] | None = None,
    logger: logging.Logger | None = None,
) -> list[Registration]:
    """Run `program` once under mocks; returns the registrations in order.

    `ssm_parameters` are the SSM parameters the offline account holds (PlanMocks); `logger`
    receives the program's `pulumi.log` messages (the mock engine's default is the root logger).
    The mock runtime is process-wide state: callers run one program per call, sequentially.
    """
    # pytest-asyncio and earlier runs may leave no usable loop behind (PULUMI-OFFLINE.md).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = PlanMocks(account_id=account_id, region=region, ssm_parameters=ssm_parameters)
    monitor = RecordingMonitor(mocks)
    # set_mocks creates the stack resource only when there is no root yet: without this reset, a
    # second plan in the same process parents its components to the first stack's URN.
    from pulumi.runtime.settings import ROOT

    ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, logger=logger, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)
    from pulumi.runtime.settings import SETTINGS

    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    try:
        with _offline_runtime():
            _sync_await(run_pulumi_func(program))
    finally:
        # Close our loop now: left to the garbage collector at exit it prints a traceback.
        asyncio.set_event_loop(None)
        loop.close()
    return monitor.registrations


def reachable(from_resource: Any, to_resource: Any) -> bool:
    """Pulumi's cycle-breaker reachability (resource_cycle_breaker._reachable), iteratively.

    The SDK walks a dependency's whole transitive closure through nested generators for every
    dependency edge it records, so a chain of n resources (the on-prem rollout batches) costs
    O(n³) calls: 60 million for 500 servers, half of that plan's time. This is the same search
    (same graph, same answer) in linear time. Internal. Exported for testing.
    """
    seen: set[Any] = set()
    todo = [from_resource]
    while todo:
        r = todo.pop()
        if r == to_resource:
            return True
        if r in seen:
            continue
        seen.add(r)
        todo.extend(resource_cycle_breaker._deps(r))
    return False


@contextlib.contextmanager
def _offline_runtime() -> Iterator[None]:
    """Two SDK internals replaced while the offline plan runs; `pulumi preview/up` never comes here.

    - The per-resource stack walk for source positions is skipped: for every registration the SDK
      extracts the Python stack and turns each frame into a file URI so the real engine can show
      where a resource was declared; the offline plan records no source positions, and the walk
      costs about a tenth of a prod-eu plan.
    - The cycle breaker's reachability search runs iteratively (`reachable`): same result, linear
      instead of cubic in the length of a dependency chain. Cycles are still found and still fail.
    """
    from pulumi.runtime import resource as runtime_resource
    from pulumi.runtime.proto import source_pb2

    real_trace, real_reachable = runtime_resource._get_stack_trace, resource_cycle_breaker._reachable
    runtime_resource._get_stack_trace = source_pb2.StackTrace  # an empty trace: no source position
    resource_cycle_breaker._reachable = reachable
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = real_trace
        resource_cycle_breaker._reachable = real_reachable
