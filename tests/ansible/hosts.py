"""Disposable Debian bookworm hosts for running the Ansible roles for real.

How a host is built and reached, and why:

* One base root filesystem per package set, built with ``debootstrap`` and cached under
  ``$AIF_TEST_ROOTFS_CACHE`` (default ``/var/tmp/aif-rootfs``), keyed by a hash of the package
  lists and of this build recipe, so reruns reuse it.  Every Debian package the roles install is
  downloaded while the machine still has its package mirror and turned into a local ``file:``
  apt repository inside the rootfs (standing in for a site's Debian mirror): the hosts have no
  outbound network, yet the roles really install packages.
* One host = an overlayfs mount of that rootfs (a per-host upper/work directory): ~50 ms.
* Each host boots with ``systemd-nspawn -b`` (``--register=no --keep-unit``, because PID 1 of
  the CI machine is not systemd) *inside a network namespace we create* with one veth pair and
  addresses from 198.18.0.0/15 (the benchmarking range; nothing is routed out).  sshd runs as a
  normal systemd unit in the host and Ansible connects with real SSH as an unprivileged admin
  user that uses ``become``.  We pick nspawn over "sshd in a bare namespace" because the roles
  manage systemd units (chrony, nftables, nvidia-persistenced, nvidia-dcgm, containerd, node
  exporter …): with a real systemd as PID 1 ``ansible.builtin.systemd_service`` tasks, handlers
  and "is the service running / listening on 9100" checks are genuine, not stubbed.
* Teardown powers the container off (SIGTERM to the nspawn process we started, which nspawn
  forwards as an orderly shutdown), closes the SSH master, unmounts the overlay, deletes the
  veth and the namespace, and removes the per-host directories.

The NVIDIA/AWS software the roles install comes from a local apt repository of clearly
labelled test-double packages (``doubles.py``), bind-mounted read-only into every host.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import doubles

SUITE = "bookworm"
RECIPE_VERSION = "6"  # bump when the build steps below change
ADMIN_USER = "aifadmin"
ADMIN_UID = 1000

# Installed in the base image: what a freshly installed bare-metal server has.
BASE_PACKAGES = [
    "python3",
    "python3-apt",
    "openssh-server",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "sudo",
    "procps",
    "kmod",
    "ca-certificates",
]
# Downloaded only (with their dependencies) into the host's local Debian repository: every
# Debian package a role installs.  Keep in sync with the roles' defaults (a test checks it).
ROLE_PACKAGES = [
    "python3-debian",
    "pciutils",
    "chrony",
    "auditd",
    "nftables",
    "unattended-upgrades",
    "mdadm",
    "xfsprogs",
    "containerd",
    "prometheus-node-exporter",
]
# Tools the harness needs on the machine that runs the tests.
CONTROLLER_TOOLS = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "ip": "iproute2",
    "equivs-build": "equivs",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "dpkg-scanpackages": "dpkg-dev",
    "apt-ftparchive": "apt-utils",
}

NET_PREFIX = "198.18"
HOSTS_PER_SESSION = 40
"""One /24 per host from a block of this many per test session (the fleet, the provider's and the
role tests' own hosts together); 198.18.0-249 leave room for six concurrent sessions."""


def run(cmd, check=True, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("text", True)
    kw.setdefault("capture_output", True)
    proc = subprocess.run(cmd, check=False, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return proc


def cache_root() -> Path:
    return Path(os.environ.get("AIF_TEST_ROOTFS_CACHE", "/var/tmp/aif-rootfs"))


def debian_mirror() -> str:
    """The machine's own Debian mirror (never hard-coded); AIF_TEST_DEBIAN_MIRROR overrides."""
    env = os.environ.get("AIF_TEST_DEBIAN_MIRROR")
    if env:
        return env
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        block = None
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:"):
                block = line.split(":", 1)[1].split()[0]
            if block and line.startswith("Suites:") and SUITE in line.split():
                return block
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[-2] == SUITE:
                return [p for p in parts[1:] if not p.startswith("[")][0]
    raise RuntimeError("no Debian mirror found; set AIF_TEST_DEBIAN_MIRROR")


def ensure_tools() -> None:
    missing = sorted({pkg for tool, pkg in CONTROLLER_TOOLS.items() if shutil.which(tool) is None})
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", *missing], env=env)


def _chroot(root: Path, *cmd: str, check=True):
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive",
        "LC_ALL": "C",
    }
    return run(["chroot", str(root), *cmd], env=env, check=check)


def _locked(path: Path):
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "w")
    fcntl.flock(fh, fcntl.LOCK_EX)
    return fh


def build_rootfs() -> Path:
    """Build (or reuse) the base root filesystem; returns its path."""
    ensure_tools()
    key = hashlib.sha256(
        json.dumps([SUITE, RECIPE_VERSION, BASE_PACKAGES, ROLE_PACKAGES]).encode()
    ).hexdigest()[:16]
    root = cache_root() / f"rootfs-{key}"
    done = root.with_name(root.name + ".done")
    with _locked(cache_root() / f"rootfs-{key}.lock"):
        if done.exists():
            return root
        if root.exists():
            shutil.rmtree(root)
        mirror = debian_mirror()
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-apt",
                SUITE,
                str(root),
                mirror,
            ]
        )
        (root / "etc/apt/sources.list").write_text(
            f"deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\n"
        )
        # No daemon may start inside the chroot while we build.
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        try:
            _chroot(root, "apt-get", "update", "-q")
            _chroot(root, "apt-get", "install", "-y", "-q", "--no-install-recommends", *BASE_PACKAGES)
            _chroot(root, "apt-get", "install", "-y", "-q", "--download-only", *ROLE_PACKAGES)
        finally:
            policy.unlink()
        # The site's Debian mirror, as a local repository made of the downloaded packages.
        repo = root / "srv/aif-debian"
        repo.mkdir(parents=True)
        for deb in (root / "var/cache/apt/archives").glob("*.deb"):
            shutil.move(str(deb), repo / deb.name)
        _index_repo(repo)
        (root / "etc/apt/sources.list").write_text(
            "# Test host: a local copy of the Debian packages the roles install (no network).\n"
            "deb [trusted=yes] file:/srv/aif-debian ./\n"
        )
        _chroot(root, "apt-get", "update", "-q")
        _chroot(root, "apt-get", "clean")
        # The admin account Ansible connects as (root login is disabled by os_baseline).
        _chroot(root, "useradd", "-m", "-u", str(ADMIN_UID), "-s", "/bin/bash", ADMIN_USER)
        sudoers = root / "etc/sudoers.d" / ADMIN_USER
        sudoers.write_text(f"{ADMIN_USER} ALL=(ALL) NOPASSWD: ALL\n")
        sudoers.chmod(0o440)
        # apt-daily/apt-daily-upgrade would take the dpkg lock in the middle of a test run.
        for unit in ("apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer"):
            link = root / "etc/systemd/system" / unit
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        # Containers have no console or udev-managed devices; nothing waits for them.
        for unit in ("getty@tty1.service", "console-getty.service", "systemd-udevd.service"):
            link = root / "etc/systemd/system" / unit
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        # chronyd cannot set the clock inside a container (no CAP_SYS_TIME, and it must not
        # touch the CI machine's clock): this test-only drop-in runs it with -x (do not
        # control the system clock) so the role's "chrony enabled and running" is real.
        dropin = root / "etc/systemd/system/chrony.service.d"
        dropin.mkdir(parents=True)
        (dropin / "aif-test-container.conf").write_text(
            "# TEST ENVIRONMENT ONLY: chronyd in a container must not set the clock.\n"
            "[Unit]\nConditionCapability=\n"
            "[Service]\nExecStart=\nExecStart=!/usr/sbin/chronyd $DAEMON_OPTS -x\n"
        )
        (root / "etc/machine-id").write_text("")
        done.write_text(key + "\n")
    return root


def _index_repo(repo: Path) -> None:
    packages = run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo).stdout
    (repo / "Packages").write_text(packages)
    run(["gzip", "-9kf", "Packages"], cwd=repo)
    release = run(["apt-ftparchive", "release", "."], cwd=repo).stdout
    (repo / "Release").write_text(release)


def build_mirror() -> Path:
    """Build (or reuse) the local package mirror of test-double NVIDIA/AWS/Kubernetes software."""
    ensure_tools()
    key = doubles.fingerprint()
    mirror = cache_root() / f"mirror-{key}"
    done = mirror.with_name(mirror.name + ".done")
    with _locked(cache_root() / f"mirror-{key}.lock"):
        if done.exists():
            return mirror
        if mirror.exists():
            shutil.rmtree(mirror)
        doubles.build_mirror(mirror)
        for repo_dir in doubles.REPO_DIRS:
            _index_repo(mirror / repo_dir)
        done.write_text(key + "\n")
    return mirror


@dataclass
class TestHost:
    name: str
    index: int
    ip: str
    gateway: str
    netns: str
    veth_host: str
    veth_guest: str
    base: Path
    proc: subprocess.Popen | None = None
    log: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The host's filesystem as seen from the controller (the overlay's merged view)."""
        return self.base / "merged"


class HostFactory:
    """Creates and destroys test hosts for one test session."""

    def __init__(self, rootfs: Path, mirror: Path, workdir: Path | None = None):
        self.rootfs = rootfs
        self.mirror = mirror
        self.run_id = secrets.token_hex(2)
        self.workdir = workdir or Path(f"/tmp/aif-{self.run_id}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cp_dir = self.workdir / "cp"
        self.cp_dir.mkdir(exist_ok=True)
        self.key = self.workdir / "id_ed25519"
        if not self.key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)])
        self.hosts: dict[str, TestHost] = {}
        self._counter = 0
        self._subnet_base = self._pick_subnet_base()

    @staticmethod
    def _pick_subnet_base() -> int:
        used = run(["ip", "-4", "-o", "addr"]).stdout
        taken = {int(m) for m in re.findall(rf"{re.escape(NET_PREFIX)}\.(\d+)\.", used)}
        for base in range(0, 250, HOSTS_PER_SESSION):
            if not taken.intersection(range(base, base + HOSTS_PER_SESSION)):
                return base
        raise RuntimeError("no free 198.18.x.0/24 block left; stale test hosts?")

    def ssh_args(self) -> list[str]:
        return [
            "-i", str(self.key),
            "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR",
            "-o", "ControlMaster=auto",
            "-o", "ControlPersist=120s",
            "-o", f"ControlPath={self.cp_dir}/%C",
            "-o", "ConnectTimeout=5",
        ]

    def create(self, name: str, wait: bool = True) -> TestHost:
        idx = self._counter
        self._counter += 1
        if idx >= HOSTS_PER_SESSION:
            raise RuntimeError(f"at most {HOSTS_PER_SESSION} hosts per session (one /24 each)")
        octet = self._subnet_base + idx
        tag = f"{self.run_id}{idx}"
        host = TestHost(
            name=name,
            index=idx,
            ip=f"{NET_PREFIX}.{octet}.2",
            gateway=f"{NET_PREFIX}.{octet}.1",
            netns=f"aif-{tag}",
            veth_host=f"aifh{tag}",
            veth_guest=f"aifg{tag}",
            base=self.workdir / "hosts" / name,
        )
        self.hosts[name] = host
        for sub in ("upper", "work", "merged"):
            (host.base / sub).mkdir(parents=True, exist_ok=True)
        run(
            [
                "mount", "-t", "overlay", "overlay",
                "-o", f"lowerdir={self.rootfs},upperdir={host.base}/upper,workdir={host.base}/work",
                str(host.root),
            ]
        )
        self._personalise(host)
        run(["ip", "netns", "add", host.netns])
        run(["ip", "link", "add", host.veth_host, "type", "veth", "peer", "name", host.veth_guest])
        run(["ip", "link", "set", host.veth_guest, "netns", host.netns])
        run(["ip", "addr", "add", f"{host.gateway}/24", "dev", host.veth_host])
        run(["ip", "link", "set", host.veth_host, "up"])
        nsx = ["ip", "-n", host.netns]
        run([*nsx, "addr", "add", f"{host.ip}/24", "dev", host.veth_guest])
        run([*nsx, "link", "set", host.veth_guest, "up"])
        run([*nsx, "link", "set", "lo", "up"])
        run([*nsx, "route", "add", "default", "via", host.gateway])
        host.log = host.base / "console.log"
        with open(host.log, "w") as log:
            host.proc = subprocess.Popen(
                [
                    "systemd-nspawn", "-b", "-q",
                    "-D", str(host.root),
                    "--register=no", "--keep-unit",
                    f"--machine={name}-{self.run_id}",
                    f"--hostname={name}",
                    f"--network-namespace-path=/run/netns/{host.netns}",
                    f"--bind-ro={self.mirror}",
                    "--console=passive",
                    # nftables rules are managed inside the host's own network namespace.
                    "--capability=CAP_NET_ADMIN",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_ssh(host)
        return host

    def _personalise(self, host: TestHost) -> None:
        root = host.root
        (root / "etc/hostname").write_text(host.name + "\n")
        # Without the name in /etc/hosts fact gathering waits on DNS.
        (root / "etc/hosts").write_text(
            f"127.0.0.1 localhost\n127.0.1.1 {host.name}\n{host.ip} {host.name}\n"
        )
        ssh_dir = root / "home" / ADMIN_USER / ".ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        auth = ssh_dir / "authorized_keys"
        auth.write_text(Path(str(self.key) + ".pub").read_text())
        auth.chmod(0o600)
        for p in (ssh_dir, auth):
            os.chown(p, ADMIN_UID, ADMIN_UID)

    def ssh(self, host: TestHost, command: str, check: bool = True, become: bool = True):
        cmd = ["ssh", *self.ssh_args(), f"{ADMIN_USER}@{host.ip}"]
        cmd.append(f"sudo sh -c {shlex_quote(command)}" if become else command)
        return run(cmd, check=check)

    def wait_ssh(self, host: TestHost, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if host.proc and host.proc.poll() is not None:
                raise RuntimeError(f"{host.name}: nspawn exited:\n{host.log.read_text()[-3000:]}")
            if self.ssh(host, "true", check=False, become=False).returncode == 0:
                # Wait until boot-up finished so no unit start races the playbook.
                for _ in range(int(timeout * 2)):
                    state = self.ssh(host, "systemctl is-system-running", check=False, become=False)
                    if state.stdout.strip() in ("running", "degraded"):
                        return
                    time.sleep(0.5)
                return
            time.sleep(0.3)
        raise RuntimeError(f"{host.name}: no SSH after {timeout}s:\n{host.log.read_text()[-3000:]}")

    def destroy(self, host: TestHost) -> None:
        run(["ssh", *self.ssh_args(), "-O", "exit", f"{ADMIN_USER}@{host.ip}"], check=False)
        if host.proc and host.proc.poll() is None:
            host.proc.send_signal(signal.SIGTERM)  # nspawn turns this into an orderly poweroff
            try:
                host.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(host.proc.pid, signal.SIGKILL)
                host.proc.wait(timeout=10)
        # Anything still alive in the namespace (there should be nothing) is ours.
        pids = run(["ip", "netns", "pids", host.netns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        run(["ip", "link", "del", host.veth_host], check=False)
        run(["ip", "netns", "del", host.netns], check=False)
        for _ in range(10):
            if run(["umount", str(host.root)], check=False).returncode == 0:
                break
            if not os.path.ismount(host.root):
                break
            time.sleep(0.5)
        else:
            run(["umount", "-l", str(host.root)], check=False)
        shutil.rmtree(host.base, ignore_errors=True)
        self.hosts.pop(host.name, None)

    def destroy_all(self) -> None:
        # Start every orderly shutdown first; they then finish in parallel.
        for host in self.hosts.values():
            if host.proc and host.proc.poll() is None:
                host.proc.send_signal(signal.SIGTERM)
        for host in list(self.hosts.values()):
            self.destroy(host)
        shutil.rmtree(self.workdir, ignore_errors=True)


def shlex_quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


# --------------------------------------------------------------------------------------------
# Inventory and ansible-playbook helpers shared by the tests and benchmarks/ansible_rerun.py
# --------------------------------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO_ROOT / "ansible"
VENV_BIN = REPO_ROOT / ".venv" / "bin"

# The recap line ansible-playbook prints per host.
RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.M,
)


def tool(name: str) -> str:
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else name


def write_inventory(factory: HostFactory, hosts: list[TestHost], path: Path, host_vars=None) -> Path:
    """Write an inventory in the exact shape `factory inventory STACK` produces, plus the
    test-only connection settings and the overrides a container needs (commented)."""
    import yaml

    host_vars = host_vars or {}
    mirror_url = f"file://{factory.mirror}"
    inv_hosts = {}
    for position, h in enumerate(hosts):
        inv_hosts[h.name] = {
            "ansible_host": h.ip,
            "aif_rollout_batch": position,
            "gpu_validate_expected_count": 8,
            "gpu_validate_expected_model": "NVIDIA H100 80GB HBM3",
            # The first host stands for an NVSwitch (HGX) system, the others for PCIe cards.
            "nvidia_driver_fabricmanager_enabled": position == 0,
            "local_storage_devices": [],
            **host_vars.get(h.name, {}),
        }
    inventory = {
        "all": {
            "vars": {
                "aif_environment": "ci-test",
                "aif_tier": "dev",
                "aif_site": "ci1",
                "aif_rollout_batch_size": 1,
                "aif_rollout_max_fail_percentage": 0,
                "aif_package_mirror_url": mirror_url,
                "aif_package_mirror_trusted": True,
                "aif_package_mirror_key_url": "",
                "nvidia_driver_branch": "570",
                "nvidia_driver_version": doubles.DRIVER_VERSION,
                "gpu_validate_expected_driver_version": doubles.DRIVER_VERSION,
                # The controller side of every veth is 198.18.x.1; 198.19.x.1 is a probe address
                # outside both lists, used to prove the firewall drops other sources.
                "os_baseline_admin_cidrs": ["198.18.0.0/16"],
                "os_baseline_cluster_cidrs": ["198.18.0.0/16", "10.100.0.0/16"],
                "k8s_node_join_method": "eks-hybrid",
                "k8s_node_kubernetes_version": "1.33",
                "k8s_node_cluster_name": "ci-test-burst",
                "k8s_node_region": "eu-central-1",
                "k8s_node_credential_provider": "ssm",
                "k8s_node_labels": {
                    "ai-factory.io/location": "on-prem",
                    "ai-factory.io/site": "ci1",
                },
                "k8s_node_taints": ["nvidia.com/gpu=true:NoSchedule"],
                "container_toolkit_registry_mirror": "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
                "local_storage_mount_point": "/var/lib/ai-factory/model-cache",
                # --- test-only settings (not part of the inventory contract) ---
                "ansible_user": ADMIN_USER,
                "ansible_ssh_private_key_file": str(factory.key),
                # Disposable hosts get fresh host keys every run: no known_hosts.
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                # Containers see the CI machine's PCI bus (no NVIDIA device); the simulated
                # nvidia-smi still reports 8 GPUs and gpu_validate checks them.
                "nvidia_driver_require_gpu": False,
            },
            "children": {"gpu_servers": {"hosts": inv_hosts}},
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def write_secrets(path: Path) -> Path:
    """Fake join secrets (generated per run, never real), passed with -e @file like production."""
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "k8s_node_ssm_activation_code": "TEST-" + secrets.token_hex(8),
                "k8s_node_ssm_activation_id": "00000000-0000-4000-8000-" + secrets.token_hex(6),
                "k8s_node_kubeadm_token": secrets.token_hex(3) + "." + secrets.token_hex(8),
                "k8s_node_kubeadm_ca_cert_hash": "sha256:" + secrets.token_hex(32),
            }
        )
    )
    path.chmod(0o600)
    return path


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    recap: dict
    seconds: float

    def host(self, name: str) -> dict:
        return self.recap.get(name, {})


def ansible_env(factory: HostFactory) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(factory.cp_dir),
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(factory.workdir / "facts"),
            "ANSIBLE_LOCAL_TEMP": str(factory.workdir / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        }
    )
    return env


def run_playbook(factory: HostFactory, playbook: str, inventory: Path, *args: str) -> PlaybookResult:
    cmd = [tool("ansible-playbook"), "-i", str(inventory), str(ANSIBLE_DIR / "playbooks" / playbook), *args]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ANSIBLE_DIR, env=ansible_env(factory), capture_output=True, text=True)
    seconds = time.monotonic() - start
    recap = {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
             for m in RECAP_RE.finditer(proc.stdout)}
    log = factory.workdir / "logs"
    log.mkdir(exist_ok=True)
    n = len(list(log.iterdir()))
    (log / f"{n:02d}-{Path(playbook).name}.log").write_text(" ".join(cmd) + "\n\n" + proc.stdout + "\n" + proc.stderr)
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, recap, seconds)
