"""Invalid config or missing secrets: the program stops before registering anything."""

from __future__ import annotations

import pytest
from support import stack_doc

from components import program
from components.config import ConfigError, StackFile
from components.config.secrets import SECRETS, placeholder
from components.tooling import mock_runtime
from components.tooling.mock_runtime import config_map, run_under_mocks


@pytest.fixture
def monitors(monkeypatch) -> list:
    """Every RecordingMonitor the runs create, to inspect what reached the 'engine'."""
    created: list = []
    real_init = mock_runtime.RecordingMonitor.__init__

    def spy(self, mocks):
        real_init(self, mocks)
        created.append(self)

    monkeypatch.setattr(mock_runtime.RecordingMonitor, "__init__", spy)
    return created


def _config(doc) -> dict[str, str]:
    sections = {k.split(":", 1)[1]: v for k, v in doc["config"].items()}
    return config_map(sections, {})


def _run(config: dict[str, str], secret_keys: list[str]) -> None:
    run_under_mocks(
        program.main,
        stack="prod-eu",
        config=config,
        secret_keys=secret_keys,
        account_id="000000000000",
        region="eu-central-1",
    )


def _all_secrets() -> tuple[dict[str, str], list[str]]:
    values = {f"ai-factory:{s.key}": placeholder(s) for s in SECRETS}
    return values, list(values)


def test_valid_program_registers_resources(monitors) -> None:
    """Control: the same harness does see registrations when the config is valid."""
    secrets, keys = _all_secrets()
    _run({**_config(stack_doc("prod-eu")), **secrets}, keys)
    assert len(monitors[0].registrations) > 10


def test_invalid_config_registers_nothing_through_the_real_program(monitors) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:environment"]["tier"] = "production"
    doc["config"]["ai-factory:cloud"]["region"] = "us-east-1"
    secrets, keys = _all_secrets()
    with pytest.raises(ConfigError) as err:
        _run({**_config(doc), **secrets}, keys)
    assert err.value.problems[0].path == "ai-factory:environment.tier"
    assert monitors[0].registrations == []


def test_missing_secrets_are_listed_together_and_nothing_is_registered(monitors) -> None:
    with pytest.raises(ConfigError) as err:
        _run(_config(stack_doc("prod-eu")), [])
    assert [p.path for p in err.value.problems] == [
        "ai-factory:onPremSshPrivateKey",
        "ai-factory:externalApiKey",
        "ai-factory:routerMasterKey",
        "ai-factory:routerDatabasePassword",
        "ai-factory:vectorStoreApiKey",
        "ai-factory:vectorStoreReadOnlyApiKey",
    ]
    assert "pulumi config set --secret ai-factory:onPremSshPrivateKey" in str(err.value)
    assert monitors[0].registrations == []


def test_factory_plan_validates_before_starting_the_runtime(monkeypatch, write_stack) -> None:
    import components.tooling.plan as plan_module

    calls: list = []
    monkeypatch.setattr(plan_module, "run_under_mocks", lambda *a, **k: calls.append(a))
    doc = stack_doc("dev")
    doc["config"]["ai-factory:budget"]["totalMonthlyUsd"] = 0
    with pytest.raises(ConfigError):
        plan_module.make_plan("broken", write_stack("broken", doc))
    assert calls == []


def test_stack_file_secure_values_are_not_config_sections(tmp_path) -> None:
    doc = stack_doc("dev")
    doc["config"]["ai-factory:externalApiKey"] = {"secure": "v1:abc"}
    path = tmp_path / "Pulumi.dev.yaml"
    import yaml

    path.write_text(yaml.safe_dump(doc))
    sf = StackFile(path)
    assert "externalApiKey" not in sf.sections and sf.secret_keys == ["ai-factory:externalApiKey"]
