"""Exit codes of `factory` (DESIGN §4): 0 ok, 1 mandatory finding, 2 bad input, 3 operational failure."""

from __future__ import annotations

import subprocess
import sys

from support import REPO, stack_doc


def test_plan_ok_exits_0(cli) -> None:
    result = cli("plan", "dev")
    assert result.code == 0, result.err
    assert result.out.startswith("dev: ")


def test_unknown_stack_exits_2_with_one_line(cli) -> None:
    result = cli("plan", "nosuch")
    assert result.code == 2
    assert result.err.splitlines() == ["stack 'nosuch': has no file Pulumi.nosuch.yaml (allowed: dev, lab, prod-eu)"]
    assert result.out == ""


def test_bad_flag_exits_2_with_one_line(cli) -> None:
    try:
        result = cli("plan", "dev", "--format", "yaml")
    except SystemExit as exc:  # argparse exits from parse_args
        assert exc.code == 2
    else:
        raise AssertionError(f"expected exit 2, got {result}")


def test_three_independent_errors_exit_2_with_three_lines(cli, write_stack) -> None:
    doc = stack_doc("prod-eu")
    doc["config"]["ai-factory:environment"]["tier"] = "production"
    doc["config"]["ai-factory:onPrem"]["servers"][3]["address"] = "not-an-ip"
    doc["config"]["ai-factory:budget"]["alertThresholdsPercent"] = [50, "lots"]
    stacks = write_stack("broken", doc)
    result = cli("--stacks-dir", str(stacks), "plan", "broken", "--format", "json")
    assert result.code == 2
    lines = result.err.splitlines()
    assert [line.split(":", 2)[1] for line in lines] == [
        "environment.tier",
        "onPrem.servers[3].address",
        "budget.alertThresholdsPercent[1]",
    ]
    assert result.out == ""


def test_invalid_yaml_exits_2(cli, tmp_path) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_text("config: [unclosed\n")
    result = cli("--stacks-dir", str(tmp_path), "plan", "bad")
    assert result.code == 2
    assert len(result.err.splitlines()) == 1 and "is not valid YAML" in result.err


def test_mandatory_finding_exits_1(cli, monkeypatch) -> None:
    """Narrow the residency facts the rules receive: the real AIF-RES-001 fires and blocks."""
    import components.tooling.plan as plan_module

    real = plan_module.pack_config

    def narrowed(cfg):
        conf = real(cfg)
        conf["aws-region-residency"]["allowedRegions"] = ["eu-west-1"]
        return conf

    monkeypatch.setattr(plan_module, "pack_config", narrowed)
    result = cli("plan", "dev", "--format", "json")
    assert result.code == 1
    assert "AIF-RES-001" in result.out and '"enforcement": "mandatory"' in result.out


def test_operational_failure_exits_3_with_one_line(cli, monkeypatch) -> None:
    import components.tooling.plan as plan_module

    def broken(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(plan_module, "run_under_mocks", broken)
    result = cli("plan", "dev")
    assert result.code == 3
    assert result.err.splitlines() == ["factory: plan failed: OSError: disk full"]


def test_console_script_runs_as_a_process() -> None:
    """The installed entry point (what the README calls), not only the in-process function."""
    proc = subprocess.run(
        [sys.executable, "-m", "components.tooling.cli", "plan", "nosuch"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1
