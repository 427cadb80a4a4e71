"""Supply chain: every image the platform runs comes from this account's ECR.

- Pull-through cache rules for the upstreams the platform pulls from (ECR Public,
  registry.k8s.io, Quay; ghcr.io and Docker Hub only with credentials in Secrets Manager).
- nvcr.io (NGC) is not an upstream ECR's pull-through cache supports (ECR API reference,
  CreatePullThroughCacheRule): NGC images are mirrored by CI into private `repositories`.
- Private repositories: immutable tags, scan on push, encrypted with the stack key.
- The on-prem side points containerd at the same registry (mirror host = this registry).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.provider import AwsContext
from components.config.models import RegistryConfig
from components.conventions import type_token
from components.tagging import Naming

UPSTREAM_URLS = {
    "ecr-public": "public.ecr.aws",
    "k8s": "registry.k8s.io",
    "quay": "quay.io",
    "ghcr": "ghcr.io",
    "docker-hub": "registry-1.docker.io",
}
"""Upstream registry URLs as CreatePullThroughCacheRule spells them."""


@dataclass(frozen=True)
class RegistryArgs:
    config: RegistryConfig
    """Upstreams, their credentials and private repositories."""
    naming: Naming
    """Names and standard tags of the environment."""
    aws: AwsContext
    """Provider, region and account of the stack."""
    key_arn: pulumi.Output[str]
    """Stack key for the private repositories."""


class Registry(pulumi.ComponentResource):
    """Pull-through cache rules, the template for the repositories they create, private repositories."""

    repositories: dict[str, aws.ecr.Repository]
    prefix: pulumi.Output[str]
    """`<account>.dkr.ecr.<region>.amazonaws.com/<env>`: images are `<prefix>/<upstream>/<repo>`."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(type_token("aws", "Registry"), name, {}, opts)
        ctx, naming, cfg = args.aws, args.naming, args.config
        tags = naming.tags(component="registry")
        env = naming.environment

        for upstream in cfg.pull_through:
            aws.ecr.PullThroughCacheRule(
                f"{name}-{upstream}",
                # Environment-prefixed so two stacks can share an account without colliding.
                ecr_repository_prefix=f"{env}/{upstream}",
                upstream_registry_url=UPSTREAM_URLS[upstream],
                credential_arn=cfg.credential_secret_arns.get(upstream),
                opts=ctx.opts(self),
            )
        if cfg.pull_through:
            aws.ecr.RepositoryCreationTemplate(
                f"{name}-cache-template",
                prefix=env,
                applied_fors=["PULL_THROUGH_CACHE"],
                description="Repositories the pull-through cache creates",
                # Cached repositories must keep mutable tags to follow their upstream (ECR docs);
                # they are encrypted with the AWS-managed ECR key because ECR creates them itself.
                image_tag_mutability="MUTABLE",
                encryption_configurations=[
                    aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="KMS")
                ],
                resource_tags=tags,
                opts=ctx.opts(self),
            )
        # Scan every image on push, cached ones included. The scanning configuration is one per
        # registry (account and region): stacks sharing an account must agree on it (README).
        aws.ecr.RegistryScanningConfiguration(
            f"{name}-scanning",
            scan_type="BASIC",
            rules=[
                aws.ecr.RegistryScanningConfigurationRuleArgs(
                    scan_frequency="SCAN_ON_PUSH",
                    repository_filters=[
                        aws.ecr.RegistryScanningConfigurationRuleRepositoryFilterArgs(
                            filter=f"{env}/*", filter_type="WILDCARD"
                        )
                    ],
                )
            ],
            opts=ctx.opts(self),
        )
        self.repositories = {}
        for repo in cfg.repositories:
            self.repositories[repo] = aws.ecr.Repository(
                f"{name}-{repo.replace('/', '-')}",
                name=f"{env}/{repo}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=args.key_arn)
                ],
                force_delete=False,
                tags=tags,
                opts=ctx.opts(self),
            )
        self.prefix = pulumi.Output.from_input(ctx.account_id).apply(
            lambda account: f"{account}.dkr.ecr.{ctx.region}.amazonaws.com/{env}"
        )
        self.register_outputs(
            {"prefix": self.prefix, "repositories": {k: r.repository_url for k, r in self.repositories.items()}}
        )
