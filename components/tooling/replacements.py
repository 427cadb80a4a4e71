"""Properties whose change makes Pulumi replace a resource (delete + create), per resource type.

`factory diff` has no provider to ask (no CLI, no plugin, no credentials), so it flags
replacements from this table. pulumi-aws v7 is bridged from the Terraform AWS provider v6,
so an input forces replacement exactly when the upstream schema marks it `ForceNew`; the
entries below were read from that schema (hashicorp/terraform-provider-aws, files named per
entry) or its docs ("Forces new resource"). Paths use the plan's camelCase input names;
a change at a listed path or below it (`vpcConfig` covers `vpcConfig.subnetIds[0]`) counts.

What this table cannot see, and the report says so: replacements decided at run time by a
provider's CustomizeDiff (e.g. removing an EKS cluster's `encryptionConfig`), and types not
listed here (their changes are reported as in-place updates, marked "not in the table").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Every S3 "bucket sub-resource" (v4+ split resources) is keyed by its bucket and owner:
# `bucket` and `expected_bucket_owner` are ForceNew in each of their schemas
# (internal/service/s3/bucket_*.go).
_S3_SUB = frozenset({"bucket", "expectedBucketOwner"})

REPLACE_ON_CHANGE: Mapping[str, frozenset[str]] = {
    # internal/service/s3/bucket.go; docs r/s3_bucket: bucket, bucket_prefix and
    # object_lock_enabled "Forces new resource" (object lock can only be switched on at creation
    # through this attribute; aws.s3.BucketObjectLockConfiguration changes it in place).
    "aws:s3/bucket:Bucket": frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}),
    "aws:s3/bucketVersioning:BucketVersioning": _S3_SUB,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _S3_SUB,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _S3_SUB,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _S3_SUB,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": frozenset({"bucket"}),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": frozenset({"bucket"}),
    "aws:s3/bucketPolicy:BucketPolicy": frozenset({"bucket"}),
    # internal/service/kms/key.go: custom_key_store_id, customer_master_key_spec, key_usage,
    # multi_region, xks_key_id are ForceNew (policy, rotation, description update in place).
    "aws:kms/key:Key": frozenset({"customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"}),
    # internal/service/kms/alias.go: name and name_prefix are ForceNew; target_key_id updates.
    "aws:kms/alias:Alias": frozenset({"name", "namePrefix"}),
    # internal/service/eks/cluster.go: name, role_arn, bootstrap_self_managed_addons,
    # access_config.bootstrap_cluster_creator_admin_permissions, kubernetes_network_config
    # .ip_family / .service_ipv4_cidr, outpost_config.control_plane_instance_type and
    # remote_network_config are ForceNew. vpc_config.subnet_ids is NOT (EKS updates subnets
    # in place since 2023), so it is deliberately absent.
    "aws:eks/cluster:Cluster": frozenset(
        {
            "name",
            "roleArn",
            "bootstrapSelfManagedAddons",
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
            "kubernetesNetworkConfig.ipFamily",
            "kubernetesNetworkConfig.serviceIpv4Cidr",
            "outpostConfig.controlPlaneInstanceType",
            "remoteNetworkConfig",
        }
    ),
    # internal/service/eks/node_group.go: ami_type, capacity_type, cluster_name, disk_size,
    # instance_types, launch_template.id/.name, node_group_name(_prefix), node_role_arn,
    # remote_access and subnet_ids are ForceNew (scaling_config, labels, taints, version update).
    "aws:eks/nodeGroup:NodeGroup": frozenset(
        {
            "amiType",
            "capacityType",
            "clusterName",
            "diskSize",
            "instanceTypes",
            "launchTemplate.id",
            "launchTemplate.name",
            "nodeGroupName",
            "nodeGroupNamePrefix",
            "nodeRoleArn",
            "remoteAccess",
            "subnetIds",
        }
    ),
    # internal/service/iam/role.go: name, name_prefix and path are ForceNew (policies, description,
    # max session and permissions boundary update in place).
    "aws:iam/role:Role": frozenset({"name", "namePrefix", "path"}),
    # internal/service/ec2/vpc_subnet.go: availability_zone(_id), cidr_block, ipv4/ipv6 IPAM
    # pool and netmask, ipv6_native, outpost_arn and vpc_id are ForceNew.
    "aws:ec2/subnet:Subnet": frozenset(
        {
            "availabilityZone",
            "availabilityZoneId",
            "cidrBlock",
            "ipv4IpamPoolId",
            "ipv4NetmaskLength",
            "ipv6IpamPoolId",
            "ipv6Native",
            "ipv6NetmaskLength",
            "outpostArn",
            "vpcId",
        }
    ),
}

# pulumi-aws v7 (Terraform AWS provider v6 "enhanced region support") gives most resources a
# `region` input; moving a resource to another region is a replacement.
AWS_GENERIC = frozenset({"region"})

# Kubernetes objects are identified by name and namespace: pulumi-kubernetes replaces the object
# when either changes (a different object, not an update).
K8S_GENERIC = frozenset({"metadata.name", "metadata.namespace"})


def _covers(listed: str, path: str) -> bool:
    """True when `path` is `listed` or lies below it (`a.b` covers `a.b[0]` and `a.b.c`)."""
    return path == listed or path.startswith((listed + ".", listed + "["))


def _strip_indices(path: str) -> str:
    """`rules[0].id` → `rules.id`: upstream MaxItems=1 blocks are lists in the plan's inputs."""
    out, depth = [], 0
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def known_type(resource_type: str) -> bool:
    return resource_type in REPLACE_ON_CHANGE or resource_type.startswith("kubernetes:")


def forces_replacement(resource_type: str, path: str) -> bool:
    """Whether changing input `path` (plan path syntax) of a `resource_type` forces replacement."""
    listed: Iterable[str] = REPLACE_ON_CHANGE.get(resource_type, frozenset())
    if resource_type.startswith("aws:"):
        listed = [*listed, *AWS_GENERIC]
    elif resource_type.startswith("kubernetes:"):
        listed = [*listed, *K8S_GENERIC]
    bare = _strip_indices(path)
    return any(_covers(entry, path) or _covers(entry, bare) for entry in listed)
