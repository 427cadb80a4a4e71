"""EKS side of the guard: read, pause and restore the named node groups (boto3 client passed in).

Only node groups named in the settings are ever touched, and even those are refused when
they are labelled as critical serving capacity (defence in depth against a wrong list).
On-prem capacity is never reachable from here: hybrid nodes are not managed node groups.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.conventions import LABEL_SERVING_TIER
from components.guard.pause_state import PAUSE_TAINT, PAUSE_TAINT_KEY, PAUSED_SIZE, PoolSize
from components.guard.records import log

CRITICAL_TIER = "critical"  # config ServingTier.CRITICAL (the Lambda does not ship pydantic)


@dataclass(frozen=True)
class NodeGroup:
    name: str
    arn: str
    size: PoolSize
    paused_taint: bool
    critical: bool

    @property
    def is_paused(self) -> bool:
        return self.size == PAUSED_SIZE and self.paused_taint


def describe(eks: Any, cluster: str, name: str) -> NodeGroup | None:
    """The node group, or None (logged) when it does not exist."""
    try:
        ng: Mapping[str, Any] = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
    except eks.exceptions.ResourceNotFoundException:
        log(logging.WARNING, "nodegroup-missing", cluster=cluster, nodegroup=name)
        return None
    taints = ng.get("taints") or []
    labels = ng.get("labels") or {}
    tags = ng.get("tags") or {}
    return NodeGroup(
        name=name,
        arn=str(ng.get("nodegroupArn", "")),
        size=PoolSize.from_scaling_config(ng.get("scalingConfig") or {}),
        paused_taint=any(t.get("key") == PAUSE_TAINT_KEY for t in taints),
        critical=CRITICAL_TIER in (labels.get(LABEL_SERVING_TIER), tags.get(LABEL_SERVING_TIER)),
    )


def pausable(eks: Any, cluster: str, names: Iterable[str]) -> list[NodeGroup]:
    """The named groups that exist and are not critical (refusals are logged)."""
    out = []
    for name in names:
        ng = describe(eks, cluster, name)
        if ng is None:
            continue
        if ng.critical:
            log(logging.ERROR, "refused-critical", cluster=cluster, nodegroup=name, label=LABEL_SERVING_TIER)
            continue
        out.append(ng)
    return out


def pause(eks: Any, cluster: str, ng: NodeGroup) -> bool:
    """Scale to min 0 / desired 0 / max 1 (EKS's floor) and add the pause taint; False when already so."""
    if ng.is_paused:
        return False
    eks.update_nodegroup_config(
        clusterName=cluster,
        nodegroupName=ng.name,
        scalingConfig=PAUSED_SIZE.to_scaling_config(),
        taints={"addOrUpdateTaints": [dict(PAUSE_TAINT)]},
    )
    return True


def restore(eks: Any, cluster: str, ng: NodeGroup, size: PoolSize) -> bool:
    """Put back the recorded size and remove the pause taint; False when nothing differs."""
    if ng.size == size and not ng.paused_taint:
        return False
    kwargs: dict[str, Any] = {"scalingConfig": size.to_scaling_config()}
    if ng.paused_taint:
        kwargs["taints"] = {"removeTaints": [dict(PAUSE_TAINT)]}
    eks.update_nodegroup_config(clusterName=cluster, nodegroupName=ng.name, **kwargs)
    return True
