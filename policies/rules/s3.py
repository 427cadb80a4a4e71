"""S3 rules that span a bucket and its separate configuration resources (stack rules).

pulumi-aws v7 configures a bucket through sibling resources (`BucketServerSideEncryptionConfiguration`,
`BucketPolicy`, `BucketPublicAccessBlock`), so "is this bucket encrypted" needs the whole stack.
A configuration belongs to a bucket when its `bucket` input references it (see helpers.refers_to).

AIF-ENC-001 SSE-KMS with a customer key · AIF-ENC-002 TLS-only policy · AIF-SEC-001 four public-access blocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policies.rules.base import Finding, ResourceView, Rule, is_unknown
from policies.rules.helpers import as_list, everywhere, no_facts, of_type, policy_document, refers_to, statements

BUCKET = "aws:s3/bucket:Bucket"
SSE_CONFIG = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _sse_rules(props: Mapping[str, Any]) -> Any:
    """The `rules` list of an SSE configuration (separate resource or the bucket's legacy inline block)."""
    rules = props.get("rules")
    if rules is None and isinstance(props.get("serverSideEncryptionConfiguration"), Mapping):
        inline = props["serverSideEncryptionConfiguration"]
        rules = inline.get("rules", [inline["rule"]] if "rule" in inline else None)
    return rules


def sse_problem(props: Mapping[str, Any]) -> str | None:
    """Why this SSE configuration is not SSE-KMS with a customer key, or None when it is.

    A key ARN computed from another resource (unknown at preview) is a customer key: AWS
    managed keys are only ever referenced by a literal alias (alias/aws/s3) or left out.
    """
    rules = _sse_rules(props)
    if is_unknown(rules):
        return "encryption rules are unknown at preview"
    if not isinstance(rules, list) or not rules:
        return "no default encryption rule"
    for rule in rules:
        default = rule.get("applyServerSideEncryptionByDefault") if isinstance(rule, Mapping) else None
        if not isinstance(default, Mapping):
            return "a rule has no applyServerSideEncryptionByDefault"
        algorithm, key = default.get("sseAlgorithm"), default.get("kmsMasterKeyId")
        if is_unknown(algorithm):
            return "sseAlgorithm is unknown at preview"
        if algorithm not in KMS_ALGORITHMS:
            return f"sseAlgorithm is {algorithm!r}, not aws:kms"
        if is_unknown(key):
            continue
        if not key:
            return "no kmsMasterKeyId: the AWS managed key aws/s3 is used, not a customer key"
        if isinstance(key, str) and "alias/aws/" in key:
            return f"kmsMasterKeyId {key} is an AWS managed key, not a customer key"
    return None


def check_sse(resources: list[ResourceView], _config: Mapping[str, Any]) -> Iterator[Finding]:
    configs = of_type(resources, SSE_CONFIG)
    for bucket in of_type(resources, BUCKET):
        mine = [c for c in configs if refers_to(c, "bucket", bucket)]
        candidates = [c.props for c in mine]
        if "serverSideEncryptionConfiguration" in bucket.props:
            candidates.append(bucket.props)
        if not candidates:
            yield Finding("no server-side encryption configuration references this bucket", bucket.urn)
            continue
        problems = [p for p in (sse_problem(c) for c in candidates) if p]
        if len(problems) == len(candidates):
            yield Finding(f"bucket is not encrypted with SSE-KMS and a customer key: {problems[0]}", bucket.urn)


def denies_insecure_transport(document: Any) -> bool:
    """A Deny statement for every principal on every action when aws:SecureTransport is false."""
    for st in statements(document):
        if st.get("Effect") != "Deny":
            continue
        actions = as_list(st.get("Action"))
        if not any(a in ("s3:*", "*") for a in actions):
            continue
        condition = st.get("Condition")
        if not isinstance(condition, Mapping):
            continue
        for operator in ("Bool", "BoolIfExists"):
            block = condition.get(operator)
            if isinstance(block, Mapping) and str(block.get("aws:SecureTransport")).lower() == "false":
                return True
    return False


def check_tls(resources: list[ResourceView], _config: Mapping[str, Any]) -> Iterator[Finding]:
    policies = of_type(resources, BUCKET_POLICY)
    for bucket in of_type(resources, BUCKET):
        mine = [p for p in policies if refers_to(p, "bucket", bucket)]
        if not mine:
            yield Finding("no bucket policy references this bucket (TLS-only policy missing)", bucket.urn)
            continue
        documents = [policy_document(p.props.get("policy")) for p in mine]
        if any(is_unknown(d) for d in documents):
            yield Finding("the bucket policy is unknown at preview; TLS-only access cannot be verified", bucket.urn)
        elif not any(denies_insecure_transport(d) for d in documents):
            yield Finding("the bucket policy does not deny requests with aws:SecureTransport false", bucket.urn)


def check_public_access(resources: list[ResourceView], _config: Mapping[str, Any]) -> Iterator[Finding]:
    blocks = of_type(resources, PUBLIC_ACCESS_BLOCK)
    for bucket in of_type(resources, BUCKET):
        mine = [b for b in blocks if refers_to(b, "bucket", bucket)]
        if not mine:
            yield Finding("no public access block references this bucket", bucket.urn)
            continue
        props = mine[0].props
        off = [f for f in PUBLIC_ACCESS_FLAGS if props.get(f) is not True]
        if off:
            yield Finding(f"public access block does not set {', '.join(off)} to true", bucket.urn)


SSE_RULE = Rule(
    id="AIF-ENC-001",
    name="s3-sse-kms-customer-key",
    description="Every S3 bucket is encrypted by default with SSE-KMS under a customer-managed key.",
    why=(
        "A customer key puts decryption under the stack's key policy and CloudTrail; the AWS managed key "
        "cannot be restricted, rotated on demand or revoked."
    ),
    remediation=(
        "Create buckets through the Storage component (components/aws/storage.py), which adds a "
        "BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and the stack key."
    ),
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="stack",
    check=check_sse,
)

TLS_RULE = Rule(
    id="AIF-ENC-002",
    name="s3-tls-only-policy",
    description="Every S3 bucket has a bucket policy that denies requests not made over TLS.",
    why="Without the deny, clients may read or write model weights and datasets over plain HTTP.",
    remediation=(
        "Attach a BucketPolicy with a Deny on s3:* when aws:SecureTransport is false "
        "(components/aws/storage.py tls_only_policy)."
    ),
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="stack",
    check=check_tls,
)

PUBLIC_ACCESS_RULE = Rule(
    id="AIF-SEC-001",
    name="s3-public-access-block",
    description="Every S3 bucket has a public access block with all four settings enabled.",
    why="One public ACL or policy on a bucket of weights or datasets publishes them to the internet.",
    remediation=(
        "Add a BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and "
        "restrictPublicBuckets all true (the Storage component does)."
    ),
    enforcement=everywhere(),
    config_schema={},
    stack_facts=no_facts,
    kind="stack",
    check=check_public_access,
)

RULES = (SSE_RULE, TLS_RULE, PUBLIC_ACCESS_RULE)
