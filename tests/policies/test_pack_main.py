"""`policies/__main__.py` loads and serves the way the Pulumi CLI runs it.

The CLI starts the pack as a plain script (`python policies/__main__.py`, cwd = the pack),
reads the gRPC port from its first stdout line and talks to it. PolicyPack serves forever,
so the test starts it with a timeout, asks it over gRPC for its policies (GetAnalyzerInfo,
what the CLI asks first) and stops it.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2_grpc
from support import REPO

from policies.rules import RULES

STARTUP_TIMEOUT_S = 60


def test_pack_main_serves_every_rule() -> None:
    proc = subprocess.Popen(
        [sys.executable, "__main__.py"],
        cwd=REPO / "policies",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], STARTUP_TIMEOUT_S)
        assert ready, "the pack printed no port within the timeout"
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"expected a port, got {port!r}; stderr: {proc.stderr.read() if proc.poll() else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        info = analyzer_pb2_grpc.AnalyzerStub(channel).GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == "ai-factory"
        assert [p.name for p in info.policies] == [r.name for r in RULES]
        for policy, rule in zip(info.policies, RULES, strict=True):
            assert policy.description.startswith(f"[{rule.id}]")
            assert set(policy.configSchema.required) == set(rule.config_schema)
        # Still serving (no crash after registration) a moment later.
        time.sleep(1)
        assert proc.poll() is None
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
