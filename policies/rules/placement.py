"""Where each data class is processed: model and vector-store placement, router fallbacks.

AIF-RES-004 data-class-placement · AIF-RES-005 router-fallback-residency.

Decided from config facts (which model may burst, where the vector store lives) so the rule
holds before any Kubernetes object exists, and from the typed Kubernetes workloads when they
do: a workload of a model or of the vector store whose data class forbids the cloud must be
pinned to on-prem nodes and must not tolerate the burst taint.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from components import conventions as c
from components.releases import served_releases
from policies.rules.base import Finding, ResourceView, Rule, is_unknown
from policies.rules.helpers import WORKLOAD_TYPES, everywhere, k8s_name, k8s_namespace, pod_spec, pod_template_metadata


def _facts(cfg: Any) -> dict[str, Any]:
    classes = {
        name: {"storage": list(p.storage), "processing": [x.value for x in p.processing]}
        for name, p in cfg.residency.data_classes.items()
    }
    models = [
        {
            "name": m.name,
            "dataClasses": list(m.data_classes),
            "burstToCloud": m.burst_to_cloud,
            "externalFallback": m.external_fallback,
        }
        for m in (r.model for r in served_releases(cfg.serving.models if cfg.serving else []))
    ]
    vs = cfg.vector_store
    return {
        "dataClasses": classes,
        "models": models,
        "vectorStore": (
            {
                "dataClass": vs.data_class,
                "onPrem": cfg.on_prem is not None
                and c.PLACE_ON_PREM in classes.get(vs.data_class, {}).get("storage", []),
            }
            if vs
            else None
        ),
        "cloudNodes": bool(cfg.has_eks),
    }


def _forbids_cloud(classes: Mapping[str, Any], names: list[str], key: str) -> list[str]:
    """Data classes among `names` whose `key` (storage/processing) excludes the cloud (unknown classes too)."""
    return [n for n in names if n not in classes or c.PLACE_CLOUD not in classes[n][key]]


def pinned_on_prem(spec: Any) -> Any:
    """True when the pod can only schedule on on-prem nodes; UNKNOWN when that depends on unknowns."""
    if is_unknown(spec):
        return spec
    if not isinstance(spec, Mapping):
        return False
    selector = spec.get("nodeSelector")
    if isinstance(selector, Mapping):
        value = selector.get(c.LABEL_LOCATION)
        if is_unknown(value):
            return value
        if value == c.LOCATION_ON_PREM:
            return True
    required = spec.get("affinity", {}) or {}
    terms = (
        ((required.get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
            "nodeSelectorTerms"
        )
    ) or []
    if not terms:
        return False
    # Every OR-ed term must restrict the location to on-prem only.
    for term in terms:
        ok = False
        for expr in (term.get("matchExpressions") or []) if isinstance(term, Mapping) else []:
            if (
                expr.get("key") == c.LABEL_LOCATION
                and expr.get("operator") == "In"
                and expr.get("values") == [c.LOCATION_ON_PREM]
            ):
                ok = True
        if not ok:
            return False
    return True


def tolerates_burst(spec: Any) -> bool:
    if not isinstance(spec, Mapping):
        return False
    for tol in spec.get("tolerations") or []:
        if isinstance(tol, Mapping) and (
            tol.get("key") == c.BURST_TAINT_KEY or (tol.get("operator") == "Exists" and not tol.get("key"))
        ):
            return True
    return False


def _workload_classes(r: ResourceView, config: Mapping[str, Any]) -> tuple[str, list[str], str] | None:
    """(what, data classes, residency key) of a model or vector-store workload, None for others."""
    labels = pod_template_metadata(r).get("labels") or {}
    model = labels.get(c.LABEL_MODEL) if isinstance(labels, Mapping) else None
    if isinstance(model, str):
        for m in config["models"]:
            if m["name"] == model:
                return f"model {model}", m["dataClasses"], "processing"
        # A model the config does not know: trust its own data-classes label, else treat every
        # class as unknown (fail closed — _forbids_cloud denies unknown classes).
        own = labels.get(c.LABEL_DATA_CLASSES)
        return f"model {model}", (own.split(".") if isinstance(own, str) and own else ["<unlabelled>"]), "processing"
    vs = config["vectorStore"]
    if vs and k8s_namespace(r) == c.NAMESPACE_VECTOR:
        return "vector store", [vs["dataClass"]], "storage"
    app = labels.get(c.LABEL_APP) if isinstance(labels, Mapping) else None
    if k8s_namespace(r) == c.NAMESPACE_SERVING and app in ROUTER_APPS:
        # The router reads every prompt, its cache keeps answers and its database who asked what:
        # each handles every data class the catalog serves.
        routed = sorted({dc for m in config["models"] for dc in m["dataClasses"]})
        return f"router {app}", routed, "processing"
    return None


ROUTER_APPS = frozenset({"router", "router-cache", "router-db"})
"""Pod app labels of the router's workloads in the serving namespace."""


def check_placement(resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    classes = config["dataClasses"]
    for m in config["models"]:
        denied = _forbids_cloud(classes, m["dataClasses"], "processing")
        if m["burstToCloud"] and denied:
            yield Finding(
                f"model {m['name']} may burst to the cloud but serves "
                f"{', '.join(denied)}, which may not be processed there"
            )
    vs = config["vectorStore"]
    if vs and not vs["onPrem"] and _forbids_cloud(classes, [vs["dataClass"]], "storage"):
        yield Finding(f"the vector store holds {vs['dataClass']} data but has no on-prem place to live")
    if not config["cloudNodes"]:
        return  # no cloud nodes exist: every pod runs on-prem
    for r in resources:
        if r.type not in WORKLOAD_TYPES:
            continue
        found = _workload_classes(r, config)
        if found is None:
            continue
        what, names, key = found
        denied = _forbids_cloud(classes, names, key)
        if not denied:
            continue
        spec = pod_spec(r)
        pinned = pinned_on_prem(spec)
        if is_unknown(pinned):
            yield Finding(
                f"{what} ({k8s_name(r)}) placement is unknown at preview; residency cannot be verified (fail closed)",
                r.urn,
            )
        elif not pinned:
            yield Finding(
                f"{what} ({k8s_name(r)}) handles {', '.join(denied)} but "
                f"is not pinned to {c.LABEL_LOCATION}={c.LOCATION_ON_PREM}",
                r.urn,
            )
        if tolerates_burst(spec):
            yield Finding(
                f"{what} ({k8s_name(r)}) handles {', '.join(denied)} but tolerates the cloud burst taint", r.urn
            )


def check_fallbacks(_resources: list[ResourceView], config: Mapping[str, Any]) -> Iterator[Finding]:
    classes = config["dataClasses"]
    for m in config["models"]:
        if not m["externalFallback"]:
            continue
        denied = [
            n for n in m["dataClasses"] if n not in classes or c.PLACE_EXTERNAL_API not in classes[n]["processing"]
        ]
        if denied:
            yield Finding(
                f"model {m['name']} falls back to the external API but serves "
                f"{', '.join(denied)}, which may not leave the factory"
            )


PLACEMENT_RULE = Rule(
    id="AIF-RES-004",
    name="data-class-placement",
    description=(
        "Models, the vector store and the router (with its cache and database) run only where their data classes "
        "may be processed or stored."
    ),
    why=(
        "Scheduling a restricted model on a cloud burst node, or the router that reads its prompts on a cloud "
        "node, sends restricted prompts to the cloud."
    ),
    remediation=(
        "Set burstToCloud: false for models serving cloud-forbidden classes; pin their pods (and the router's) with "
        f"nodeSelector {c.LABEL_LOCATION}: {c.LOCATION_ON_PREM} and no toleration of {c.BURST_TAINT_KEY}."
    ),
    enforcement=everywhere(),
    config_schema={
        "dataClasses": {"type": "object"},
        "models": {"type": "array"},
        "vectorStore": {"type": ["object", "null"]},
        "cloudNodes": {"type": "boolean"},
    },
    stack_facts=_facts,
    kind="stack",
    check=check_placement,
)

FALLBACK_RULE = Rule(
    id="AIF-RES-005",
    name="router-fallback-residency",
    description="The router falls back to the external API only for models whose data classes allow it.",
    why="A fallback sends the user's prompt to a third party: only public-grade data may go.",
    remediation="Set externalFallback: false on models serving classes whose processing excludes external-api.",
    enforcement=everywhere(),
    config_schema={"dataClasses": {"type": "object"}, "models": {"type": "array"}},
    stack_facts=lambda cfg: {k: v for k, v in _facts(cfg).items() if k in ("dataClasses", "models")},
    kind="stack",
    check=check_fallbacks,
)

RULES = (PLACEMENT_RULE, FALLBACK_RULE)
