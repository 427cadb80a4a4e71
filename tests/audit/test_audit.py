"""`factory audit STACK` against moto (in-process `mock_aws`): issue 8 acceptance."""

from __future__ import annotations

import json
import os
import socket

import boto3

from policies.rules import RULES_BY_ID

ACCOUNT = "123456789012"


def _findings(out: str) -> set[tuple[str, str]]:
    return {(f["policy"], f["resource"]) for f in json.loads(out)["findings"]}


def test_a_compliant_account_exits_0(cli, compliant) -> None:
    result = cli("audit", "prod-eu", "--format", "json")
    assert result.code == 0, result.err + result.out
    report = json.loads(result.out)
    assert report["findings"] == []
    assert report["account"] == ACCOUNT and report["region"] == "eu-central-1"
    assert report["checked"] == {"resources": 6, "buckets": 2, "keys": 1, "clusters": 1}
    assert "environment=prod-eu" in report["scope"] and "untagged resources are not in scope" in report["scope"]


def test_planted_violations_are_each_reported_once_with_their_rule_id(cli, compliant) -> None:
    plain = compliant.bucket("prod-eu-plain", sse=False)  # unencrypted
    east_key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]  # untagged: out of scope
    stray = compliant.bucket("prod-eu-stray", region="us-east-1", key_arn=east_key)  # outside residency
    topic = boto3.client("sns", region_name="eu-central-1").create_topic(
        Name="prod-eu-alerts", Tags=[{"Key": "environment", "Value": "prod-eu"}]
    )["TopicArn"]  # required tags missing
    budgets = boto3.client("budgets", region_name="us-east-1")
    budgets.delete_budget(AccountId=ACCOUNT, BudgetName="prod-eu-budget")
    compliant.budget(thresholds=[("ACTUAL", 50), ("ACTUAL", 100)])  # 75, 90 and forecast 100 missing

    result = cli("audit", "prod-eu", "--format", "json")
    assert result.code == 1, result.err
    report = json.loads(result.out)
    budget_arn = f"arn:aws:budgets::{ACCOUNT}:budget/prod-eu-budget"
    assert sorted((f["policy"], f["resource"]) for f in report["findings"]) == sorted(
        [("AIF-ENC-001", plain), ("AIF-RES-001", stray), ("AIF-TAG-001", topic), ("AIF-BUD-003", budget_arn)]
    )
    by_id = {f["policy"]: f for f in report["findings"]}
    for rule_id, f in by_id.items():  # name and remediation come from the registry, not a copy
        rule = RULES_BY_ID[rule_id]
        assert (f["name"], f["remediation"], f["enforcement"]) == (rule.name, rule.remediation, "mandatory")
    assert by_id["AIF-RES-001"]["region"] == "us-east-1"
    assert "ACTUAL 75%" in by_id["AIF-BUD-003"]["message"] and "FORECASTED 100%" in by_id["AIF-BUD-003"]["message"]
    assert "cost-center" in by_id["AIF-TAG-001"]["message"]


def test_more_drift_public_access_tls_rotation_gpu_cap_missing_budget(cli, compliant) -> None:
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.delete_public_access_block(Bucket="prod-eu-models")
    s3.delete_bucket_policy(Bucket="prod-eu-logs")
    boto3.client("kms", region_name="eu-central-1").disable_key_rotation(KeyId=compliant.key_arn)
    eks = boto3.client("eks", region_name="eu-central-1")
    eks.update_nodegroup_config(
        clusterName="prod-eu-burst",
        nodegroupName="prod-eu-gpu-g6e-spot",
        scalingConfig={"minSize": 0, "maxSize": 5, "desiredSize": 0},
    )  # 5x4 + 1x8 = 28 > 24
    boto3.client("budgets", region_name="us-east-1").delete_budget(AccountId=ACCOUNT, BudgetName="prod-eu-budget")

    result = cli("audit", "prod-eu", "--format", "json")
    assert result.code == 1
    assert _findings(result.out) == {
        ("AIF-SEC-001", compliant.arns["prod-eu-models"]),
        ("AIF-ENC-002", compliant.arns["prod-eu-logs"]),
        ("AIF-ENC-007", compliant.key_arn),
        ("AIF-BUD-002", compliant.arns["cluster"]),
        ("AIF-BUD-003", f"arn:aws:budgets::{ACCOUNT}:budget/prod-eu-budget"),
    }
    messages = {f["policy"]: f["message"] for f in json.loads(result.out)["findings"]}
    assert messages["AIF-BUD-002"] == "GPU node groups can reach 28 GPUs, above cloud.eks.burst.maxGpus 24"
    assert messages["AIF-BUD-003"] == "budget prod-eu-budget does not exist"


def test_advisory_findings_alone_exit_0(cli, empty_account) -> None:
    """dev: AIF-BUD-003 is advisory in the dev tier, so a missing budget does not fail the audit."""
    result = cli("audit", "dev")
    assert result.code == 0, result.err
    assert "[advisory] AIF-BUD-003 aws-budget-alerts" in result.out
    assert result.out.rstrip().endswith("0 mandatory, 1 advisory finding(s)")


def test_text_and_markdown_name_the_scope_and_never_print_secrets(cli, compliant) -> None:
    compliant.bucket("prod-eu-plain", sse=False)
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]  # the fixture's recognisable fake secret
    text = cli("audit", "prod-eu")
    assert text.code == 1
    assert text.out.splitlines()[1].startswith("scope: resources tagged environment=prod-eu in ")
    assert "[mandatory] AIF-ENC-001 s3-sse-kms-customer-key: arn:aws:s3:::prod-eu-plain (eu-central-1)" in text.out
    markdown = cli("audit", "prod-eu", "--format", "markdown")
    assert markdown.code == 1
    assert markdown.out.startswith("## Audit of `prod-eu`")
    assert "| AIF-ENC-001 `s3-sse-kms-customer-key` | mandatory | `arn:aws:s3:::prod-eu-plain` |" in markdown.out
    for out in (text, markdown):
        assert secret not in out.out + out.err and "AKIAAUDITTEST" not in out.out + out.err


def test_aws_unreachable_exits_3_with_one_line(cli, aws_env, monkeypatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("FACTORY_AWS_MAX_ATTEMPTS", "1")
    result = cli("audit", "prod-eu")
    assert result.code == 3
    assert result.out == ""
    assert result.err.splitlines() == [
        f"factory: AWS unreachable at http://127.0.0.1:{port}: EndpointConnectionError during sts:GetCallerIdentity"
    ]


def test_bad_stack_exits_2(cli) -> None:
    result = cli("audit", "nosuch")
    assert result.code == 2
    assert len(result.err.splitlines()) == 1


def test_every_audit_rule_id_is_in_the_registry() -> None:
    from components.tooling.audit_checks import RULE_IDS

    assert [r for r in RULE_IDS if r not in RULES_BY_ID] == []


def test_failures_become_one_line_without_secrets(monkeypatch) -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    from components.tooling.audit_aws import as_failure

    monkeypatch.setenv("FACTORY_AWS_MAX_ATTEMPTS", "3")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    throttled = ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"RetryAttempts": 2},
        },
        "GetResources",
    )
    denied = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "User arn:... is not authorized"}}, "GetBucketPolicy"
    )
    assert str(as_failure(throttled, "tag:GetResources in eu-central-1")) == (
        "AWS throttled tag:GetResources in eu-central-1 after 3 attempts (ThrottlingException)"
    )
    assert str(as_failure(denied, "s3:GetBucketPolicy b")) == "AWS refused s3:GetBucketPolicy b: AccessDenied"
    assert str(as_failure(NoCredentialsError(), "sts:GetCallerIdentity")) == (
        "AWS unreachable: no usable AWS credentials (sts:GetCallerIdentity)"
    )
    assert "\n" not in str(as_failure(EndpointConnectionError(endpoint_url="https://x"), "sts:GetCallerIdentity"))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: object):
        yield self.body


def _throttle_first(monkeypatch, event: str, times: int) -> list[str]:
    """Answer the first `times` requests of `event` with a Throttling error (ahead of moto)."""
    from botocore.awsrequest import AWSResponse

    from components.tooling.audit_aws import Aws

    calls: list[str] = []
    body = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"

    def throttle(request, **_: object):
        calls.append(request.url)
        return AWSResponse(request.url, 400, {}, _Raw(body)) if len(calls) <= times else None

    original = Aws.client

    def client(self, service: str, region: str | None = None):
        c = original(self, service, region)
        if not getattr(c, "_throttle_hooked", False):
            c.meta.events.register_first(event, throttle)
            c._throttle_hooked = True
        return c

    monkeypatch.setattr(Aws, "client", client)
    return calls


def test_throttling_is_survived_with_bounded_retries(cli, compliant, monkeypatch) -> None:
    monkeypatch.setenv("FACTORY_AWS_MAX_ATTEMPTS", "2")  # botocore: 2 retries after the first try
    calls = _throttle_first(monkeypatch, "before-send.sts.GetCallerIdentity", times=2)
    result = cli("audit", "prod-eu", "--format", "json")
    assert result.code == 0, result.err
    assert len(calls) == 3  # two throttled, the third answered by moto


def test_throttling_beyond_the_retries_exits_3_with_one_line(cli, compliant, monkeypatch) -> None:
    monkeypatch.setenv("FACTORY_AWS_MAX_ATTEMPTS", "2")
    calls = _throttle_first(monkeypatch, "before-send.sts.GetCallerIdentity", times=99)
    result = cli("audit", "prod-eu")
    assert result.code == 3 and result.out == ""
    assert result.err.splitlines() == ["factory: AWS throttled sts:GetCallerIdentity after 3 attempts (Throttling)"]
    assert len(calls) == 3
