"""Pulumi entry point (Pulumi.yaml: `main: stacks/`).

Pulumi runs this file as a plain script, so it stays thin: all logic lives in the installed
`components` package (`pip install -e .`).
"""

from components.program import main

main()
