"""The Kubernetes platform: tenancy, GPU operator, vector store, serving, router, observability.

Every component takes a `pulumi_kubernetes.Provider` (PlatformContext.provider), so it can be
built and tested without a cluster. Objects a policy must see are typed pulumi_kubernetes
resources; Helm releases are used only for third-party stacks (PULUMI-OFFLINE.md).
"""

from components.k8s.platform import Platform, PlatformArgs, build_platform

__all__ = ["Platform", "PlatformArgs", "build_platform"]
