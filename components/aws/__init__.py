"""AWS side of the factory (pulumi-aws v7)."""
