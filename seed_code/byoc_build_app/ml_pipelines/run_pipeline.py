"""Create or update the SageMaker pipeline, then start it.

The CodeBuild project of this repository runs this through ``buildspec.yml``
with the project's environment variables. Run it yourself (with AWS
credentials for the DEV account) to try a change before you push it::

    python -m ml_pipelines.run_pipeline --pipeline-name my-test-pipeline ... --print-definition --no-start
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import List, Optional, Sequence

from ml_pipelines.abalone.pipeline import get_pipeline

logger = logging.getLogger(__name__)


def project_tags(project_name: str, project_id: str) -> List[dict]:
    """Tags that link the pipeline to its SageMaker project (Studio groups resources by them)."""
    return [
        {"Key": "sagemaker:project-name", "Value": project_name},
        {"Key": "sagemaker:project-id", "Value": project_id},
    ]


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Upsert and start the model-building pipeline.")
    parser.add_argument("--region", required=True)
    parser.add_argument("--pipeline-name", required=True)
    parser.add_argument("--pipeline-description", default="")
    parser.add_argument("--role-arn", required=True, help="role the pipeline runs as")
    parser.add_argument("--default-bucket", required=True, help="bucket for pipeline data and models")
    parser.add_argument("--kms-key", default=None, help="KMS key ARN that encrypts job outputs")
    parser.add_argument("--model-package-group-name", required=True)
    parser.add_argument("--project-name", required=True)
    parser.add_argument("--project-id", required=True)
    parser.add_argument("--image-uri", required=True, help="training/serving image built from container/")
    parser.add_argument("--print-definition", action="store_true", help="print the pipeline JSON")
    parser.add_argument("--no-start", action="store_true", help="upsert only, do not start an execution")
    parser.add_argument("--wait", action="store_true", help="wait for the execution and fail if it fails")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    pipeline = get_pipeline(
        region=args.region,
        role=args.role_arn,
        default_bucket=args.default_bucket,
        kms_key=args.kms_key or None,
        model_package_group_name=args.model_package_group_name,
        pipeline_name=args.pipeline_name,
        image_uri=args.image_uri,
    )
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


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    main()
