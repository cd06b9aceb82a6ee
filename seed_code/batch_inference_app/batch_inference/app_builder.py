"""Assemble the CDK app: one BatchInferenceStack per deployment stage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from aws_cdk import App

from batch_inference.aws_lookups import ModelRegistry, StageLocator
from batch_inference.batch_stack import BatchInferenceStack, default_batch_prefix
from batch_inference.settings import ProjectSettings
from batch_inference.stage_config import CONFIG_DIR, load_stage_config


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
    for stage, config in configs.items():
        BatchInferenceStack(
            app,
            stage,
            project=project,
            model=model,
            location=locator.locate(project.project_name, stage),
            config=config,
        )
    return app
