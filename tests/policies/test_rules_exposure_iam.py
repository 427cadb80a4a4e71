"""Fixture tables for SEC-002…005 and IAM-001…004: exact findings."""

from __future__ import annotations

import json

import pytest
from policy_support import run, view

from policies.rules.base import UNKNOWN

EKS = "aws:eks/cluster:Cluster"
SG = "aws:ec2/securityGroup:SecurityGroup"
SGR = "aws:ec2/securityGroupRule:SecurityGroupRule"
ING = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
INST = "aws:ec2/instance:Instance"

SEC_002 = [
    ("private", [view(EKS, "c", {"vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True}})], set()),
    (
        "allow-listed",
        [view(EKS, "c", {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]}})],
        set(),
    ),
    (
        "default-public",
        [view(EKS, "c", {"vpcConfig": {"subnetIds": ["a"]}})],
        {("c", "the API endpoint is public with no publicAccessCidrs (AWS then allows 0.0.0.0/0)")},
    ),
    (
        "open",
        [view(EKS, "c", {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}})],
        {("c", "the API endpoint is public to 0.0.0.0/0")},
    ),
]

SEC_003 = [
    (
        "admin-cidr",
        [
            view(
                SG,
                "sg",
                {"ingress": [{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["10.20.255.0/24"]}]},
            )
        ],
        set(),
    ),
    (
        "https-open",
        [
            view(
                SG,
                "sg",
                {"ingress": [{"fromPort": 443, "toPort": 443, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}]},
            )
        ],
        set(),
    ),
    (
        "ssh-open",
        [view(SG, "sg", {"ingress": [{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}]})],
        {("sg", "ingress from 0.0.0.0/0 to admin port(s) 22")},
    ),
    (
        "all-protocols-v6",
        [view(SGR, "r", {"type": "ingress", "fromPort": 0, "toPort": 0, "protocol": "-1", "ipv6CidrBlocks": ["::/0"]})],
        {("r", "ingress from ::/0 to admin port(s) 22, 3389, 6443, 10250")},
    ),
    (
        "range-kubelet",
        [view(ING, "i", {"fromPort": 10000, "toPort": 11000, "ipProtocol": "tcp", "cidrIpv4": "0.0.0.0/0"})],
        {("i", "ingress from 0.0.0.0/0 to admin port(s) 10250")},
    ),
    (
        "unknown-ports",
        [view(ING, "i", {"fromPort": UNKNOWN, "toPort": UNKNOWN, "ipProtocol": "tcp", "cidrIpv4": "0.0.0.0/0"})],
        {("i", "ingress from 0.0.0.0/0 with unknown ports at preview")},
    ),
    (
        "egress-ignored",
        [view(SGR, "r", {"type": "egress", "fromPort": 0, "toPort": 0, "protocol": "-1", "cidrBlocks": ["0.0.0.0/0"]})],
        set(),
    ),
]

SEC_004 = [
    ("required", [view(LT, "lt", {"metadataOptions": {"httpTokens": "required"}})], set()),
    (
        "optional",
        [view(LT, "lt", {"metadataOptions": {"httpTokens": "optional"}})],
        {
            (
                "lt",
                "metadataOptions.httpTokens is 'optional', not 'required' (IMDSv1 lets any SSRF read node credentials)",
            )
        },
    ),
    (
        "unset-instance",
        [view(INST, "i", {})],
        {("i", "metadataOptions.httpTokens is None, not 'required' (IMDSv1 lets any SSRF read node credentials)")},
    ),
]

SEC_005 = [
    (
        "private",
        [view(LT, "lt", {"networkInterfaces": [{"associatePublicIpAddress": "false"}], "metadataOptions": {}})],
        set(),
    ),
    (
        "lt-public",
        [view(LT, "lt", {"networkInterfaces": [{"associatePublicIpAddress": "true"}]})],
        {("lt", "networkInterfaces[0] associates a public IP")},
    ),
    (
        "instance-public",
        [view(INST, "i", {"associatePublicIpAddress": True})],
        {("i", "instance gets a public IP (associatePublicIpAddress)")},
    ),
]

POL = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
RP = "aws:iam/rolePolicy:RolePolicy"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: object, resource: object = "arn:aws:s3:::b/*", **kw: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **kw}


IAM_001 = [
    ("scoped", [view(POL, "p", {"policy": doc(allow(["s3:GetObject"]))})], set()),
    ("star", [view(POL, "p", {"policy": doc(allow("*"))})], {("p", "policy statement 0: allows wildcard action *")}),
    (
        "service-star-inline",
        [view(ROLE, "r", {"inlinePolicies": [{"name": "x", "policy": doc(allow(["s3:*", "kms:Decrypt"], Sid="S"))}]})],
        {("r", "inline policy x statement S: allows wildcard action s3:*")},
    ),
    ("deny-star-ok", [view(POL, "p", {"policy": doc({"Effect": "Deny", "Action": "*", "Resource": "*"})})], set()),
    ("unknown-skipped", [view(POL, "p", {"policy": UNKNOWN})], set()),
    ("not-json", [view(RP, "rp", {"policy": "{nope"})], {("rp", "policy: the policy document is not valid JSON")}),
    (
        "not-action",
        [view(POL, "p", {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})})],
        {("p", "policy statement 0: Allow with NotAction grants every other action")},
    ),
]

IAM_002 = [
    (
        "describe-star-ok",
        [view(POL, "p", {"policy": doc(allow(["ec2:DescribeInstances", "ecr:GetAuthorizationToken"], "*"))})],
        set(),
    ),
    ("pattern-listed", [view(POL, "p", {"policy": doc(allow("ec2:Describe*", "*"))})], set()),
    (
        "s3-star",
        [view(POL, "p", {"policy": doc(allow(["s3:GetObject", "sts:GetCallerIdentity"], "*"))})],
        {("p", 'policy statement 0: Resource "*" for s3:GetObject, which support resource-level permissions')},
    ),
    ("kms-key-policy-exempt", [view("aws:kms/key:Key", "k", {"policy": doc(allow("kms:Decrypt", "*"))})], set()),
]

IAM_003 = [
    (
        "passrole-with-condition",
        [
            view(
                POL,
                "p",
                {
                    "policy": doc(
                        allow(
                            "iam:PassRole",
                            "arn:aws:iam::1:role/x",
                            Condition={"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}},
                        )
                    )
                },
            )
        ],
        set(),
    ),
    (
        "passrole-bare",
        [view(POL, "p", {"policy": doc(allow("iam:PassRole", "arn:aws:iam::1:role/x"))})],
        {("p", "policy statement 0: allows iam:PassRole without a condition (e.g. iam:PassedToService)")},
    ),
    (
        "attach-and-wildcard-put",
        [view(POL, "p", {"policy": doc(allow(["iam:AttachRolePolicy", "iam:Put*Policy"], "*"))})],
        {
            (
                "p",
                "policy statement 0: allows privilege-escalation action(s) iam:AttachRolePolicy, iam:PutGroupPolicy, iam:PutRolePolicy, iam:PutUserPolicy",
            )
        },
    ),
]

IAM_004 = [
    (
        "service",
        [
            view(
                ROLE,
                "r",
                {
                    "assumeRolePolicy": doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "pods.eks.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    )
                },
            )
        ],
        set(),
    ),
    (
        "named-account",
        [
            view(
                ROLE,
                "r",
                {
                    "assumeRolePolicy": doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                            "Action": "sts:AssumeRole",
                        }
                    )
                },
            )
        ],
        set(),
    ),
    (
        "aws-star",
        [
            view(
                ROLE,
                "r",
                {"assumeRolePolicy": doc({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRole"})},
            )
        ],
        {("r", 'trust statement 0: trusts any AWS principal ("*")')},
    ),
    (
        "star",
        [
            view(
                ROLE,
                "r",
                {
                    "assumeRolePolicy": doc(
                        {"Sid": "Any", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
                    )
                },
            )
        ],
        {("r", 'trust statement Any: trusts any AWS principal ("*")')},
    ),
]

CASES = [
    (rule, name, resources, expected)
    for rule, table in (
        ("AIF-SEC-002", SEC_002),
        ("AIF-SEC-003", SEC_003),
        ("AIF-SEC-004", SEC_004),
        ("AIF-SEC-005", SEC_005),
        ("AIF-IAM-001", IAM_001),
        ("AIF-IAM-002", IAM_002),
        ("AIF-IAM-003", IAM_003),
        ("AIF-IAM-004", IAM_004),
    )
    for name, resources, expected in table
]


@pytest.mark.parametrize(("rule", "case", "resources", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_exact_findings(rule: str, case: str, resources: list, expected: set) -> None:
    assert run(rule, resources) == expected


def test_no_resource_level_table_has_a_source() -> None:
    from policies.rules.iam import ACTIONS_TABLE

    table = json.loads(ACTIONS_TABLE.read_text())
    assert "service-authorization" in table["source"] and table["date"]
    assert "sts:GetCallerIdentity" in table["actions"]
