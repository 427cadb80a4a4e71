"""On-prem GPU baseline: Ansible driven by Pulumi, one dynamic resource per server."""
