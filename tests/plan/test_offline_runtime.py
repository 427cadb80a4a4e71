"""The offline plan's replacements of two SDK internals (mock_runtime._offline_runtime) keep the
SDK's behaviour: the same reachability answers, cycles still fail, and everything is restored."""

from __future__ import annotations

import random
import threading

import pulumi
import pytest
from pulumi.runtime import resource_cycle_breaker

from components.tooling.mock_runtime import reachable, run_under_mocks


class Node:
    """Stands in for a Resource: the cycle breaker only reads `_direct_computed_dependencies`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._direct_computed_dependencies: set[Node] = set()

    def __repr__(self) -> str:
        return self.name


def _graph(seed: int, size: int = 60) -> list[Node]:
    rng = random.Random(seed)
    nodes = [Node(f"n{i}") for i in range(size)]
    for i, node in enumerate(nodes):
        # Mostly a DAG (edges to earlier nodes), with a few back edges so cycles exist too.
        for j in rng.sample(range(size), k=rng.randint(0, 4)):
            if j < i or rng.random() < 0.05:
                node._direct_computed_dependencies.add(nodes[j])
    return nodes


@pytest.mark.parametrize("seed", range(8))
def test_reachable_answers_exactly_as_the_sdk(seed: int) -> None:
    nodes = _graph(seed)
    sdk = resource_cycle_breaker._reachable
    pairs = [(a, b) for a in nodes for b in nodes]
    assert [reachable(a, b) for a, b in pairs] == [sdk(a, b) for a, b in pairs]
    assert any(reachable(a, b) for a, b in pairs) and not all(reachable(a, b) for a, b in pairs)


def test_a_dependency_cycle_still_fails_the_offline_run() -> None:
    def program() -> None:
        comp = pulumi.ComponentResource("test:index:Comp", "comp")
        # A child that depends on its own parent component: the component's children include it.
        pulumi.CustomResource("test:index:Res", "res", {}, pulumi.ResourceOptions(parent=comp, depends_on=[comp]))

    # Run in a daemon thread: an undetected cycle deadlocks the run instead of failing it.
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            run_under_mocks(program, stack="cycle", config={}, secret_keys=[], account_id="0" * 12, region=None)
            outcome.append(None)
        except BaseException as exc:  # the test inspects whatever the run raised
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert outcome, "the run hung: the dependency cycle was not detected"
    assert outcome[0] is not None and "circular dependency" in str(outcome[0])


def test_sdk_internals_are_restored_after_the_run() -> None:
    from pulumi.runtime import resource as runtime_resource

    trace, reach = runtime_resource._get_stack_trace, resource_cycle_breaker._reachable

    def program() -> None:
        pulumi.CustomResource("test:index:Res", "res", {})

    run_under_mocks(program, stack="restore", config={}, secret_keys=[], account_id="0" * 12, region=None)
    assert (runtime_resource._get_stack_trace, resource_cycle_breaker._reachable) == (trace, reach)
    assert reach is not reachable
