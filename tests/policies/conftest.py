"""Policy tests: make `policy_support` importable.

pytest runs with --import-mode=importlib and only tests/ on pythonpath, so a helper module
next to these tests needs its folder on sys.path (a package __init__.py is not allowed here).
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
