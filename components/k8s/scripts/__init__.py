"""Stand-alone scripts the platform runs inside cluster workloads (stdlib only, no project imports)."""
