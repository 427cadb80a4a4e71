"""Key paths of a Helm chart's values.yaml, as the fixture tests/k8s/test_chart_values.py checks against.

Every mapping key of the document becomes a dotted path (`a.b.c`); a list is a leaf (its items are
the user's data, not chart keys). Comments are ignored: a key the chart only documents in a comment
is not a key Helm's defaults contain, so it is not listed (the test lists such template-only keys
as justified exceptions).

Regenerate after bumping a chart in components/k8s/charts.py:

    helm show values <repo>/<chart> --version <version> > /tmp/values.yaml
    .venv/bin/python tests/k8s/chart_values/extract.py /tmp/values.yaml --chart <version> \
        --version-read <version> --repo <owner/name> --path <path in repo> --commit <sha> \
        --free-form nodeSelector --free-form ... > tests/k8s/chart_values/<chart>.json

With `--merge <existing.json>` the chart/version_read/source/free_form/note of an existing fixture are
kept unless given again (only `keys` is recomputed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml


def key_paths(doc: Any, prefix: str = "") -> list[str]:
    """Sorted dotted paths of every mapping key in `doc` (lists and scalars are leaves)."""
    paths: set[str] = set()

    def walk(node: Any, at: str) -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            path = f"{at}.{key}" if at else str(key)
            paths.add(path)
            walk(value, path)

    walk(doc, prefix)
    return sorted(paths)


def fixture(
    text: str,
    *,
    chart: str,
    version_read: str,
    repo: str,
    path: str,
    commit: str,
    free_form: list[str],
    note: str = "",
) -> dict[str, Any]:
    doc = yaml.safe_load(text) or {}
    out: dict[str, Any] = {
        "chart": chart,
        "version_read": version_read,
        "source": {"repo": repo, "path": path, "commit": commit},
    }
    if note:
        out["note"] = note
    out["free_form"] = sorted(set(free_form))
    out["keys"] = key_paths(doc)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("values", type=Path, help="the chart's values.yaml text")
    parser.add_argument("--merge", type=Path, help="existing fixture whose metadata is kept")
    parser.add_argument("--chart", help="chart version pinned in components/k8s/charts.py")
    parser.add_argument("--version-read", help="chart version the values.yaml belongs to")
    parser.add_argument("--repo")
    parser.add_argument("--path")
    parser.add_argument("--commit")
    parser.add_argument("--note")
    parser.add_argument("--free-form", action="append", default=None, help="prefix with free-form children")
    args = parser.parse_args(argv)
    base: dict[str, Any] = json.loads(args.merge.read_text()) if args.merge else {"source": {}}
    data = fixture(
        args.values.read_text(),
        chart=args.chart or base.get("chart", ""),
        version_read=args.version_read or base.get("version_read", ""),
        repo=args.repo or base["source"].get("repo", ""),
        path=args.path or base["source"].get("path", ""),
        commit=args.commit or base["source"].get("commit", ""),
        free_form=args.free_form if args.free_form is not None else base.get("free_form", []),
        note=args.note if args.note is not None else base.get("note", ""),
    )
    json.dump(data, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
