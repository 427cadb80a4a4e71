#!/usr/bin/env python3
"""Idempotent rerun wall time of site.yml for 1/3/10 hosts vs a one-task play.

Builds the same disposable hosts as the tests (tests/ansible/hosts.py: debootstrap rootfs,
overlayfs, systemd-nspawn in network namespaces, real SSH), converges them once with site.yml,
then times, for each fleet size N:

* ``site.yml`` rerun (nothing left to change; all N hosts in one batch so forks run them in
  parallel), and
* a one-task play (``ansible.builtin.ping``) over the same N hosts — the floor set by Ansible's
  start-up and SSH round trips.

Needs root. Usage: ``sudo .venv/bin/python benchmarks/ansible_rerun.py [--sizes 1,3,10] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ansible"))

import hosts

SKIP = ("--skip-tags", "gpu_hardware,host_kernel")

PING_PLAY = """---
- name: One-task baseline
  hosts: gpu_servers
  gather_facts: false
  become: true
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""


def timed(factory, playbook: str, inventory: Path, *args: str) -> hosts.PlaybookResult:
    result = hosts.run_playbook(factory, playbook, inventory, *args)
    if result.rc != 0:
        raise SystemExit(f"{playbook} failed (rc {result.rc}):\n{result.stdout[-3000:]}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,10", help="comma-separated fleet sizes (max 10)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per measurement (median)")
    opts = parser.parse_args()
    sizes = sorted({int(s) for s in opts.sizes.split(",")})
    if sizes[-1] > 10:
        parser.error("at most 10 hosts")

    t0 = time.monotonic()
    factory = hosts.HostFactory(hosts.build_rootfs(), hosts.build_mirror())
    try:
        fleet = [factory.create(f"bench-{i:02d}") for i in range(sizes[-1])]
        secrets = hosts.write_secrets(factory.workdir / "secrets.yml")
        ping = factory.workdir / "ping.yml"
        ping.write_text(PING_PLAY)
        print(f"{len(fleet)} hosts up in {time.monotonic() - t0:.0f}s", flush=True)

        inv_all = hosts.write_inventory(factory, fleet, factory.workdir / "inv-all.yml")
        first = timed(
            factory, "site.yml", inv_all, "-e", f"@{secrets}", *SKIP, "-e", f"aif_rollout_batch_size={len(fleet)}"
        )
        print(f"first converge of {len(fleet)} hosts: {first.seconds:.0f}s", flush=True)

        rows = []
        for n in sizes:
            inv = hosts.write_inventory(factory, fleet[:n], factory.workdir / f"inv-{n}.yml")
            site_s, ping_s, changed = [], [], 0
            for _ in range(opts.repeat):
                r = timed(factory, "site.yml", inv, "-e", f"@{secrets}", *SKIP, "-e", f"aif_rollout_batch_size={n}")
                site_s.append(r.seconds)
                changed += sum(h["changed"] for h in r.recap.values())
                # The ping play lives outside ansible/playbooks; run_playbook takes a name
                # relative to that directory, so pass the absolute path.
                p = hosts.run_playbook(factory, str(ping), inv)
                if p.rc != 0:
                    raise SystemExit(p.stdout[-2000:])
                ping_s.append(p.seconds)
            tasks = max((h["ok"] + h["skipped"]) for h in r.recap.values())
            rows.append((n, statistics.median(site_s), statistics.median(ping_s), changed, tasks))

        print()
        print("| hosts | site.yml rerun (s) | ping play (s) | ratio | changed | tasks/host |")
        print("|------:|-------------------:|--------------:|------:|--------:|-----------:|")
        for n, site, pg, changed, tasks in rows:
            print(f"| {n:5d} | {site:18.1f} | {pg:13.1f} | {site / pg:5.1f} | {changed:7d} | {tasks:10d} |")
        print(
            f"\ntotal benchmark time {time.monotonic() - t0:.0f}s "
            "(idempotent reruns; --skip-tags gpu_hardware,host_kernel; forks=10)"
        )
    finally:
        factory.destroy_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
