"""Where pods may run: pure functions from config to node affinity, tolerations and selectors.

On-prem first, cloud burst second. A workload whose data classes all allow cloud processing
(models) or cloud storage (the vector store) and that is allowed to burst *prefers* on-prem
nodes and tolerates the burst and GPU taints; anything else is *required* onto
`ai-factory.io/location In [on-prem]` and tolerates no burst taint, so the scheduler cannot
place restricted data on a cloud node even when the site is full (it stays Pending instead).
Stacks without an on-prem site run everything on burst nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components import conventions as c
from components.config.models import FactoryConfig, Place, ServedModel
from components.routing import allowed_places, model_may_burst, router_on_prem


@dataclass(frozen=True)
class Placement:
    """Scheduling fields of a pod spec, in Kubernetes' camelCase."""

    affinity: dict[str, Any] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)

    def pod_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.affinity:
            out["affinity"] = self.affinity
        if self.tolerations:
            out["tolerations"] = self.tolerations
        if self.node_selector:
            out["nodeSelector"] = self.node_selector
        return out

    @property
    def _required_terms(self) -> list[dict[str, Any]]:
        return (
            self.affinity.get("nodeAffinity", {})
            .get("requiredDuringSchedulingIgnoredDuringExecution", {})
            .get("nodeSelectorTerms", [])
        )

    @property
    def on_prem_only(self) -> bool:
        terms = self._required_terms
        return bool(terms) and all(
            any(
                e["key"] == c.LABEL_LOCATION and e["operator"] == "In" and e["values"] == [c.LOCATION_ON_PREM]
                for e in t["matchExpressions"]
            )
            for t in terms
        )

    @property
    def locations(self) -> list[str]:
        """Node locations (ai-factory.io/location) the required affinity admits, sorted."""
        return sorted(
            {
                v
                for t in self._required_terms
                for e in t["matchExpressions"]
                if e["key"] == c.LABEL_LOCATION and e["operator"] == "In"
                for v in e["values"]
            }
        )

    @property
    def places_label(self) -> str:
        """Value of the pod label ai-factory.io/places: the admitted locations joined with '.'."""
        return ".".join(self.locations)

    @property
    def tolerates_burst(self) -> bool:
        return any(t.get("key") == c.BURST_TAINT_KEY for t in self.tolerations)


CLOUD_PLACES_LABELS: list[str] = [c.LOCATION_CLOUD, ".".join(sorted([c.LOCATION_CLOUD, c.LOCATION_ON_PREM]))]
"""ai-factory.io/places values of pods that may run on cloud nodes."""


def _location_term(values: list[str]) -> dict[str, Any]:
    return {"matchExpressions": [{"key": c.LABEL_LOCATION, "operator": "In", "values": values}]}


def _gpu_toleration() -> dict[str, Any]:
    return {"key": c.GPU_TAINT_KEY, "operator": "Exists", "effect": c.GPU_TAINT_EFFECT}


def _burst_toleration() -> dict[str, Any]:
    return {"key": c.BURST_TAINT_KEY, "operator": "Exists", "effect": c.GPU_TAINT_EFFECT}


ON_PREM_WEIGHT = 100
"""Preferred-affinity weight: the scheduler fills on-prem GPUs before it scales cloud pools."""


def _placement(cfg: FactoryConfig, may_use_cloud: bool, gpu: bool) -> Placement:
    tolerations = [_gpu_toleration()] if gpu else []
    has_site = cfg.on_prem is not None
    if not has_site:
        # Cloud-only stack: every node is a cloud node; GPU pods must tolerate the burst taint.
        if gpu:
            tolerations.append(_burst_toleration())
        return Placement(
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [_location_term([c.LOCATION_CLOUD])]
                    }
                }
            },
            tolerations=tolerations,
        )
    if may_use_cloud and cfg.has_eks:
        if gpu:
            tolerations.append(_burst_toleration())
        return Placement(
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [_location_term([c.LOCATION_ON_PREM, c.LOCATION_CLOUD])]
                    },
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {"weight": ON_PREM_WEIGHT, "preference": _location_term([c.LOCATION_ON_PREM])}
                    ],
                }
            },
            tolerations=tolerations,
        )
    return Placement(
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [_location_term([c.LOCATION_ON_PREM])]
                }
            }
        },
        tolerations=tolerations,
        node_selector={c.LABEL_LOCATION: c.LOCATION_ON_PREM},
    )


def model_placement(cfg: FactoryConfig, model: ServedModel) -> Placement:
    return _placement(cfg, model_may_burst(cfg, model), gpu=True)


def vector_store_placement(cfg: FactoryConfig) -> Placement:
    """The vector store lives where its data class may be *stored*; on-prem whenever there is a site."""
    assert cfg.vector_store is not None
    cloud_ok = Place.CLOUD in allowed_places(cfg, [cfg.vector_store.data_class], key="storage")
    # Stateful data prefers not to move: with a site it stays on-prem even when the cloud is allowed.
    placement = _placement(cfg, may_use_cloud=cloud_ok and cfg.on_prem is None, gpu=False)
    if cfg.on_prem is not None:
        # The site's nodes are all GPU servers (tainted): the store runs on their spare CPU and RAM.
        return Placement(placement.affinity, [_gpu_toleration()], placement.node_selector)
    return placement


def vector_store_on_prem(cfg: FactoryConfig) -> bool:
    return cfg.on_prem is not None


def system_tolerations(cfg: FactoryConfig) -> list[dict[str, Any]]:
    """CPU services (router, cache, monitoring, operators) run on the EKS system pool; a stack
    without EKS has only its (GPU-tainted) site servers, so there they tolerate the GPU taint."""
    return [] if cfg.has_eks else [_gpu_toleration()]


def system_placement(cfg: FactoryConfig) -> Placement:
    return Placement(tolerations=system_tolerations(cfg))


def router_placement(cfg: FactoryConfig) -> Placement:
    """The router, its cache and its database: where every data class they carry may be processed.
    On an EKS stack with a site and on-prem-only classes that is the site's (GPU-tainted) nodes;
    otherwise the system pool (EKS) or, without EKS, the site's nodes anyway."""
    if router_on_prem(cfg):
        onsite = _placement(cfg, may_use_cloud=False, gpu=False)
        return Placement(onsite.affinity, [_gpu_toleration()], onsite.node_selector)
    return system_placement(cfg)
