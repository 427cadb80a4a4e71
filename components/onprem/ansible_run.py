"""Running the project's playbooks against one server, as the dynamic provider does.

Secrets (SSH key, join credentials) only ever exist on disk inside a private temporary
directory (0700, files 0600) that is removed when the run ends, whatever happened.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HASHED_PARTS = ("ansible.cfg", "playbooks", "roles", "requirements.yml")
"""What a server's configuration depends on; inventories and test files are not part of it."""


PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_ansible_dir() -> Path:
    return PROJECT_ROOT / "ansible"


def portable_path(path: Path) -> str:
    """`path` relative to the project root when inside it, so state does not depend on the checkout."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path.resolve())


def resolve_path(value: str) -> Path:
    """Inverse of portable_path: relative paths are taken from the project root of this checkout."""
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def content_hash(ansible_dir: Path) -> str:
    """sha256 over the playbooks, roles and ansible.cfg (paths and bytes, in sorted order)."""
    digest = hashlib.sha256()
    for part in HASHED_PARTS:
        root = ansible_dir / part
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(ansible_dir)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def host_vars(inventory: Mapping[str, Any], host: str) -> dict[str, Any]:
    """The variables one host gets from the inventory (group `all` vars, then its host vars)."""
    root = inventory["all"]
    merged: dict[str, Any] = dict(root.get("vars", {}))
    for group in root.get("children", {}).values():
        hosts = group.get("hosts") or {}
        if host in hosts:
            merged.update(group.get("vars", {}))
            merged.update(hosts[host] or {})
    return merged


def host_inventory(inventory: Mapping[str, Any], host: str) -> dict[str, Any]:
    """The inventory cut down to one host (its groups keep their vars; other hosts are dropped).

    Each GpuServer carries only its own slice, so state grows linearly with the fleet.
    """
    root = inventory["all"]
    children = {}
    for name, group in root.get("children", {}).items():
        hosts = group.get("hosts") or {}
        if host in hosts:
            children[name] = {**group, "hosts": {host: hosts[host]}}
    return {"all": {**root, "children": children}}


def vars_hash(variables: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(variables, sort_keys=True).encode()).hexdigest()


@dataclass
class PlaybookResult:
    ok: bool
    changed: int
    failures: list[str] = field(default_factory=list)
    """`task: message` for every failed or unreachable task on the host."""
    report: dict[str, Any] | None = None
    """gpu_validate's JSON report fetched from the host, when the playbook wrote one."""


@contextmanager
def private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="aif-ansible-"))
    try:
        path.chmod(0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _write_private(path: Path, text: str) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return path


def ansible_playbook_bin() -> str:
    beside = Path(sys.executable).with_name("ansible-playbook")
    return str(beside) if beside.exists() else (shutil.which("ansible-playbook") or "ansible-playbook")


def scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "[secret]")
    return text


def failures_from_json(doc: Mapping[str, Any], host: str) -> list[str]:
    """Failed and unreachable tasks of `host` in ansible.posix.json callback output."""
    out = []
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            result = task.get("hosts", {}).get(host)
            if result and (result.get("failed") or result.get("unreachable")):
                name = task["task"]["name"]
                # A loop's own message is only "One or more items failed": name the items and why.
                items = [r for r in result.get("results") or [] if isinstance(r, Mapping) and r.get("failed")]
                if items:
                    out += [f"{name}: {r.get('item')}: {_reason(r)}" for r in items]
                else:
                    out.append(f"{name}: {_reason(result)}")
    return out


def _reason(result: Mapping[str, Any]) -> str:
    return str(result.get("msg") or result.get("stderr") or "failed").strip()


def run_playbook(
    playbook: str,
    *,
    ansible_dir: Path,
    inventory: Mapping[str, Any],
    host: str,
    ssh_private_key: str | None,
    secret_vars: Mapping[str, Any] | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    timeout: float = 7200,
) -> PlaybookResult:
    """Run `ansible_dir/playbooks/<playbook>` limited to `host`; never raises for task failures."""
    secrets = [ssh_private_key or "", *(str(v) for v in (secret_vars or {}).values())]
    with private_dir() as tmp:
        inv = _write_private(tmp / "inventory.yml", yaml.safe_dump(dict(inventory)))
        fetch_dir = tmp / "reports"
        fetch_dir.mkdir()
        cmd = [ansible_playbook_bin(), "-i", str(inv), str(ansible_dir / "playbooks" / playbook), "--limit", host]
        if ssh_private_key:
            key = _write_private(tmp / "id_key", ssh_private_key.rstrip("\n") + "\n")
            cmd += ["--private-key", str(key)]
        if secret_vars:
            cmd += ["-e", "@" + str(_write_private(tmp / "secrets.json", json.dumps(dict(secret_vars))))]
        cmd += ["-e", json.dumps({"gpu_validate_fetch_dir": str(fetch_dir), **(extra_vars or {})})]
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(ansible_dir / "ansible.cfg"),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        }
        proc = subprocess.run(cmd, cwd=ansible_dir, env=env, capture_output=True, text=True, timeout=timeout)
        try:
            doc = json.loads(proc.stdout[proc.stdout.index("{") :]) if "{" in proc.stdout else {}
        except json.JSONDecodeError:
            doc = {}
        failures = [scrub(f, secrets) for f in failures_from_json(doc, host)]
        if proc.returncode != 0 and not failures:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            last = scrub(lines[-1], secrets) if lines else "no output"
            failures = [f"ansible-playbook exited {proc.returncode}: {last}"]
        stats = doc.get("stats", {}).get(host, {})
        report_file = fetch_dir / f"{host}.json"
        report = json.loads(report_file.read_text()) if report_file.is_file() else None
        return PlaybookResult(
            ok=proc.returncode == 0 and not failures,
            changed=int(stats.get("changed", 0)),
            failures=failures,
            report=report,
        )
