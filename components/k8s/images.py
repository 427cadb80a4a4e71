"""Every third-party image the typed workloads run, pinned by digest.

Images are pulled through the stack's ECR pull-through cache (`<registry>/<upstream>/…`,
components/aws/registry.py names the prefixes `<env>/<upstream>`), so a node never pulls from
the internet and the policy AIF-K8S-003 sees an approved registry and a digest. Bump a
version by changing tag and digest together (`crane digest <upstream image>:<tag>`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Image:
    upstream: str
    """Pull-through cache upstream (components/aws/registry.py): docker-hub, ghcr, quay, ecr-public, k8s."""
    repository: str
    """Repository path in the upstream registry."""
    tag: str
    """Human-readable version; informational, the digest decides what runs."""
    digest: str
    """sha256 digest of the (multi-arch) image index."""

    @property
    def path(self) -> str:
        return f"{self.upstream}/{self.repository}@{self.digest}"


# Digests below are copied from public pin records of these exact releases, and each was found
# again, next to the same tag, in several independent public repositories (2026-12-04: vLLM
# v0.27.1, litellm-non_root v1.104.2 with its amd64/arm64 manifests, redis 7.4(.11)-alpine,
# postgres 17(.10)-alpine, qdrant v1.19.1). They are not re-resolved here (no registry access from
# the build machine): confirm each with `crane digest <image>:<tag>` before deploying a new pin.
VLLM = Image(
    "docker-hub",
    "vllm/vllm-openai",
    "v0.27.1",
    "sha256:0a51ea5b4ae2dc5d81890e5173f54203d2a3ae0cfffe51b8fd2afd4391bfd967",
)
"""vLLM OpenAI server; the image also carries boto3, which the weight-fetch init container uses."""
LITELLM = Image(
    "docker-hub",
    "litellm/litellm-non_root",
    "v1.104.2",
    "sha256:e8dee87e7ddbf9abc174e8a7b180a690d5265cc4827458d22c5ff5e108170027",
)
"""LiteLLM proxy, the upstream non-root build (uid 65534)."""
LITELLM_UID = 65534
REDIS = Image(
    "docker-hub",
    "library/redis",
    "7.4-alpine",
    "sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf",
)
"""Response cache of the router (no persistence: a cache, not a store)."""
REDIS_UID = 999
POSTGRES = Image(
    "docker-hub",
    "library/postgres",
    "17-alpine",
    "sha256:742f40ea20b9ff2ff31db5458d127452988a2164df9e17441e191f3b72252193",
)
"""The router's database (teams, keys, spend). Digest from a Renovate-managed public pin of 17-alpine."""
POSTGRES_UID = 70
"""The alpine image's postgres user."""
QDRANT = Image(
    "docker-hub",
    "qdrant/qdrant",
    "v1.19.1",
    "sha256:12364fe851b9f17356fc88189fc06d1b521262e04659ec7345975b00c9246a10",
)
"""Vector store; runs as uid 1000 with fsGroup-owned storage."""
