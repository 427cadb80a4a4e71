"""CrossGuard entry point: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`.

The only place a PolicyPack is constructed (it starts a gRPC server and blocks); rule logic
lives in policies/rules/.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import build_policies

PolicyPack(
    name="ai-factory",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=build_policies(),
)
