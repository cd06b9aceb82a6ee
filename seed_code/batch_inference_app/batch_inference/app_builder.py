"""Assemble the CDK app: one BatchInferenceStack per deployment stage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from aws_cdk import App

from batch_inference.aws_lookups import ModelRegistry, StageLocator
from batch_inference.batch_stack import BatchInferenceStack, default_batch_prefix
from batch_inference.settings import ProjectSettings
from batch_inference.stage_config import CONFIG_DIR, StagePlacement, load_stage_config


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
    through DEV and PREPROD in the same pipeline run. A stage in another region than the
    project's scores with the same model data and image, staged in its region (batch_stack.py).
    """
    model = registry.latest_approved(project.model_package_group_name)
    locations = {stage: locator.locate(project.project_name, stage) for stage in project.stages}
    # Read every stage's settings first so one typo fails before any stack is made. Where a stage
    # deploys decides which of them it needs (input and output in its region).
    configs = {
        stage: load_stage_config(
            stage,
            default_batch_prefix(project, stage),
            config_dir,
            placement=StagePlacement(
                stage=stage,
                location=location,
                project_region=project.region,
                artifact_bucket=project.artifact_bucket,
                project_key_arn=project.artifact_bucket_kms_key_arn,
            ),
        )
        for stage, location in locations.items()
    }

    # No CDKMetadata resource: the templates are deployed by CloudFormation directly.
    app = App(outdir=outdir, analytics_reporting=False)
    for stage, config in configs.items():
        BatchInferenceStack(app, stage, project=project, model=model, location=locations[stage], config=config)
    return app
