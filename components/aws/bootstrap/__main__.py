"""Entry point of the bootstrap program (thin: the logic is in `state.py`)."""

from components.aws.bootstrap.state import main

main()
