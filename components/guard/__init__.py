"""The budget guard: a Lambda that pauses non-critical burst GPU node groups when the AWS
Budget's actual spend reaches `budget.pauseAtPercent`, and the pure pieces the Pulumi
program and the deployment share with it (`pause_state`, `deploy_spec`).

Nothing in this package imports Pulumi: the Lambda ships only boto3 and this code.
"""
