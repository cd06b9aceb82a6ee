"""What ``run_pipeline.py`` does with the pipeline it builds: upsert it, then start it.

``argument_parser`` holds the command-line arguments every run needs (the
CodeBuild project passes them from the project's environment variables);
``run_pipeline.py`` adds those of its own pipeline.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from typing import List, Optional, Sequence

# Values of --model-monitoring (the build's MODEL_MONITORING variable); empty (unset) is off.
TRUE_VALUES = ("true", "1", "yes", "on")
FALSE_VALUES = ("false", "0", "no", "off", "")

# Values of --subnet-ids and --security-group-ids (the build's SUBNET_IDS and SECURITY_GROUP_IDS):
# comma-separated ids; empty (unset) is no VPC. SageMaker takes at most 16 subnets and 5 groups.
SUBNET_ID = re.compile(r"subnet-[0-9a-f]{8,17}")
SECURITY_GROUP_ID = re.compile(r"sg-[0-9a-f]{8,17}")
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5

from sagemaker.workflow.pipeline import Pipeline

logger = logging.getLogger(__name__)


def project_tags(project_name: str, project_id: str) -> List[dict]:
    """Tags that link the pipeline to its SageMaker project (Studio groups resources by them)."""
    return [
        {"Key": "sagemaker:project-name", "Value": project_name},
        {"Key": "sagemaker:project-id", "Value": project_id},
    ]


def flag(value: str) -> bool:
    """``true``/``false`` (any case; also 1/0, yes/no, on/off; empty is false) as a bool."""
    normalized = value.strip().lower()
    if normalized in TRUE_VALUES:
        return True
    if normalized in FALSE_VALUES:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def id_list(variable: str, pattern: "re.Pattern[str]", kind: str, example: str, maximum: int):
    """An argparse type: comma-separated ids matching ``pattern`` as a list (empty: ``[]``)."""

    def parse(value: str) -> List[str]:
        if not value.strip():
            return []
        ids = [item.strip() for item in value.split(",")]
        for item in ids:
            if not pattern.fullmatch(item):
                raise argparse.ArgumentTypeError(
                    f"{variable}={value!r}: {item!r} is not a {kind} id; expected comma-separated ids, "
                    f"each {example.split('-')[0]}- followed by 8 to 17 lowercase hexadecimal characters, "
                    f"such as {example}"
                )
        if len(ids) > maximum:
            raise argparse.ArgumentTypeError(f"{variable}={value!r}: {len(ids)} {kind}s, SageMaker takes at most {maximum}")
        return ids

    return parse


class RunArgumentParser(argparse.ArgumentParser):
    """Checks, after parsing, the arguments that only make sense together."""

    def parse_known_args(self, args: Optional[Sequence[str]] = None, namespace=None):
        parsed, extras = super().parse_known_args(args, namespace)
        if bool(parsed.subnet_ids) != bool(parsed.security_group_ids):
            self.error(
                "SUBNET_IDS and SECURITY_GROUP_IDS (--subnet-ids, --security-group-ids) go together: "
                f"set both or neither (got SUBNET_IDS={','.join(parsed.subnet_ids)!r}, "
                f"SECURITY_GROUP_IDS={','.join(parsed.security_group_ids)!r})"
            )
        return parsed, extras


def argument_parser() -> argparse.ArgumentParser:
    parser = RunArgumentParser(description="Upsert and start the model-building pipeline.")
    parser.add_argument("--region", required=True)
    parser.add_argument("--pipeline-name", required=True)
    parser.add_argument("--pipeline-description", default="")
    parser.add_argument("--role-arn", required=True, help="role the pipeline runs as")
    parser.add_argument("--default-bucket", required=True, help="bucket for pipeline data and models")
    parser.add_argument("--kms-key", default=None, help="KMS key ARN that encrypts job outputs")
    parser.add_argument("--model-package-group-name", required=True)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument(
        "--model-monitoring",
        type=flag,
        default=False,
        help="true: compute a data-quality baseline and register it with the model (default: false)",
    )
    parser.add_argument(
        "--subnet-ids",
        type=id_list("SUBNET_IDS", SUBNET_ID, "subnet", "subnet-0a1b2c3d", MAX_SUBNETS),
        default=[],
        help="comma-separated private subnets every job runs in (default: none, SageMaker's network)",
    )
    parser.add_argument(
        "--security-group-ids",
        type=id_list("SECURITY_GROUP_IDS", SECURITY_GROUP_ID, "security group", "sg-0123abcd", MAX_SECURITY_GROUPS),
        default=[],
        help="comma-separated security groups of the jobs; with --subnet-ids only",
    )
    parser.add_argument("--print-definition", action="store_true", help="print the pipeline JSON")
    parser.add_argument("--no-start", action="store_true", help="upsert only, do not start an execution")
    parser.add_argument("--wait", action="store_true", help="wait for the execution and fail if it fails")
    return parser


def pipeline_arguments(args: argparse.Namespace) -> dict:
    """The arguments of ``get_pipeline`` that come from ``argument_parser``'s arguments."""
    return {
        "region": args.region,
        "role": args.role_arn,
        "default_bucket": args.default_bucket,
        "kms_key": args.kms_key or None,
        "model_package_group_name": args.model_package_group_name,
        "pipeline_name": args.pipeline_name,
        "model_monitoring": args.model_monitoring,
        "subnet_ids": args.subnet_ids,
        "security_group_ids": args.security_group_ids,
    }


def upsert_and_start(pipeline: Pipeline, args: argparse.Namespace) -> None:
    """Create or update ``pipeline`` with the project's tags, then start it unless ``--no-start``."""
    if args.print_definition:
        print(json.dumps(json.loads(pipeline.definition()), indent=2))

    response = pipeline.upsert(
        role_arn=args.role_arn,
        description=args.pipeline_description,
        tags=project_tags(args.project_name, args.project_id),
    )
    logger.info("Upserted pipeline %s", response["PipelineArn"])
    if args.no_start:
        return

    execution = pipeline.start()
    logger.info("Started execution %s", execution.arn)
    if args.wait:
        # Raises WaiterError if the execution fails, which fails the build.
        execution.wait(delay=60, max_attempts=120)
        for step in execution.list_steps():
            logger.info("%s: %s", step["StepName"], step["StepStatus"])
