"""Run the Pulumi program under Pulumi's own mock runtime and record every registration.

No CLI, no plugin, no network: `pulumi.runtime.set_mocks` replaces the engine. The monitor
records what a real provider would receive (type, name, parent, inputs, protect, provider).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.conventions import PROJECT

PLACEHOLDER_ACCOUNT = "000000000000"
"""Account id the offline plan answers with when the stack file names none."""


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


class PlanMocks(pulumi.runtime.Mocks):
    """Outputs a provider would return, filled deterministically from the inputs."""

    def __init__(self, account_id: str, region: str | None) -> None:
        self.account_id = account_id
        self.region = region or "us-east-1"
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
        return rid, outputs

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
        # An invoke nobody mocked would silently return nothing and hide a bug: refuse.
        raise UnmockedInvokeError(tok)


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
) -> list[Registration]:
    """Run `program` once under mocks; returns the registrations in order.

    The mock runtime is process-wide state: callers run one program per call, sequentially.
    """
    # pytest-asyncio and earlier runs may leave no usable loop behind (PULUMI-OFFLINE.md).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = PlanMocks(account_id=account_id, region=region)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)
    from pulumi.runtime.settings import SETTINGS

    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    try:
        _sync_await(run_pulumi_func(program))
    finally:
        # Close our loop now: left to the garbage collector at exit it prints a traceback.
        asyncio.set_event_loop(None)
        loop.close()
    return monitor.registrations
