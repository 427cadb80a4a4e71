"""One storage change, diffed once, read three ways (issue 7 acceptance):

- `storage.retentionDays.internal` 30 → 45: a property-level update of each lifecycle
  configuration with the nested path;
- `buckets.logs.objectLock` switched on: the bucket is replaced (`objectLockEnabled` forces it),
  and its sub-resources with it (their `bucket` input forces replacement too);
- `buckets.artifacts` removed: its resources are deleted, under the deletion banner.
"""

from __future__ import annotations

import re

import pytest

STACK = "dev"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


@pytest.fixture(scope="module")
def rep(module_project):
    def edit(cfg: dict) -> None:
        storage = cfg["ai-factory:storage"]
        storage["retentionDays"]["internal"] = 45
        storage["buckets"]["logs"]["objectLock"] = True
        storage["buckets"].pop("artifacts")

    module_project.edit_stack(STACK, edit)
    return module_project.report(STACK)


def _by_op(rep, op: str) -> list[dict]:
    return [r for r in rep.doc["resources"] if r["op"] == op]


def test_changed_retention_is_a_property_level_update_with_the_nested_path(rep) -> None:
    models = next(r for r in rep.doc["resources"] if r["name"] == "dev-storage-models-lifecycle")
    assert models["op"] == "update"
    path = "rules[0].noncurrentVersionExpiration.noncurrentDays"
    change = next(c for c in models["changes"] if c["path"] == path)
    assert (change["before"], change["after"], change["forces_replacement"]) == (30, 45, False)
    assert f"{path}: 30 → 45" in rep.text
    assert f"`{path}`: `30` → `45`" in rep.markdown


def test_toggling_object_lock_is_flagged_as_a_replacement(rep) -> None:
    replaced = {r["name"]: r for r in _by_op(rep, "replace")}
    bucket = replaced["dev-storage-logs"]
    assert [c["path"] for c in bucket["changes"] if c["forces_replacement"]] == ["objectLockEnabled"]
    # Its sub-resources take the new bucket id through `bucket`, which forces replacement too.
    assert set(replaced) == {"dev-storage-logs"} | {n for n in replaced if n.startswith("dev-storage-logs-")}
    assert "dev-storage-logs-versioning" in replaced
    assert any(c["path"] == "bucket" for c in replaced["dev-storage-logs-versioning"]["changes"])
    assert f"replacements: {len(replaced)}" in rep.markdown.splitlines()[0]
    assert "forced by `objectLockEnabled`" in rep.markdown


def test_deleted_bucket_raises_the_deletion_banner(rep) -> None:
    deleted = {r["name"] for r in _by_op(rep, "delete")}
    assert "dev-storage-artifacts" in deleted and all(n.startswith("dev-storage-artifacts") for n in deleted)
    assert "dev-storage-artifacts-lifecycle" in deleted
    lines = rep.markdown.splitlines()
    assert re.match(rf"### {STACK}: \+\d+ ~\d+ −{len(deleted)}, replacements: \d+", lines[0])
    banner = lines.index("> [!CAUTION]")
    assert banner < lines.index("#### Policy findings")
    assert lines[banner + 1].startswith(f"> **This change deletes {len(deleted)} and replaces ")
    assert any("`aws:s3/bucket:Bucket` **dev-storage-artifacts**" in line for line in lines[banner:])
    assert re.search(rf"^!! DELETES {len(deleted)} AND REPLACES \d+ RESOURCE", rep.text, re.M)


def test_the_temporary_worktree_is_gone(rep, module_project) -> None:
    assert len(module_project.git("worktree", "list").splitlines()) == 1
