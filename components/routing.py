"""Where models and the router may run, and the names clients call it by: pure, shared by config and platform.

The router reads every prompt and its cache holds every answer, so it is placed like the most
restricted data it routes: a site's stack whose catalog serves a data class that may not be
processed in the cloud runs the router, its cache and its database on the site's nodes.
"""

from __future__ import annotations

from components.config.models import FactoryConfig, ModelSize, Place, ServedModel

EXTERNAL_MODEL_NAME = "external-fallback"
"""Model group of the external API in the router (never requested directly by clients)."""
SIZE_ORDER = {ModelSize.SMALL: 0, ModelSize.LARGE: 1}
ALIAS_PREFIX = {"chat": "auto-", "embedding": "auto-embed-"}


def class_aliases(cfg: FactoryConfig) -> dict[str, str]:
    """`auto-<data class>` (chat) and `auto-embed-<data class>` → the smallest catalog model of that
    task serving that class: the first tier, whose fallbacks then climb the others."""
    assert cfg.serving is not None
    out: dict[str, str] = {}
    for task, prefix in ALIAS_PREFIX.items():
        for dc in sorted(cfg.residency.data_classes):
            serving = [m for m in cfg.serving.models if dc in m.data_classes and m.task == task]
            if serving:
                serving.sort(key=lambda m: (SIZE_ORDER[m.size], m.name))
                out[f"{prefix}{dc}"] = serving[0].name
    return out


def callable_names(cfg: FactoryConfig) -> list[str]:
    """Every name a client may call: the catalog's model groups and the class aliases (not the external API)."""
    assert cfg.serving is not None
    return [m.name for m in cfg.serving.models] + sorted(class_aliases(cfg))


def routed_classes_on_prem_only(cfg: FactoryConfig) -> list[str]:
    """Data classes of the catalog that may not be processed in the cloud (sorted)."""
    if cfg.serving is None:
        return []
    classes = {dc for m in cfg.serving.models for dc in m.data_classes}
    return sorted(
        dc
        for dc in classes
        if dc not in cfg.residency.data_classes or Place.CLOUD not in cfg.residency.data_classes[dc].processing
    )


def router_on_prem(cfg: FactoryConfig) -> bool:
    """Must the router (cache, database) run on the site's nodes: a site, a cloud cluster, and restricted traffic."""
    return cfg.on_prem is not None and cfg.has_eks and bool(routed_classes_on_prem_only(cfg))


def allowed_places(cfg: FactoryConfig, data_classes: list[str], key: str = "processing") -> set[Place]:
    """Places every one of `data_classes` allows (`processing` or `storage`); unknown classes allow nothing."""
    places = {Place.ON_PREM, Place.CLOUD, Place.EXTERNAL_API}
    for name in data_classes:
        policy = cfg.residency.data_classes.get(name)
        if policy is None:
            return set()
        places &= {Place(p) for p in getattr(policy, key)}
    return places


def model_may_burst(cfg: FactoryConfig, model: ServedModel) -> bool:
    """Burst only when the model asks for it, its tier may burst (serving.burstTiers), and every data
    class it serves may be processed in the cloud."""
    tier_ok = cfg.serving is not None and model.tier in cfg.serving.burst_tiers
    return model.burst_to_cloud and tier_ok and Place.CLOUD in allowed_places(cfg, model.data_classes)


def model_places(cfg: FactoryConfig, model: ServedModel) -> set[Place]:
    """Where a model's replicas may run: the site whenever there is one, the cloud when there is no
    site or the model may burst."""
    places: set[Place] = set()
    if cfg.on_prem is not None:
        places.add(Place.ON_PREM)
    if cfg.on_prem is None or model_may_burst(cfg, model):
        places.add(Place.CLOUD)
    return places
