"""The router config is generated from the catalog and loads in LiteLLM itself.

Validated by LiteLLM's own code, offline: the proxy's config model (`ConfigYAML`) and the
`litellm.Router` the proxy builds from `model_list` + `router_settings`. Residency: for every
data class of every model, no fallback hop lands where that class may not be processed.
"""

from __future__ import annotations

import asyncio
import copy
import os

import pytest
import yaml
from support import REFERENCE_STACKS, stack_doc

from components.config.loader import load_stack
from components.config.models import FactoryConfig, Place
from components.k8s.placement import allowed_places
from components.k8s.router import EXTERNAL_MODEL_NAME, model_places, router_config
from components.routing import ALIAS_PREFIX

# LiteLLM fetches its model price map from the internet at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

SERVING_STACKS = REFERENCE_STACKS


@pytest.fixture(scope="module")
def litellm():
    import litellm as module

    return module


def _cfg(stack: str) -> FactoryConfig:
    return load_stack(stack)[1]


def _router(litellm, config: dict):
    settings = config["router_settings"]
    return litellm.Router(
        model_list=config["model_list"],
        fallbacks=settings["fallbacks"],
        model_group_alias=settings["model_group_alias"],
        num_retries=settings["num_retries"],
        allowed_fails=settings["allowed_fails"],
        cooldown_time=settings["cooldown_time"],
        routing_strategy=settings["routing_strategy"],
    )


@pytest.mark.parametrize("stack", SERVING_STACKS)
def test_config_loads_in_litellm_proxy_model(stack: str, litellm) -> None:
    from litellm.proxy._types import ConfigYAML

    config = router_config(_cfg(stack))
    parsed = ConfigYAML(**yaml.safe_load(yaml.safe_dump(config)))
    assert parsed.general_settings is not None and parsed.general_settings.master_key == "os.environ/LITELLM_MASTER_KEY"
    assert (
        parsed.router_settings is not None
        and parsed.router_settings.fallbacks == config["router_settings"]["fallbacks"]
    )


@pytest.mark.parametrize("stack", SERVING_STACKS)
def test_every_catalog_model_is_reachable_through_the_router(stack: str, litellm) -> None:
    cfg = _cfg(stack)
    router = _router(litellm, router_config(cfg))
    names = set(router.get_model_names())
    assert {m.name for m in cfg.serving.models} <= names
    for m in cfg.serving.models:
        deployment = router.get_available_deployment(model=m.name)
        # The group's stable release, or its candidate (its own service).
        assert deployment["litellm_params"]["api_base"].startswith(
            (f"http://vllm-{m.name}.", f"http://vllm-{m.name}-candidate.")
        )
    # Tier aliases resolve to a catalog model.
    for alias, target in router_config(cfg)["router_settings"]["model_group_alias"].items():
        assert alias.startswith("auto-") and target in names


@pytest.mark.parametrize("stack", SERVING_STACKS)
def test_the_plan_ships_exactly_the_generated_config(stack: str, plans) -> None:
    plan = plans[stack]
    cms = [
        r
        for r in plan.resources
        if r["type"] == "kubernetes:core/v1:ConfigMap" and r["inputs"]["metadata"]["name"] == "router"
    ]
    assert len(cms) == 1
    assert yaml.safe_load(cms[0]["inputs"]["data"]["config.yaml"]) == router_config(plan.config)


def _hops(config: dict, model: str) -> list[str]:
    for entry in config["router_settings"]["fallbacks"]:
        if model in entry:
            return entry[model]
    return []


def _alias_class(alias: str) -> str:
    prefix = max((p for p in ALIAS_PREFIX.values() if alias.startswith(p)), key=len)
    return alias.removeprefix(prefix)


def _assert_residency(cfg: FactoryConfig) -> None:
    config = router_config(cfg)
    by_name = {m.name: m for m in cfg.serving.models}
    sources = [(m.name, set(m.data_classes)) for m in cfg.serving.models]
    # A request to an alias carries its class, and the alias's chain must hold for its target's classes too.
    sources += [
        (alias, {_alias_class(alias), *by_name[target].data_classes})
        for alias, target in config["router_settings"]["model_group_alias"].items()
    ]
    for source, classes in sources:
        for dc in sorted(classes):
            allowed = allowed_places(cfg, [dc])
            for hop in _hops(config, source):
                if hop == EXTERNAL_MODEL_NAME:
                    assert Place.EXTERNAL_API in allowed, f"{source}: {dc} would go to the external API"
                else:
                    target = by_name[hop]
                    assert dc in target.data_classes, f"{source} → {hop} does not serve {dc}"
                    assert model_places(cfg, target) <= allowed, f"{source} → {hop}: {dc} may reach the cloud"


@pytest.mark.parametrize("stack", SERVING_STACKS)
def test_fallbacks_respect_residency_per_data_class(stack: str) -> None:
    _assert_residency(_cfg(stack))


def _variant(**changes) -> FactoryConfig:
    """prod-eu with every model asking for external fallback and burst (what the semantic check forbids)."""
    doc = stack_doc("prod-eu")["config"]
    for m in doc["ai-factory:serving"]["models"]:
        m.update(changes)
    sections = {k.split(":", 1)[1]: v for k, v in doc.items()}
    return FactoryConfig.model_validate(sections)


def test_restricted_never_falls_back_to_cloud_or_external_even_when_asked() -> None:
    cfg = _variant(externalFallback=True)
    _assert_residency(cfg)
    config = router_config(cfg)
    restricted = [m for m in cfg.serving.models if "restricted" in m.data_classes]
    assert restricted
    for m in restricted:
        assert EXTERNAL_MODEL_NAME not in _hops(config, m.name)
        for hop in _hops(config, m.name):
            assert model_places(cfg, next(x for x in cfg.serving.models if x.name == hop)) == {Place.ON_PREM}


@pytest.mark.parametrize("data_class", ["public", "internal", "restricted"])
def test_each_data_class_of_prod_eu(data_class: str) -> None:
    cfg = _cfg("prod-eu")
    config = router_config(cfg)
    allowed = allowed_places(cfg, [data_class])
    serving = [m for m in cfg.serving.models if data_class in m.data_classes]
    assert serving, f"no model serves {data_class}"
    for m in serving:
        for hop in _hops(config, m.name):
            if hop == EXTERNAL_MODEL_NAME:
                assert data_class == "public"
            else:
                target = next(x for x in cfg.serving.models if x.name == hop)
                assert model_places(cfg, target) <= allowed
    if data_class == "public":
        # qwen25-7b serves only public data and may use the external API: the chain ends there.
        assert _hops(config, "qwen25-7b")[-1] == EXTERNAL_MODEL_NAME


@pytest.mark.parametrize("stack", SERVING_STACKS)
def test_fallbacks_and_aliases_stay_within_a_task(stack: str) -> None:
    cfg = _cfg(stack)
    tasks = {m.name: m.task for m in cfg.serving.models}
    config = router_config(cfg)
    aliases = config["router_settings"]["model_group_alias"]
    for entry in config["router_settings"]["fallbacks"]:
        for source, chain in entry.items():
            task = tasks[aliases.get(source, source)]
            for hop in chain:
                if hop == EXTERNAL_MODEL_NAME:
                    assert task == "chat"
                else:
                    assert tasks[hop] == task, f"{source} → {hop}"
    for alias, target in config["router_settings"]["model_group_alias"].items():
        assert tasks[target] == ("embedding" if alias.startswith("auto-embed-") else "chat")


# ------------------------------------------------------------------------ fallbacks of the aliases
def _alias_chains() -> FactoryConfig:
    """prod-eu where the aliases have chains: llama-31-8b serves only public (auto-public → it, then qwen25-7b
    and the external API) and a small site model fronts internal and restricted data (auto-restricted → it, then
    llama-33-70b); every model asks for external fallback and burst, which residency must still refuse."""
    doc = stack_doc("prod-eu")["config"]
    models = doc["ai-factory:serving"]["models"]
    for m in models:
        m.update(externalFallback=True, burstToCloud=True)
    by_name = {m["name"]: m for m in models}
    by_name["llama-31-8b"]["dataClasses"] = ["public"]
    small = copy.deepcopy(by_name["llama-33-70b"])
    small.update(name="mistral-7b-site", size="small")
    models.append(small)
    return FactoryConfig.model_validate({k.split(":", 1)[1]: v for k, v in doc.items()})


def _answer(litellm, config: dict, model: str, failing: set[str]) -> str:
    """What LiteLLM's Router answers a request to `model` when every deployment of the `failing` groups
    errors (HTTP 500) and every other deployment answers with its group's name."""
    config = copy.deepcopy(config)
    for deployment in config["model_list"]:
        group = deployment["model_name"]
        mock = "litellm.InternalServerError" if group in failing else f"answered by {group}"
        deployment["litellm_params"]["mock_response"] = mock
    router = _router(litellm, config)
    router.num_retries = 0
    messages = [{"role": "user", "content": "hello"}]
    try:
        response = asyncio.run(router.acompletion(model=model, messages=messages))
    except litellm.InternalServerError:
        return "error"
    return response.choices[0].message.content


def test_every_alias_has_its_targets_chain() -> None:
    config = router_config(_alias_chains())
    settings = config["router_settings"]
    chains = {k: v for entry in settings["fallbacks"] for k, v in entry.items()}
    assert chains["auto-public"] == ["qwen25-7b", EXTERNAL_MODEL_NAME] == chains["llama-31-8b"]
    assert chains["auto-restricted"] == chains["auto-internal"] == ["llama-33-70b"] == chains["mistral-7b-site"]
    for alias, target in settings["model_group_alias"].items():
        assert chains.get(alias) == chains.get(target), alias  # no entry where the target has no chain
    assert "auto-embed-internal" not in chains


def test_a_failing_alias_target_falls_back_along_its_chain(litellm) -> None:
    """LiteLLM looks fallbacks up by the requested name (BerriAI/litellm#10317): without an entry of its own,
    auto-public would fail with "No fallback model group found for lookup_groups=auto-public"."""
    config = router_config(_alias_chains())
    assert _answer(litellm, config, "auto-public", set()) == "answered by llama-31-8b"
    assert _answer(litellm, config, "auto-public", {"llama-31-8b"}) == "answered by qwen25-7b"
    assert _answer(litellm, config, "auto-public", {"llama-31-8b", "qwen25-7b"}) == f"answered by {EXTERNAL_MODEL_NAME}"
    assert _answer(litellm, config, "auto-internal", {"mistral-7b-site"}) == "answered by llama-33-70b"


def test_restricted_alias_falls_back_on_site_only_and_never_out(litellm) -> None:
    cfg = _alias_chains()
    _assert_residency(cfg)
    config = router_config(cfg)
    assert _answer(litellm, config, "auto-restricted", {"mistral-7b-site"}) == "answered by llama-33-70b"
    # Every model that may run in the cloud and the external API would answer: LiteLLM must not reach them.
    site_only = {m.name for m in cfg.serving.models if model_places(cfg, m) == {Place.ON_PREM}}
    assert {"mistral-7b-site", "llama-33-70b"} <= site_only and "qwen25-7b" not in site_only
    assert _answer(litellm, config, "auto-restricted", {"mistral-7b-site", "llama-33-70b"}) == "error"
    assert _answer(litellm, config, "auto-internal", {"mistral-7b-site", "llama-33-70b"}) == "error"
