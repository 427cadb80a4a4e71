"""Bootstrap of the Pulumi backend: the state bucket and one `awskms://` secrets key per environment.

A separate, tiny Pulumi program (`components/aws/bootstrap/Pulumi.yaml`), run once per AWS
account before any factory stack exists; see `state.py`.
"""
