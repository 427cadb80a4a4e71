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
* EKS Hybrid Nodes: the ``nodeadm`` binary (a plain file, not a package); like the real one,
  ``nodeadm install`` puts kubectl in ``/usr/local/bin``.

The simulated ``nvidia-smi`` prints the real ``--query-gpu=… --format=csv,noheader`` output of
8 × "NVIDIA H100 80GB HBM3" with driver 570.195.03; ``/etc/aif-test-double/nvidia-smi.conf``
on a host (KEY=VALUE lines) overrides count, model, driver, ECC and persistence mode so tests
can break a host on purpose.

The simulated ``kubectl`` keeps a small Node store on the host (see its docstring): the
kubeadm/nodeadm doubles register the node there when they "join", with their node labels.
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
    # The real nodeadm installs kubectl too (aws/eks-hybrid internal/kubectl: /usr/local/bin/kubectl).
    cat > /usr/local/bin/kubectl <<'AIF_KUBECTL_EOF'
@KUBECTL@AIF_KUBECTL_EOF
    chmod 0755 /usr/local/bin/kubectl
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
    # The kubelet registers as the IAM Roles Anywhere nodeName, or (SSM) as the managed
    # instance ID the activation yields: mi- and 17 hex digits, stable per host here.
    name="$(sed -n 's/^ *nodeName: "\\(.*\\)"$/\\1/p' "$path")"
    [ -n "$name" ] || name="mi-$(hostname | sha256sum | cut -c1-17)"
    labels="$(sed -n 's/^ *- "--node-labels=\\(.*\\)"$/\\1/p' "$path")"
    mkdir -p /var/lib/kubelet
    cat > /var/lib/kubelet/kubeconfig <<KUBECONFIG_EOF
# TEST DOUBLE kubeconfig written by nodeadm init
# aif-test-double-user: system:node:$name
apiVersion: v1
kind: Config
users:
  - name: kubelet
KUBECONFIG_EOF
    chmod 0600 /var/lib/kubelet/kubeconfig
    /usr/local/bin/kubectl aif-test-double-register "$name" "$labels"
    log "init $src"
    ;;
  uninstall)
    rm -f /var/lib/kubelet/kubeconfig /usr/bin/kubelet /usr/local/bin/kubectl
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
    # The kubelet registers as nodeRegistration.name with the node-labels kubelet argument.
    name="$(sed -n '/^nodeRegistration:/,/^[^ ]/s/^  name: "\\(.*\\)"$/\\1/p' "$cfg")"
    labels="$(grep -A1 -- '- name: node-labels' "$cfg" | sed -n 's/^ *value: "\\(.*\\)"$/\\1/p')"
    [ -n "$name" ] || { echo "no nodeRegistration.name in $cfg" >&2; exit 1; }
    mkdir -p /etc/kubernetes
    cat > /etc/kubernetes/kubelet.conf <<KUBECONFIG_EOF
# TEST DOUBLE kubelet.conf written by kubeadm join
# aif-test-double-user: system:node:$name
apiVersion: v1
kind: Config
users:
  - name: default-auth
KUBECONFIG_EOF
    chmod 0600 /etc/kubernetes/kubelet.conf
    /usr/bin/kubectl aif-test-double-register "$name" "$labels"
    log "join --config $cfg"
    ;;
  reset) rm -f /etc/kubernetes/kubelet.conf; log "reset $*" ;;
  version) echo "v1.33.5 (TEST DOUBLE)" ;;
  *) echo "kubeadm (TEST DOUBLE) $*" ;;
esac
"""

KUBECTL = r'''#!/usr/bin/python3
"""TEST DOUBLE of kubectl: there is no API server. A JSON file on the host,
/var/tmp/aif-test-double/nodes.json (a NodeList), stands in for the cluster's Node objects;
the kubeadm/nodeadm doubles add the node to it when they "join", with the --node-labels the
real kubelet would register with (an existing Node keeps its labels, as with a real kubelet).

* Calls that change something (label, drain, cordon, uncordon, delete ...) are appended to
  /var/tmp/aif-test-double/kubectl.log as "kubectl ARGS"; read-only ones (get, auth whoami,
  version) are not. kubectl runs as the delegate's unprivileged user, hence a world-writable
  directory and store.
* --kubeconfig naming a kubelet kubeconfig written by a join double makes the call as
  system:node:<name>, with the real limits: the Node authorizer lets it read only its own
  Node (a list needs --field-selector metadata.name=<name>), NodeRestriction lets it change
  only its own Node and no kubernetes.io / k8s.io label. Any other caller is an admin.
Supported: auth whoami, get nodes [NAME] [-l/--selector] [--field-selector] [-o json|name],
label nodes (NAME | --selector/--field-selector/--all) k=v k- [--overwrite] [--dry-run=...],
delete node(s), drain, cordon, uncordon (selectors as for get), version.
"""
import fcntl
import json
import os
import re
import sys

STATE = "/var/tmp/aif-test-double"
LOG = STATE + "/kubectl.log"
STORE = STATE + "/nodes.json"
READ_ONLY = {"get", "auth", "version", "describe", "api-resources", "cluster-info", "config"}
VALUE_FLAGS = {"--kubeconfig", "--selector", "-l", "--field-selector", "-o", "--output", "--timeout",
               "--dry-run", "--context", "--namespace", "-n", "--grace-period", "--resource-version"}
KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
# kubelet's own well-known labels, the only kubernetes.io ones NodeRestriction lets it set.
KUBELET_LABELS = {"kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch",
                  "node.kubernetes.io/instance-type", "topology.kubernetes.io/region",
                  "topology.kubernetes.io/zone", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
                  "beta.kubernetes.io/instance-type", "failure-domain.beta.kubernetes.io/region",
                  "failure-domain.beta.kubernetes.io/zone"}


def die(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def parse(argv):
    words, flags, i = [], {}, 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-") and len(a) > 1:
            if "=" in a and a.startswith("--"):
                k, v = a.split("=", 1)
                flags[k] = v
            elif a in VALUE_FLAGS and i + 1 < len(argv):
                flags[a] = argv[i + 1]
                i += 1
            else:
                flags[a] = "true"
        else:
            words.append(a)
        i += 1
    return words, flags


def log(argv):
    try:
        os.makedirs(STATE, exist_ok=True)
        os.chmod(STATE, 0o1777)
    except PermissionError:
        pass
    # 0666: root (kubelet credentials) and the delegate user both append to it.
    with os.fdopen(os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666), "a") as fh:
        fh.write("kubectl " + " ".join(argv) + "\n")
    try:
        os.chmod(LOG, 0o666)
    except PermissionError:
        pass


def caller(kubeconfig):
    """The node name when the kubeconfig is a kubelet's, else None (an admin)."""
    if not kubeconfig:
        return None
    try:
        text = open(kubeconfig).read()
    except OSError as exc:
        die(f"error: error loading config file \"{kubeconfig}\": open {kubeconfig}: {exc.strerror.lower()}")
    m = re.search(r"^# aif-test-double-user: system:node:(\S+)$", text, re.M)
    return m.group(1) if m else None


class Store:
    """The NodeList file, locked for the whole call; written in place (the directory is sticky,
    so the delegate user may not rename over root's file)."""

    def __init__(self):
        try:
            os.makedirs(STATE, exist_ok=True)
            os.chmod(STATE, 0o1777)
        except PermissionError:
            pass
        fd = os.open(STORE, os.O_RDWR | os.O_CREAT, 0o666)
        self.fh = os.fdopen(fd, "r+")
        fcntl.flock(self.fh, fcntl.LOCK_EX)
        try:
            os.chmod(STORE, 0o666)
        except PermissionError:
            pass
        text = self.fh.read()
        self.data = json.loads(text) if text.strip() else {"apiVersion": "v1", "kind": "NodeList", "items": []}

    def save(self):
        self.fh.seek(0)
        self.fh.truncate()
        json.dump(self.data, self.fh, indent=2, sort_keys=True)
        self.fh.write("\n")
        self.fh.flush()

    def names(self):
        return [n["metadata"]["name"] for n in self.data["items"]]

    def node(self, name):
        return next((n for n in self.data["items"] if n["metadata"]["name"] == name), None)


def selector_terms(text):
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def matches_labels(labels, selector):
    for term in selector_terms(selector):
        if "!=" in term:
            k, v = term.split("!=", 1)
            ok = labels.get(k.strip()) != v.strip()
        elif "=" in term:
            k, v = term.replace("==", "=").split("=", 1)
            ok = labels.get(k.strip()) == v.strip()
        elif term.startswith("!"):
            ok = term[1:].strip() not in labels
        else:
            ok = term in labels
        if not ok:
            return False
    return True


def field_name(selector):
    """The name a metadata.name=X field selector asks for (None when it does not pin one)."""
    for term in selector_terms(selector):
        if "!=" in term:
            continue
        k, _, v = term.replace("==", "=").partition("=")
        if k.strip() == "metadata.name":
            return v.strip()
    return None


def matches_fields(node, selector):
    name = node["metadata"]["name"]
    for term in selector_terms(selector):
        if "!=" in term:
            k, v = term.split("!=", 1)
            ok = k.strip() != "metadata.name" or name != v.strip()
        else:
            k, _, v = term.replace("==", "=").partition("=")
            if k.strip() != "metadata.name":
                die(f'Error from server (BadRequest): Unable to find "/v1, Resource=nodes" that match label selector "", field selector "{selector}": field label not supported: {k.strip()} (TEST DOUBLE)')
            ok = name == v.strip()
        if not ok:
            return False
    return True


def forbidden_read(me, verb, name=None):
    if name:
        die(f'Error from server (Forbidden): nodes "{name}" is forbidden: User "system:node:{me}" cannot {verb} '
            f'resource "nodes" in API group "" at the cluster scope: node \'{me}\' cannot read \'{name}\', '
            "only its own Node object")
    die(f'Error from server (Forbidden): nodes is forbidden: User "system:node:{me}" cannot {verb} resource '
        f'"nodes" in API group "" at the cluster scope: node \'{me}\' cannot read all nodes, only its own Node object')


def select(store, me, words, flags, need_target=True):
    """The Node objects a command addresses, with the Node authorizer's read rule for kubelets."""
    names = words[2:3] if len(words) > 2 and "=" not in words[2] and not words[2].endswith("-") else []
    label_sel = flags.get("--selector", flags.get("-l"))
    field_sel = flags.get("--field-selector")
    if names:
        if me is not None and names[0] != me:
            forbidden_read(me, "get", names[0])
        node = store.node(names[0])
        if node is None:
            die(f'Error from server (NotFound): nodes "{names[0]}" not found')
        return [node], names
    if label_sel is None and field_sel is None and "--all" not in flags and need_target:
        die("error: resource(s) were provided, but no name was specified")
    if me is not None and field_name(field_sel) != me:
        forbidden_read(me, "list")
    return [n for n in store.data["items"]
            if matches_labels(n["metadata"].get("labels", {}), label_sel) and matches_fields(n, field_sel)], names


def resource_ok(words):
    if len(words) < 2 or words[1] not in ("node", "nodes", "no"):
        die(f'error: the server doesn\'t have a resource type "{words[1] if len(words) > 1 else ""}" (TEST DOUBLE: nodes only)')


def cmd_get(store, me, words, flags):
    resource_ok(words)
    items, names = select(store, me, words, flags, need_target=False)
    out = flags.get("-o", flags.get("--output", ""))
    if out == "json":
        doc = items[0] if names else {"apiVersion": "v1", "items": items, "kind": "List",
                                      "metadata": {"resourceVersion": ""}}
        print(json.dumps(doc, indent=4, sort_keys=True))
    elif out == "name":
        for n in items:
            print("node/" + n["metadata"]["name"])
    elif not items:
        print("No resources found", file=sys.stderr)
    else:
        print("NAME   STATUS   ROLES    AGE   VERSION")
        for n in items:
            print(f"{n['metadata']['name']}   Ready    <none>   1d    v1.33.5")


def cmd_label(store, me, words, flags):
    resource_ok(words)
    changes = [w for w in words[2:] if "=" in w or w.endswith("-")]
    if not changes:
        die("error: at least one label update is required")
    sets, removes = {}, []
    for c in changes:
        if "=" in c:
            k, v = c.split("=", 1)
            if not KEY_RE.match(k) or not VALUE_RE.match(v):
                die(f'error: invalid label spec: {c}')
            sets[k] = v
        else:
            removes.append(c[:-1])
    items, _ = select(store, me, words, flags)
    dry = flags.get("--dry-run", "none")
    for node in items:
        name = node["metadata"]["name"]
        if me is not None:
            if name != me:  # NodeRestriction
                die(f'Error from server (Forbidden): nodes "{name}" is forbidden: node "{me}" is not allowed to modify node "{name}"')
            bad = sorted(k for k in list(sets) + removes if re.match(r"^([^/]*\.)?(kubernetes\.io|k8s\.io)/", k)
                         and k not in KUBELET_LABELS)
            if bad:
                die(f'Error from server (Forbidden): nodes "{name}" is forbidden: is not allowed to modify labels: {", ".join(bad)}')
        labels = dict(node["metadata"].get("labels", {}))
        for k, v in sets.items():
            if k in labels and labels[k] != v and "--overwrite" not in flags:
                die(f"error: '{k}' already has a value ({labels[k]}), and --overwrite is false")
        new = {**labels, **sets}
        for k in removes:
            if k not in new:
                print(f'label "{k}" not found.')
            new.pop(k, None)
        suffix = {"server": " (server dry run)", "client": " (dry run)"}.get(dry, "")
        if new == labels:
            print(f"node/{name} not labeled{suffix}")
            continue
        if dry in ("none", "false"):
            node["metadata"]["labels"] = new
        print(f"node/{name} labeled{suffix}")
    store.save()


def cmd_delete(store, me, words, flags):
    resource_ok(words)
    if me is not None:
        die(f'Error from server (Forbidden): nodes is forbidden: User "system:node:{me}" cannot delete resource "nodes" (TEST DOUBLE)')
    names = words[2:3]
    if names and store.node(names[0]) is None:
        if "--ignore-not-found" in flags:
            return
        die(f'Error from server (NotFound): nodes "{names[0]}" not found')
    items, _ = select(store, me, words, flags)
    gone = {n["metadata"]["name"] for n in items}
    store.data["items"] = [n for n in store.data["items"] if n["metadata"]["name"] not in gone]
    store.save()
    for name in sorted(gone):
        print(f'node "{name}" deleted')


def cmd_node_op(store, me, words, flags, verb):
    """drain / cordon / uncordon: accept nodes by name or selector; only reports."""
    if me is not None:
        die(f'Error from server (Forbidden): User "system:node:{me}" cannot {verb} nodes (TEST DOUBLE)')
    rest = ["node"] + words[1:]
    items, _ = select(store, me, [verb] + rest, flags, need_target=False)
    for n in items:
        print(f"node/{n['metadata']['name']} {verb}ed" if verb != "drain" else f"node/{n['metadata']['name']} drained")


def cmd_register(store, words):
    """Not kubectl: stands in for a kubelet registering its Node (called by the join doubles)."""
    name, labels = words[1], words[2] if len(words) > 2 else ""
    if store.node(name) is None:
        own = dict(p.split("=", 1) for p in labels.split(",") if "=" in p)
        own.update({"kubernetes.io/hostname": os.uname().nodename, "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64"})
        store.data["items"].append({"apiVersion": "v1", "kind": "Node",
                                    "metadata": {"name": name, "labels": own}})
        store.save()


def main():
    argv = sys.argv[1:]
    words, flags = parse(argv)
    verb = words[0] if words else ""
    if verb == "aif-test-double-register":
        cmd_register(Store(), words)
        return
    if verb not in READ_ONLY:
        log(argv)
    if verb == "version" or "--version" in flags:
        print("Client Version: v1.33.5 (TEST DOUBLE)")
        return
    me = caller(flags.get("--kubeconfig", os.environ.get("KUBECONFIG", "")))
    if verb == "auth" and words[1:2] == ["whoami"]:
        user = f"system:node:{me}" if me else "kubernetes-admin"
        groups = ["system:nodes", "system:authenticated"] if me else ["kubeadm:cluster-admins", "system:authenticated"]
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                  "metadata": {"creationTimestamp": None},
                  "status": {"userInfo": {"username": user, "groups": groups}}}
        if flags.get("-o", flags.get("--output")) == "json":
            print(json.dumps(review, indent=4))
        else:
            print(f"ATTRIBUTE   VALUE\nUsername    {user}\nGroups      [{' '.join(groups)}]")
        return
    store = Store()
    if verb == "get":
        cmd_get(store, me, words, flags)
    elif verb == "label":
        cmd_label(store, me, words, flags)
    elif verb == "delete":
        cmd_delete(store, me, words, flags)
    elif verb in ("drain", "cordon", "uncordon"):
        cmd_node_op(store, me, words, flags, verb)
    # Anything else: recorded above and reported as done.


main()
'''

NODEADM = NODEADM.replace("@KUBECTL@", KUBECTL)


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
