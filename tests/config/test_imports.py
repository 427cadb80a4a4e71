"""Every module of the package imports on its own (a fresh interpreter each): no import cycle hides
behind the order in which the program happens to import them."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import components
import policies

MODULES = sorted(
    m.name
    for pkg in (components, policies)
    for m in pkgutil.walk_packages(pkg.__path__, f"{pkg.__name__}.")
    # __main__ modules run programs (the CrossGuard pack's blocks on a gRPC server).
    if not m.name.endswith("__main__")
)


def test_the_package_has_modules_to_check() -> None:
    assert {"components.routing", "components.gpu_sharing", "components.config.semantics"} <= set(MODULES)


@pytest.mark.parametrize("batch", [MODULES[i::4] for i in range(4)])
def test_each_module_imports_first(batch: list[str]) -> None:
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    for name in batch:
        out = subprocess.run([sys.executable, "-c", code, name], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"{name}: {out.stderr.strip().splitlines()[-1:]}"
