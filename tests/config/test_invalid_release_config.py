"""Invalid release records and canaries in the catalog: one exact line per problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from support import sections

from components.config import ConfigError, parse_sections

Mutation = Callable[[dict[str, Any]], object]
QWEN = 2  # serving.models[2] of prod-eu: the model with a candidate


def _qwen(s: dict[str, Any]) -> dict[str, Any]:
    return s["serving"]["models"][QWEN]


def _twin(s: dict[str, Any]) -> None:
    twin = copy.deepcopy(_qwen(s))
    twin.pop("candidate")
    twin["name"] = "qwen25-7b-candidate"
    s["serving"]["models"].append(twin)


def _long_name(s: dict[str, Any]) -> None:
    _qwen(s)["name"] = "qwen25-7b-instruct-long-name-x"  # 30 chars: fine alone, 40 with -candidate
    _qwen(s)["name"] += "y"


CASES: list[tuple[str, Mutation, list[str]]] = [
    (
        "threshold-without-bound",
        lambda s: _qwen(s)["evaluation"]["thresholds"].update(accuracy={}),
        [
            "ai-factory:serving.models[2].evaluation.thresholds.accuracy: a threshold needs min or max "
            "(allowed: {min: x}, {max: y} or both)"
        ],
    ),
    (
        "traffic-share-too-high",
        lambda s: _qwen(s)["candidate"].update(trafficPercent=80),
        ["ai-factory:serving.models[2].candidate.trafficPercent: 80 is out of range (allowed: <= 50)"],
    ),
    (
        "evaluation-date-not-a-date",
        lambda s: _qwen(s)["evaluation"].update(date="last week"),
        ["ai-factory:serving.models[2].evaluation.date: 'last week' is not a date (allowed: YYYY-MM-DD)"],
    ),
    (
        "evaluation-result-unknown",
        lambda s: _qwen(s)["evaluation"].update(result="ok"),
        ["ai-factory:serving.models[2].evaluation.result: 'ok' is not allowed (allowed: pass, fail)"],
    ),
    (
        "candidate-name-taken",
        _twin,
        [
            "ai-factory:serving.models[2].candidate: another model is already named 'qwen25-7b-candidate' (allowed: rename that model)"
        ],
    ),
    (
        "candidate-name-too-long",
        _long_name,
        [
            "ai-factory:serving.models[2].name: with a candidate the name may have at most 30 characters "
            "(allowed: a shorter name than 'qwen25-7b-instruct-long-name-xy')"
        ],
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_release_config_reports_exact_problems(mutate: Mutation, expected: list[str]) -> None:
    s = sections("prod-eu")
    mutate(s)
    with pytest.raises(ConfigError) as err:
        parse_sections(s)
    assert [str(p) for p in err.value.problems] == expected
