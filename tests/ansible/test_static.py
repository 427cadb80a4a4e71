"""Static checks: ansible-lint (production profile, offline) and argument specs vs defaults."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.ansible

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "ansible"
VENV_BIN = ANSIBLE_DIR.parent / ".venv" / "bin"
ROLES = sorted(p for p in (ANSIBLE_DIR / "roles").iterdir() if (p / "tasks" / "main.yml").exists())


def test_ansible_lint_production_profile_has_no_findings():
    lint = VENV_BIN / "ansible-lint"
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(lint) if lint.exists() else "ansible-lint", "--offline", "--profile", "production"],
        cwd=ANSIBLE_DIR, capture_output=True, text=True, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 failure(s), 0 warning(s)" in proc.stdout + proc.stderr


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_agree_with_defaults(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert set(defaults) == set(options), (
        f"only in defaults: {sorted(set(defaults) - set(options))}; "
        f"only in argument_specs: {sorted(set(options) - set(defaults))}"
    )
    for name, opt in options.items():
        assert name.startswith(role.name + "_"), f"{name} is not prefixed with {role.name}_"
        assert opt.get("description"), f"{name} has no description"
        assert "type" in opt, f"{name} has no type"
        assert opt.get("default") == defaults[name], f"{name}: spec default {opt.get('default')!r} != {defaults[name]!r}"
        if "choices" in opt:
            assert defaults[name] in opt["choices"], f"{name}: default not among choices"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_role_layout(role):
    main = (role / "tasks" / "main.yml").read_text()
    assert "preflight.yml" in main.split("- name:", 2)[1], f"{role.name}: tasks/main.yml must start with preflight.yml"
    assert (role / "tasks" / "preflight.yml").exists()
    assert "fail_msg" in (role / "tasks" / "preflight.yml").read_text()
