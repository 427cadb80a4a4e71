"""What the alert rules, recording rules and KEDA keepalive queries *do*, run by Prometheus's own
engine (`promtool test rules`) on synthetic series: each case fires, or stays silent, when it should.

Times in promtool tests start at 0, so `kube_pod_created` 0 means "created when the test began".
"""

from __future__ import annotations

import math

import pytest
from support import sections

from components import conventions as c
from components.config.loader import parse_sections
from components.k8s.alerts import alert_groups
from components.k8s.cost_rules import NODE_COST, burn_threshold_usd, node_prices
from components.k8s.serving import STARTUP_MINUTES, starting_query, traffic_query

HOURS_PER_MONTH = 730


@pytest.fixture(scope="module")
def prod():
    return parse_sections(sections("prod-eu"))


def _rules(cfg) -> dict:
    """The stack's rule groups, annotations left out: these tests are about when rules fire (promtool
    compares annotations exactly; their templates are checked in test_observability.py)."""
    groups = alert_groups(cfg)
    return {
        "groups": [
            {**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]} for g in groups
        ]
    }


def _check(promtool, cfg, tests: list[dict]) -> None:
    out = promtool(_rules(cfg), {"evaluation_interval": "1m", "tests": tests})
    assert out.returncode == 0, out.stdout + out.stderr


def _firing(name: str, at: str, labels: dict | None = None) -> dict:
    alerts = [] if labels is None else [{"exp_labels": labels}]
    return {"eval_time": at, "alertname": name, "exp_alerts": alerts}


def _node(name: str, location: str, pool: str | None) -> str:
    pool_label = f',label_ai_factory_io_pool="{pool}"' if pool else ""
    return f'kube_node_labels{{node="{name}",label_ai_factory_io_location="{location}"{pool_label}}}'


def test_budget_burn_fires_only_above_the_pause_threshold(promtool, prod) -> None:
    p5_spot = next(p for p in node_prices(prod) if p.pool == "gpu-p5-spot")
    threshold = burn_threshold_usd(prod)
    needed = math.ceil(threshold / (p5_spot.usd_per_hour * HOURS_PER_MONTH))
    many = [{"series": _node(f"p5-{i}", c.LOCATION_CLOUD, p5_spot.pool), "values": "1x600"} for i in range(needed)]
    few = many[: needed - 1]
    site = [{"series": _node(f"site-{i}", c.LOCATION_ON_PREM, None), "values": "1x600"} for i in range(4)]
    fired = {
        "severity": "warning",
    }
    _check(
        promtool,
        prod,
        [
            # Enough p5 spot nodes for 8 hours: the 6-hour average is above the threshold, then `for: 1h`.
            {
                "interval": "1m",
                "input_series": many + site,
                "alert_rule_test": [_firing("BudgetBurnHigh", "8h", fired)],
            },
            # One node fewer (and the site's fixed servers, which never count): silent.
            {"interval": "1m", "input_series": few + site, "alert_rule_test": [_firing("BudgetBurnHigh", "8h")]},
        ],
    )


def test_every_node_gets_its_price(promtool, prod) -> None:
    prices = {(p.location, p.pool): p.usd_per_hour for p in node_prices(prod)}
    series = [
        {"series": _node("site-0", c.LOCATION_ON_PREM, None), "values": "1x10"},
        {"series": _node("sys-0", c.LOCATION_CLOUD, c.POOL_SYSTEM), "values": "1x10"},
        {"series": _node("g6e-0", c.LOCATION_CLOUD, "gpu-g6e-floor"), "values": "1x10"},
    ]
    expected = [
        ("site-0", {"location": c.LOCATION_ON_PREM}, prices[(c.LOCATION_ON_PREM, None)]),
        ("sys-0", {"location": c.LOCATION_CLOUD, "pool": c.POOL_SYSTEM}, prices[(c.LOCATION_CLOUD, c.POOL_SYSTEM)]),
        ("g6e-0", {"location": c.LOCATION_CLOUD, "pool": "gpu-g6e-floor"}, prices[(c.LOCATION_CLOUD, "gpu-g6e-floor")]),
    ]
    samples = [
        {
            "labels": f"{NODE_COST}{{{','.join(f'{k}={v!r}'.replace(chr(39), chr(34)) for k, v in {'node': n, **labels}.items())}}}",
            "value": round(v, 6),
        }
        for n, labels, v in expected
    ]
    _check(
        promtool,
        prod,
        [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [{"expr": NODE_COST, "eval_time": "5m", "exp_samples": samples}],
            }
        ],
    )


GPU = {"Hostname": "gpu-1", "gpu": "3"}


def _gpu_series(metric: str, values: str) -> dict:
    return {"series": f'{metric}{{Hostname="gpu-1",gpu="3"}}', "values": values}


def test_ecc_remap_pages_once_not_forever(promtool, prod) -> None:
    # The counter steps from 0 to 1 at minute 30 and stays there (a lifetime counter).
    series = [_gpu_series("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "0x29 1x300")]
    _check(
        promtool,
        prod,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    _firing("GpuUncorrectableEccRemapped", "40m", {"severity": "warning", **GPU}),
                    _firing("GpuUncorrectableEccRemapped", "3h"),
                ],
            }
        ],
    )


def test_xid_pages_on_a_new_error_not_while_the_last_one_is_remembered(promtool, prod) -> None:
    series = [_gpu_series("DCGM_FI_DEV_XID_ERRORS", "0x29 79x300")]
    _check(
        promtool,
        prod,
        [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    _firing("GpuXidError", "35m", {"severity": "critical", **GPU}),
                    _firing("GpuXidError", "2h"),
                ],
            }
        ],
    )


def _waiting(pod: str, value: int) -> dict:
    return {
        "series": f'vllm:num_requests_waiting{{namespace="aif-serving",model_name="llama-31-8b",pod="{pod}"}}',
        "values": f"{value}x60",
    }


def test_queue_depth_pages_per_replica_not_for_a_scaled_out_model(promtool, prod) -> None:
    limit = prod.observability.queue_depth_alert
    scaled_out = [_waiting(f"p{i}", limit // 2) for i in range(5)]  # 2.5x the limit in total, fine per replica
    stuck = [_waiting(f"p{i}", limit + 5) for i in range(2)]
    labels = {"severity": "warning", "namespace": "aif-serving", "model_name": "llama-31-8b"}
    _check(
        promtool,
        prod,
        [
            {"interval": "1m", "input_series": scaled_out, "alert_rule_test": [_firing("VllmQueueDepthHigh", "30m")]},
            {
                "interval": "1m",
                "input_series": stuck,
                "alert_rule_test": [_firing("VllmQueueDepthHigh", "30m", labels)],
            },
        ],
    )


def _pod(phase_or_ready: str, pod: str, value_series: str) -> dict:
    sel = f'namespace="aif-serving",pod="{pod}"'
    if phase_or_ready == "pending":
        return {"series": f'kube_pod_status_phase{{{sel},phase="Pending"}}', "values": value_series}
    return {"series": f'kube_pod_status_ready{{{sel},condition="false"}}', "values": value_series}


def _created(pod: str, at_seconds: int) -> dict:
    return {"series": f'kube_pod_created{{namespace="aif-serving",pod="{pod}"}}', "values": f"{at_seconds}x300"}


def test_keepalive_holds_a_starting_pod_but_not_a_broken_one(promtool, prod) -> None:
    bge = next(m for m in prod.serving.models if m.name == "bge-m3")
    query = starting_query(bge)
    pod = "vllm-bge-m3-6d5f7b9c8-x2x9q"
    candidate = "vllm-bge-m3-candidate-7f9d8c6b5-k8s7d"
    window = STARTUP_MINUTES
    cases = [
        # Pending (waiting for a GPU node) since the start: held for the startup window, then let go.
        ([_pod("pending", pod, "1x300"), _created(pod, 0)], "10m", 1),
        ([_pod("pending", pod, "1x300"), _created(pod, 0)], f"{window + 10}m", 0),
        # Scheduled, loading weights (not ready): held.
        ([_pod("ready", pod, "1x300"), _created(pod, 0)], "20m", 1),
        # Another Deployment's pod whose name starts alike: not this model's.
        ([_pod("pending", candidate, "1x300"), _created(candidate, 0)], "10m", 0),
    ]
    tests = [
        {
            "interval": "1m",
            "input_series": series,
            "promql_expr_test": [{"expr": query, "eval_time": at, "exp_samples": [{"labels": "{}", "value": want}]}],
        }
        for series, at, want in cases
    ]
    _check(promtool, prod, tests)


def test_traffic_through_a_class_alias_wakes_the_model(promtool, prod) -> None:
    bge = next(m for m in prod.serving.models if m.name == "bge-m3")
    query = traffic_query(prod, bge)
    counter = "litellm_proxy_total_requests_metric_total"

    def calls(name: str) -> dict:
        return {"series": f'{counter}{{requested_model="{name}"}}', "values": "0+10x60"}

    cases = [(calls("auto-embed-restricted"), 1), (calls("bge-m3"), 1), (calls("llama-31-8b"), 0)]
    tests = [
        {
            "interval": "1m",
            "input_series": [series],
            "promql_expr_test": [{"expr": query, "eval_time": "10m", "exp_samples": [{"labels": "{}", "value": want}]}],
        }
        for series, want in cases
    ]
    _check(promtool, prod, tests)


def test_promtool_reports_a_wrong_expectation(promtool, prod) -> None:
    """Control: the harness fails when an alert that does not fire is expected to."""
    out = promtool(
        _rules(prod),
        {
            "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": [], "alert_rule_test": [_firing("GpuXidError", "5m", GPU)]}],
        },
    )
    assert out.returncode != 0
