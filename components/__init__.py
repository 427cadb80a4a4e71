"""Pulumi components of the AI factory and the typed config they are built from."""
