"""Where an ECR image lives: a stage's roles may pull from its repository only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EcrRepository:
    """Where an ECR image lives, parsed from its URI."""

    account: str
    region: str
    name: str

    @classmethod
    def from_image_uri(cls, image_uri: str) -> "EcrRepository":
        """Parse ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>[:tag|@digest]``."""
        registry, _, path = image_uri.partition("/")
        parts = registry.split(".")
        if len(parts) < 6 or parts[1:3] != ["dkr", "ecr"] or not path:
            raise ValueError(f"Not an ECR image URI: {image_uri!r}")
        name = path.split("@", 1)[0]  # drop a digest
        name = name.rsplit(":", 1)[0] if ":" in name else name  # drop a tag
        return cls(account=parts[0], region=parts[3], name=name)

    def arn(self, partition: str) -> str:
        return f"arn:{partition}:ecr:{self.region}:{self.account}:repository/{self.name}"
