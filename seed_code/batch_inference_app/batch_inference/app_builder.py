"""Assemble the CDK app: one BatchInferenceStack per deployment stage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from aws_cdk import App

from batch_inference.aws_lookups import ModelRegistry, StageLocator
from batch_inference.batch_stack import BatchInferenceStack, default_batch_prefix
from batch_inference.settings import ProjectSettings
from batch_inference.stage_config import CONFIG_DIR, load_stage_config


class CrossRegionStageError(RuntimeError):
    """A stage is in another region than the project, which this app cannot deploy a model to."""


def cross_region_problem(project: ProjectSettings, stage: str, region: str) -> str:
    """Why a stage in ``region`` (not the project's) cannot be deployed, and what would make it work."""
    return (
        f"Stage '{stage}' is in region {region}, but the project (its model registry, artifact bucket and "
        f"key) is in {project.region}. This app creates the stage's SageMaker model from the approved "
        "model package, and SageMaker can use neither a model package nor model data (S3) nor, for a "
        "private repository, a container image from another region. To deploy this stage, either set "
        f"the SSM parameter /mlops/{project.project_name}/{stage}/region to {project.region} (the project's "
        "region), or have the platform team provide, in the stage's account and region: (1) a copy of the "
        "project's model artifacts (S3 replication of the artifact bucket, or a copy step, to a bucket in "
        f"{region} with a key of {region} that the stage may read), (2) the model's container image there "
        "(ECR cross-region replication of the project's mlops-* repositories; SageMaker's built-in images "
        f"have a registry per region), and (3) permission for deployments to create the model from that "
        "image and data; then change batch_stack.py to create the model from them (see README, 'Stages in "
        "another region')."
    )


def build_app(
    project: ProjectSettings,
    registry: ModelRegistry,
    locator: StageLocator,
    *,
    config_dir: Path = CONFIG_DIR,
    outdir: Optional[str] = None,
) -> App:
    """Look up the model and stages, then define one stack per stage (nothing is written yet).

    All stages score with the *same* approved package: a model reaches PROD only after it went
    through DEV and PREPROD in the same pipeline run.
    """
    model = registry.latest_approved(project.model_package_group_name)
    # Read every stage's settings first so one typo fails before any stack is made.
    configs = {
        stage: load_stage_config(stage, default_batch_prefix(project, stage), config_dir) for stage in project.stages
    }

    # No CDKMetadata resource: the templates are deployed by CloudFormation directly.
    app = App(outdir=outdir, analytics_reporting=False)
    locations = {stage: locator.locate(project.project_name, stage) for stage in configs}
    for stage, location in locations.items():
        if location.region != project.region:
            raise CrossRegionStageError(cross_region_problem(project, stage, location.region))
    for stage, config in configs.items():
        BatchInferenceStack(app, stage, project=project, model=model, location=locations[stage], config=config)
    return app
