"""--check --diff on a fresh host completes without failure and changes nothing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.ansible


def test_check_mode_on_a_fresh_host(harness):
    host = harness.factory.create("fresh-01")
    try:
        inventory = harness.inventory("fresh", [host])
        before = sorted(p.name for p in (host.root / "etc/apt/sources.list.d").iterdir())
        run = harness.run("site.yml", inventory, "--check", "--diff")
        assert run.rc == 0, run.stdout[-4000:]
        assert run.host("fresh-01")["failed"] == 0
        assert run.host("fresh-01")["changed"] > 0  # it reports what it would do...
        # ...without doing it.
        assert sorted(p.name for p in (host.root / "etc/apt/sources.list.d").iterdir()) == before
        assert not (host.root / "etc/sysctl.d/90-ai-factory.conf").exists()
        assert not (host.root / "etc/nodeadm").exists()
        status = harness.ssh(host, "dpkg-query -W -f '${db:Status-Abbrev}' chrony", check=False).stdout
        assert not status.startswith("ii"), "check mode installed a package"
    finally:
        harness.factory.destroy(host)
