"""Test-double packages with the REAL package names of NVIDIA's, AWS's and Kubernetes' software.

None of these exist in Debian and their repositories are unreachable from CI, so the tests
serve a local apt mirror laid out like the site mirror the roles expect
(``<aif_package_mirror_url>/cuda/debian12/x86_64`` …).  Every package is built with
``equivs-build``; its Description starts with "TEST DOUBLE" and its files only simulate the
real tools (no kernel module, no GPU access).

Real names (checked against public install scripts and NVIDIA's repositories):

* CUDA repository (debian12/x86_64): ``cuda-drivers-570`` (driver branch meta-package),
  ``nvidia-driver``, ``nvidia-kernel-dkms``, ``nvidia-smi``, ``nvidia-persistenced``,
  ``nvidia-fabricmanager-570``, ``datacenter-gpu-manager-4-core``,
  ``datacenter-gpu-manager-4-cuda12`` (DCGM 4), ``datacenter-gpu-manager-exporter``.
* libnvidia-container repository: ``nvidia-container-toolkit``,
  ``nvidia-container-toolkit-base``, ``libnvidia-container-tools``, ``libnvidia-container1``.
* Kubernetes community repository (v1.33): ``kubeadm``, ``kubelet``, ``kubectl``.
* EKS Hybrid Nodes: the ``nodeadm`` binary (a plain file, not a package).

The simulated ``nvidia-smi`` prints the real ``--query-gpu=… --format=csv,noheader`` output of
8 × "NVIDIA H100 80GB HBM3" with driver 570.195.03; ``/etc/aif-test-double/nvidia-smi.conf``
on a host (KEY=VALUE lines) overrides count, model, driver, ECC and persistence mode so tests
can break a host on purpose.
"""

from __future__ import annotations

import hashlib
import inspect
import shutil
import subprocess
import tempfile
from pathlib import Path

DRIVER_VERSION = "570.195.03"
NEWER_DRIVER_VERSION = "575.57.08"  # present in the mirror so the version pin is exercised
DCGM_VERSION = "1:4.4.1-1"
EXPORTER_VERSION = "4.4.1-4.5.2-1"
CTK_VERSION = "1.17.8-1"
K8S_VERSION = "1.33.5-1.1"

CUDA_DIR = "cuda/debian12/x86_64"
CTK_DIR = "libnvidia-container/stable/deb/amd64"
K8S_DIR = "kubernetes/core/stable/v1.33/deb"
NODEADM_PATH = "eks-hybrid/releases/latest/bin/linux/amd64/nodeadm"
REPO_DIRS = (CUDA_DIR, CTK_DIR, K8S_DIR)

NVIDIA_SMI = r'''#!/usr/bin/python3
"""TEST DOUBLE of nvidia-smi: no GPU is touched.  Settings: /etc/aif-test-double/nvidia-smi.conf"""
import sys

CONF = "/etc/aif-test-double/nvidia-smi.conf"
cfg = {
    "GPU_COUNT": "8",
    "GPU_NAME": "NVIDIA H100 80GB HBM3",
    "DRIVER_VERSION": "@DRIVER@",
    "ECC_MODE": "Enabled",
    "PERSISTENCE_MODE": "Enabled",
    "MEMORY_TOTAL_MIB": "81559",
    "FAIL": "0",
}
try:
    for line in open(CONF):
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            cfg[k.strip()] = v.strip().strip('"')
except FileNotFoundError:
    pass

if cfg["FAIL"] == "1":
    print("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
          "Make sure that the latest NVIDIA driver is installed and running.")
    sys.exit(9)

count = int(cfg["GPU_COUNT"])
args = sys.argv[1:]
query = next((a.split("=", 1)[1] for a in args if a.startswith("--query-gpu=")), None)
fmt = next((a.split("=", 1)[1] for a in args if a.startswith("--format=")), "")


def value(field, i, units):
    mem = cfg["MEMORY_TOTAL_MIB"]
    table = {
        "index": str(i),
        "count": str(count),
        "name": cfg["GPU_NAME"],
        "gpu_name": cfg["GPU_NAME"],
        "driver_version": cfg["DRIVER_VERSION"],
        "ecc.mode.current": cfg["ECC_MODE"],
        "ecc.mode.pending": cfg["ECC_MODE"],
        "persistence_mode": cfg["PERSISTENCE_MODE"],
        "memory.total": f"{mem} MiB" if units else mem,
        "uuid": f"GPU-00000000-0000-4000-8000-{i:012d}",
        "pci.bus_id": f"00000000:{0x18 + i * 0x10:02X}:00.0",
        "serial": f"TESTDOUBLE{i:04d}",
    }
    if field not in table:
        print(f'Field "{field}" is not a valid field to query.', file=sys.stderr)
        sys.exit(2)
    return table[field]


if "--version" in args:
    print(f"NVIDIA-SMI version  : {cfg['DRIVER_VERSION']} (TEST DOUBLE)")
    print(f"DRIVER version      : {cfg['DRIVER_VERSION']}")
elif "-L" in args:
    for i in range(count):
        print(f"GPU {i}: {cfg['GPU_NAME']} (UUID: {value('uuid', i, True)})")
elif query:
    if not fmt.startswith("csv"):
        print("Only csv format is simulated", file=sys.stderr)
        sys.exit(2)
    fields = [f.strip() for f in query.split(",")]
    units = "nounits" not in fmt
    if "noheader" not in fmt:
        print(", ".join(fields))
    for i in range(count):
        print(", ".join(value(f, i, units) for f in fields))
else:
    print(f"TEST DOUBLE nvidia-smi | Driver Version: {cfg['DRIVER_VERSION']} | GPUs: {count}")
    for i in range(count):
        print(f"|   {i}  {cfg['GPU_NAME']}  Persistence-M {cfg['PERSISTENCE_MODE']}")
'''

SLEEPER = """#!/bin/sh
# TEST DOUBLE of {name}: a long-running process so systemd has something to supervise.
echo "{name} (TEST DOUBLE) started with: $*"
exec sleep infinity
"""

DCGMI = """#!/bin/sh
# TEST DOUBLE of dcgmi: reports success for every diagnostic without touching a GPU.
case "$1" in
  diag) echo "Successfully ran diagnostic for group. (TEST DOUBLE)"; echo "| Deployment | Pass |" ;;
  discovery) nvidia-smi -L ;;
  *) echo "dcgmi (TEST DOUBLE) $*" ;;
esac
"""

DCGM_EXPORTER = r'''#!/usr/bin/python3
"""TEST DOUBLE of dcgm-exporter: serves the counters file's metrics (zeros) for the GPUs the
(simulated) nvidia-smi reports.  Usage: dcgm-exporter -f COUNTERS.csv -a :9400"""
import http.server
import subprocess
import sys

args = sys.argv[1:]
counters, addr = "/etc/dcgm-exporter/default-counters.csv", ":9400"
for i, a in enumerate(args):
    if a in ("-f", "--collectors"):
        counters = args[i + 1]
    if a in ("-a", "--address"):
        addr = args[i + 1]
host, port = addr.rsplit(":", 1)


def metrics():
    names = []
    for line in open(counters):
        line = line.strip()
        if line and not line.startswith("#"):
            names.append([p.strip() for p in line.split(",")])
    out = subprocess.run(["nvidia-smi", "--query-gpu=index,uuid,name", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.splitlines()
    body = []
    for name, kind, *help_ in names:
        body.append(f"# HELP {name} {help_[0] if help_ else ''}")
        body.append(f"# TYPE {name} {kind}")
        for row in out:
            idx, uuid, model = [p.strip() for p in row.split(",")]
            body.append(f'{name}{{gpu="{idx}",UUID="{uuid}",modelName="{model}"}} 0')
    return ("\n".join(body) + "\n").encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = metrics() if self.path.startswith("/metrics") else b"dcgm-exporter TEST DOUBLE\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


http.server.ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler).serve_forever()
'''

COUNTERS = """# Format: DCGM field, Prometheus metric type, help message (TEST DOUBLE subset)
DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).
DCGM_FI_DEV_FB_USED, gauge, Framebuffer memory used (in MiB).
DCGM_FI_DEV_POWER_USAGE, gauge, Power draw (in W).
"""

NVIDIA_CTK = """#!/bin/sh
# TEST DOUBLE of nvidia-ctk.
case "$1" in
  --version|-v) echo "NVIDIA Container Toolkit CLI version 1.17.8 (TEST DOUBLE)" ;;
  *) echo "nvidia-ctk (TEST DOUBLE) $*" ;;
esac
"""

NODEADM = """#!/bin/bash
# TEST DOUBLE of AWS EKS Hybrid Nodes' nodeadm: records what it was asked to do.
set -euo pipefail
state=/var/lib/aif-test-double
mkdir -p "$state"
log() { echo "$*" >> "$state/nodeadm.log"; }
cmd="${1:-}"; shift || true
case "$cmd" in
  install)
    version="${1:?kubernetes version required}"; shift
    provider=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --credential-provider|-p) provider="$2"; shift 2 ;;
        *) shift ;;
      esac
    done
    case "$provider" in ssm|iam-ra) ;; *) echo "invalid credential provider: $provider" >&2; exit 2 ;; esac
    printf '#!/bin/sh\\n# TEST DOUBLE kubelet installed by nodeadm\\necho "Kubernetes v%s (TEST DOUBLE)"\\n' "$version" > /usr/bin/kubelet
    chmod 0755 /usr/bin/kubelet
    log "install $version --credential-provider $provider"
    ;;
  init)
    src=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --config-source|-c) src="$2"; shift 2 ;;
        *) shift ;;
      esac
    done
    path="${src#file://}"
    grep -q '^kind: NodeConfig' "$path" || { echo "not a NodeConfig: $path" >&2; exit 1; }
    grep -q 'apiVersion: node.eks.aws/v1alpha1' "$path" || { echo "bad apiVersion" >&2; exit 1; }
    mkdir -p /var/lib/kubelet
    echo "# TEST DOUBLE kubeconfig written by nodeadm init" > /var/lib/kubelet/kubeconfig
    log "init $src"
    ;;
  uninstall)
    rm -f /var/lib/kubelet/kubeconfig /usr/bin/kubelet
    log "uninstall"
    ;;
  version) echo "nodeadm v1.0.0 (TEST DOUBLE)" ;;
  *) echo "unknown command: $cmd" >&2; exit 2 ;;
esac
"""

KUBEADM = """#!/bin/bash
# TEST DOUBLE of kubeadm: records joins and resets.
set -euo pipefail
mkdir -p /var/lib/aif-test-double
log() { echo "$*" >> /var/lib/aif-test-double/kubeadm.log; }
case "${1:-}" in
  join)
    shift; cfg=""
    while [ $# -gt 0 ]; do case "$1" in --config) cfg="$2"; shift 2 ;; *) shift ;; esac; done
    grep -q '^kind: JoinConfiguration' "$cfg" || { echo "not a JoinConfiguration" >&2; exit 1; }
    mkdir -p /etc/kubernetes
    echo "# TEST DOUBLE kubelet.conf written by kubeadm join" > /etc/kubernetes/kubelet.conf
    log "join --config $cfg"
    ;;
  reset) rm -f /etc/kubernetes/kubelet.conf; log "reset $*" ;;
  version) echo "v1.33.5 (TEST DOUBLE)" ;;
  *) echo "kubeadm (TEST DOUBLE) $*" ;;
esac
"""

KUBECTL = """#!/bin/sh
# TEST DOUBLE of kubectl: records the call and succeeds. kubectl runs as the delegate's
# unprivileged user, hence a world-writable log directory.
mkdir -p -m 1777 /var/tmp/aif-test-double 2>/dev/null
echo "kubectl $*" >> /var/tmp/aif-test-double/kubectl.log
"""


def _unit(description: str, exec_start: str) -> str:
    return (
        f"[Unit]\nDescription={description} (TEST DOUBLE)\n\n"
        f"[Service]\nExecStart={exec_start}\nRestart=on-failure\n\n"
        "[Install]\nWantedBy=multi-user.target\n"
    )


def _driver_set(version: str) -> list[dict]:
    deb = f"{version}-1"
    return [
        {
            "dir": CUDA_DIR,
            "name": "nvidia-driver",
            "version": deb,
            "depends": f"nvidia-kernel-dkms (= {deb}), nvidia-smi (= {deb})",
            "files": {},
        },
        {"dir": CUDA_DIR, "name": "nvidia-kernel-dkms", "version": deb, "files": {}},
        {
            "dir": CUDA_DIR,
            "name": "nvidia-smi",
            "version": deb,
            "files": {"/usr/bin/nvidia-smi": NVIDIA_SMI.replace("@DRIVER@", version)},
        },
        {
            "dir": CUDA_DIR,
            "name": "nvidia-persistenced",
            "version": deb,
            "files": {
                "/usr/bin/nvidia-persistenced": SLEEPER.format(name="nvidia-persistenced"),
                "/lib/systemd/system/nvidia-persistenced.service": _unit(
                    "NVIDIA Persistence Daemon", "/usr/bin/nvidia-persistenced --user root"
                ),
            },
        },
        {
            "dir": CUDA_DIR,
            "name": f"cuda-drivers-{version.split('.')[0]}",
            "version": deb,
            "depends": f"nvidia-driver (= {deb}), nvidia-persistenced (= {deb})",
            "files": {},
        },
    ]


def packages() -> list[dict]:
    pkgs = _driver_set(DRIVER_VERSION) + _driver_set(NEWER_DRIVER_VERSION)
    pkgs += [
        {
            "dir": CUDA_DIR,
            "name": "nvidia-fabricmanager-570",
            "version": f"{DRIVER_VERSION}-1",
            "files": {
                "/usr/bin/nv-fabricmanager": SLEEPER.format(name="nv-fabricmanager"),
                "/lib/systemd/system/nvidia-fabricmanager.service": _unit(
                    "NVIDIA fabric manager service", "/usr/bin/nv-fabricmanager"
                ),
            },
        },
        {
            "dir": CUDA_DIR,
            "name": "datacenter-gpu-manager-4-core",
            "version": DCGM_VERSION,
            "files": {
                "/usr/bin/dcgmi": DCGMI,
                "/usr/bin/nv-hostengine": SLEEPER.format(name="nv-hostengine"),
                "/lib/systemd/system/nvidia-dcgm.service": _unit(
                    "NVIDIA DCGM service", "/usr/bin/nv-hostengine -n --service-account nvidia-dcgm"
                ),
            },
        },
        {
            "dir": CUDA_DIR,
            "name": "datacenter-gpu-manager-4-cuda12",
            "version": DCGM_VERSION,
            "depends": f"datacenter-gpu-manager-4-core (= {DCGM_VERSION})",
            "files": {},
        },
        {
            "dir": CUDA_DIR,
            "name": "datacenter-gpu-manager-exporter",
            "version": EXPORTER_VERSION,
            "depends": "datacenter-gpu-manager-4-core, python3",
            "files": {
                "/usr/bin/dcgm-exporter": DCGM_EXPORTER,
                "/etc/dcgm-exporter/default-counters.csv": COUNTERS,
            },
        },
        {
            "dir": CTK_DIR,
            "name": "nvidia-container-toolkit",
            "version": CTK_VERSION,
            "depends": f"nvidia-container-toolkit-base (= {CTK_VERSION}), "
            f"libnvidia-container-tools (= {CTK_VERSION})",
            "files": {},
        },
        {
            "dir": CTK_DIR,
            "name": "nvidia-container-toolkit-base",
            "version": CTK_VERSION,
            "files": {
                "/usr/bin/nvidia-ctk": NVIDIA_CTK,
                "/usr/bin/nvidia-container-runtime": SLEEPER.format(name="nvidia-container-runtime"),
            },
        },
        {
            "dir": CTK_DIR,
            "name": "libnvidia-container-tools",
            "version": CTK_VERSION,
            "depends": f"libnvidia-container1 (= {CTK_VERSION})",
            "files": {"/usr/bin/nvidia-container-cli": NVIDIA_CTK},
        },
        {"dir": CTK_DIR, "name": "libnvidia-container1", "version": CTK_VERSION, "files": {}},
        {
            "dir": K8S_DIR,
            "name": "kubeadm",
            "version": K8S_VERSION,
            "depends": "kubelet, kubectl",
            "files": {"/usr/bin/kubeadm": KUBEADM},
        },
        {
            "dir": K8S_DIR,
            "name": "kubelet",
            "version": K8S_VERSION,
            "files": {
                "/usr/bin/kubelet": SLEEPER.format(name="kubelet"),
                "/lib/systemd/system/kubelet.service": _unit("kubelet", "/usr/bin/kubelet"),
            },
        },
        {"dir": K8S_DIR, "name": "kubectl", "version": K8S_VERSION, "files": {"/usr/bin/kubectl": KUBECTL}},
    ]
    return pkgs


def fingerprint() -> str:
    src = inspect.getsource(inspect.getmodule(fingerprint))
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def _build_one(pkg: dict, out_dir: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        pairs = []
        for dest, content in sorted(pkg["files"].items()):
            src = tmpd / Path(dest).name  # equivs keeps the source file's name
            src.write_text(content)
            src.chmod(0o755 if content.startswith("#!") else 0o644)
            pairs.append(f"{src.name} {Path(dest).parent}/")
        ctl = [
            "Section: misc",
            "Priority: optional",
            "Standards-Version: 4.6.2",
            f"Package: {pkg['name']}",
            f"Version: {pkg['version']}",
            "Maintainer: AI factory tests <tests@invalid>",
            "Architecture: all",
        ]
        if pkg.get("depends"):
            ctl.append(f"Depends: {pkg['depends']}")
        if pairs:
            ctl.append("Files: " + "\n ".join(pairs))
        ctl.append(f"Description: TEST DOUBLE of {pkg['name']} (not NVIDIA/AWS/Kubernetes software)")
        ctl.append(" Stand-in built with equivs for the AI factory Ansible tests; it simulates")
        ctl.append(" the real package's files and services without touching hardware.")
        (tmpd / "control").write_text("\n".join(ctl) + "\n")
        proc = subprocess.run(
            ["equivs-build", "control"], cwd=tmpd, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"equivs-build {pkg['name']} failed:\n{proc.stdout}\n{proc.stderr}")
        for deb in tmpd.glob("*.deb"):
            target = out_dir / pkg["dir"]
            target.mkdir(parents=True, exist_ok=True)
            shutil.move(str(deb), target / deb.name)


def build_mirror(mirror: Path) -> None:
    mirror.mkdir(parents=True)
    for pkg in packages():
        _build_one(pkg, mirror)
    nodeadm = mirror / NODEADM_PATH
    nodeadm.parent.mkdir(parents=True)
    nodeadm.write_text(NODEADM)
    nodeadm.chmod(0o755)
