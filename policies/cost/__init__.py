"""Cost estimation of a planned stack."""
