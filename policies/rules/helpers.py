"""Small pure helpers the rule modules share: documents, references, CIDRs, pod specs.

Internal. Exported for testing.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from policies.rules.base import UNKNOWN, Enforcement, ResourceView, is_unknown

TIERS = ("dev", "staging", "prod")
AWS_PROVIDER = "pulumi:providers:aws"


def everywhere(level: Enforcement = Enforcement.MANDATORY) -> dict[str, Enforcement]:
    """The same enforcement in every tier."""
    return {t: level for t in TIERS}


def by_tier(dev: Enforcement, staging: Enforcement, prod: Enforcement) -> dict[str, Enforcement]:
    return {"dev": dev, "staging": staging, "prod": prod}


def tier_facts(cfg: Any) -> dict[str, Any]:
    """Facts of rules that only need the stack's tier."""
    return {"tier": cfg.environment.tier.value}


def no_facts(_cfg: Any) -> dict[str, Any]:
    return {}


def stack_has_aws(resources: Iterable[ResourceView]) -> bool:
    """AWS rules fire only where the stack has an AWS account (any AWS resource or provider)."""
    return any(r.type.startswith("aws:") or r.type == AWS_PROVIDER for r in resources)


def of_type(resources: Iterable[ResourceView], *types: str) -> list[ResourceView]:
    return [r for r in resources if r.type in types]


# --------------------------------------------------------------------------- documents
def policy_document(value: Any) -> Any:
    """An IAM/S3/KMS policy input as a dict: JSON strings are parsed.

    Returns UNKNOWN when the document (or its JSON text) is not known yet, None when absent,
    and the string itself when it is not JSON (rules report it as unreadable).
    """
    if value is None or is_unknown(value):
        return value
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return parsed
    return value


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of a parsed policy document (a single statement object is allowed)."""
    if not isinstance(document, Mapping):
        return []
    raw = document.get("Statement")
    if isinstance(raw, Mapping):
        return [raw]
    if isinstance(raw, list):
        return [s for s in raw if isinstance(s, Mapping)]
    return []


def as_list(value: Any) -> list[Any]:
    """An IAM field that may be a string or a list of strings, as a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


# -------------------------------------------------------------------------- references
def refers_to(source: ResourceView, prop: str, target: ResourceView) -> bool:
    """Does `source.props[prop]` reference `target` (its id, name or URN)?

    CrossGuard tells through property dependencies; the offline plan through the parent
    (components parent a bucket's configuration to the bucket) and known values.
    """
    deps = source.dependencies.get(prop)
    if deps:
        return target.urn in deps
    if source.parent == target.urn:
        return True
    value = source.props.get(prop)
    if not isinstance(value, str) or is_unknown(value):
        return False
    candidates = {target.name, target.props.get("bucket"), target.props.get("name"), f"{target.name}-id"}
    return value in {c for c in candidates if isinstance(c, str)}


# ------------------------------------------------------------------------------- network
def is_open_cidr(cidr: Any) -> bool:
    """0.0.0.0/0 or ::/0 (any prefix length 0)."""
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def port_range_hits(from_port: Any, to_port: Any, protocol: Any, ports: Iterable[int]) -> list[int] | Any:
    """Admin ports inside [from_port, to_port] for `protocol`; UNKNOWN when a bound is unknown."""
    if any(is_unknown(v) for v in (from_port, to_port, protocol)):
        return UNKNOWN
    proto = str(protocol).lower() if protocol is not None else "-1"
    if proto in ("-1", "all"):
        return sorted(ports)
    if proto not in ("tcp", "6", "udp", "17"):
        return []
    lo = int(from_port) if from_port is not None else 0
    hi = int(to_port) if to_port is not None else 65535
    if lo in (-1,) and hi in (-1,):
        lo, hi = 0, 65535
    return [p for p in sorted(ports) if lo <= p <= hi]


# ------------------------------------------------------------------------------ Kubernetes
WORKLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "kubernetes:core/v1:Pod": ("spec",),
}


def pod_spec(resource: ResourceView) -> Any:
    """The pod spec of a workload resource (UNKNOWN/None passed through)."""
    cur: Any = resource.props
    for step in WORKLOAD_TYPES[resource.type]:
        if is_unknown(cur):
            return UNKNOWN
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(step)
    return cur


def pod_template_metadata(resource: ResourceView) -> Mapping[str, Any]:
    path = (*WORKLOAD_TYPES[resource.type][:-1], "metadata")
    cur: Any = resource.props
    for step in path:
        if not isinstance(cur, Mapping):
            return {}
        cur = cur.get(step)
    return cur if isinstance(cur, Mapping) else {}


def containers(spec: Any) -> Iterator[Mapping[str, Any]]:
    """Every container and init container of a pod spec."""
    if not isinstance(spec, Mapping):
        return
    for key in ("initContainers", "containers"):
        items = spec.get(key)
        if isinstance(items, list):
            yield from (c for c in items if isinstance(c, Mapping))


def metadata(resource: ResourceView) -> Mapping[str, Any]:
    md = resource.props.get("metadata")
    return md if isinstance(md, Mapping) else {}


def k8s_name(resource: ResourceView) -> str:
    name = metadata(resource).get("name")
    return name if isinstance(name, str) else resource.name


def k8s_namespace(resource: ResourceView) -> Any:
    """metadata.namespace; "default" when unset (what the API server uses), UNKNOWN passed through."""
    ns = metadata(resource).get("namespace")
    if is_unknown(ns):
        return UNKNOWN
    return ns if isinstance(ns, str) and ns else "default"


def quantity(value: Any) -> float | None:
    """A Kubernetes quantity as a number (only the plain integer/decimal forms GPUs use)."""
    if isinstance(value, bool) or value is None or is_unknown(value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def glob_match(value: str, pattern: str) -> bool:
    """`*` matches any run of characters (fnmatch without its other metacharacters)."""
    import fnmatch

    return fnmatch.fnmatchcase(value, pattern)
