"""Weight fetcher of a vLLM pod (its init container): copy one model artifact onto the node's disk and
verify it against its pinned digest before vLLM may load it.

Shipped in a ConfigMap and run by the pinned vLLM image's python3 (it carries boto3), so it uses boto3
and the standard library only. Where it reads from depends on where the pod landed:
- on a site server (the node's IP, HOST_IP, is in one of SITE_NODE_CIDRS): the site's S3-compatible
  store (SITE_ENDPOINT, SITE_BUCKET) with the read-only key of the site's Secret;
- elsewhere (a cloud node): the stack's models bucket (CLOUD_BUCKET) with the pod's EKS Pod Identity
  credentials (boto3's default chain; the site's key is passed explicitly, never through the
  AWS_* variables that chain would pick up).

The artifact digest is the sha256 of the artifact's sorted `sha256sum` manifest (`<hex>  <path>` per
file): any changed, missing or extra file fails the pod. An artifact larger than MAX_BYTES (the model's
artifact.sizeGib, the size of the volume it lands on) fails before anything is downloaded. Files already
on disk with the right size are re-hashed, not re-downloaded (a restarted init container resumes).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import sys
from typing import Any

CHUNK = 1 << 24


def choose_store() -> tuple[Any, str, str]:
    """(S3 client, bucket, "site"|"cloud") for the node this pod runs on."""
    import boto3
    from botocore.config import Config

    host = ipaddress.ip_address(os.environ["HOST_IP"])
    site = [ipaddress.ip_network(n) for n in os.environ.get("SITE_NODE_CIDRS", "").split(",") if n]
    if any(host in net for net in site):
        if not os.environ.get("SITE_ENDPOINT"):
            sys.exit("fetch-weights: this pod runs on a site server but no site model store is configured")
        client = boto3.client(
            "s3",
            endpoint_url=os.environ["SITE_ENDPOINT"],
            region_name=os.environ.get("SITE_REGION") or "us-east-1",
            aws_access_key_id=os.environ["SITE_ACCESS_KEY_ID"],
            aws_secret_access_key=os.environ["SITE_SECRET_ACCESS_KEY"],
            verify=os.environ.get("SITE_CA_FILE") or None,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )
        return client, os.environ["SITE_BUCKET"], "site"
    if not os.environ.get("CLOUD_BUCKET"):
        sys.exit(f"fetch-weights: node {host} is not a site server and the stack has no models bucket")
    # The stack's region: its regional endpoint is what the pod's NetworkPolicy admits (no global endpoint).
    client = boto3.client("s3", region_name=os.environ.get("CLOUD_REGION") or None)
    return client, os.environ["CLOUD_BUCKET"], "cloud"


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def list_artifact(client: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    """(key, size) of every object under `prefix/`."""
    return [
        (obj["Key"], obj["Size"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/")
        for obj in page.get("Contents", [])
    ]


def fetch(client: Any, bucket: str, prefix: str, dest: str, objects: list[tuple[str, int]]) -> list[str]:
    """Download the listed objects into `dest`; the manifest lines of what is there."""
    lines = []
    for key, size in objects:
        rel = key[len(prefix) + 1 :]
        path = os.path.join(dest, rel)
        if not os.path.exists(path) or os.path.getsize(path) != size:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            client.download_file(bucket, key, path)
        lines.append(f"{sha256_file(path)}  {rel}")
    return lines


def manifest_digest(lines: list[str]) -> str:
    return "sha256:" + hashlib.sha256(("\n".join(sorted(lines)) + "\n").encode()).hexdigest()


def main() -> int:
    prefix, dest, want = (os.environ[k] for k in ("PREFIX", "DEST", "DIGEST"))
    from botocore.exceptions import BotoCoreError, ClientError

    max_bytes = int(os.environ["MAX_BYTES"])
    client, bucket, where = choose_store()
    try:
        objects = list_artifact(client, bucket, prefix)
        if not objects:
            sys.exit(f"fetch-weights: no artifact {prefix}/ in the {where} store (bucket {bucket})")
        # Checked before the first byte lands: past the volume's size limit the kubelet would evict the
        # pod mid-copy, and the next one would try again.
        total = sum(size for _, size in objects)
        if total > max_bytes:
            sys.exit(
                f"fetch-weights: artifact {prefix} in the {where} store holds {total} bytes, more than its "
                f"artifact.sizeGib allows ({max_bytes} bytes): set sizeGib to the artifact's size in GiB, rounded up"
            )
        lines = fetch(client, bucket, prefix, dest, objects)
    except (BotoCoreError, ClientError) as err:
        sys.exit(f"fetch-weights: reading {prefix}/ from the {where} store (bucket {bucket}) failed: {err}")
    got = manifest_digest(lines)
    if got != want:
        sys.exit(f"fetch-weights: artifact {prefix} from the {where} store: digest {got} != pinned {want}")
    print(f"fetch-weights: {prefix} from the {where} store: {len(lines)} files, digest verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
