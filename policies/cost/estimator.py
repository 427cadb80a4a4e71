"""Monthly cost estimate of a plan.

The foundation prices nothing yet: every resource a bill could come from is listed as
unpriced, and the estimate says so. The price catalogue and on-prem amortisation replace
`estimate` without changing its result's shape (the plan contract, DESIGN §4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Types that never appear on a bill by themselves (configuration of another resource).
FREE_TYPES = frozenset(
    {
        "aws:kms/alias:Alias",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
    }
)


@dataclass
class CostEstimate:
    currency: str = "USD"
    monthly_expected: float = 0.0
    monthly_worst_case: float = 0.0
    budget: float = 0.0
    by_component: dict[str, float] = field(default_factory=dict)
    by_resource: dict[str, float] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def estimate(cfg: Any, resources: list[dict[str, Any]]) -> CostEstimate:
    """Estimate for `resources` (plan records) under the stack's budget."""
    est = CostEstimate(budget=float(cfg.budget.total_monthly_usd))
    est.assumptions.append("no price catalogue yet: every billable resource is listed as unpriced")
    for r in resources:
        billable = r["type"].startswith("aws:") and r["type"] not in FREE_TYPES
        if billable:
            est.unpriced.append(r["urn"])
    return est
