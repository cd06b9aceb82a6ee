"""Assemble the CDK app: one EndpointStack per deployment stage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from aws_cdk import App

from deploy_endpoint.aws_lookups import ApprovedModel, MissingBaselineError, ModelRegistry, StageLocator
from deploy_endpoint.endpoint_stack import EndpointStack
from deploy_endpoint.settings import ProjectSettings
from deploy_endpoint.stage_config import CONFIG_DIR, load_stage_config


def build_app(
    project: ProjectSettings,
    registry: ModelRegistry,
    locator: StageLocator,
    *,
    config_dir: Path = CONFIG_DIR,
    outdir: Optional[str] = None,
) -> App:
    """Look up the model and stages, then define one stack per stage (nothing is written yet).

    All stages deploy the *same* approved package: a model reaches PROD only
    after it went through DEV and PREPROD in the same pipeline run.
    """
    model = registry.latest_approved(project.model_package_group_name)
    # Read every stage's settings first so one typo fails before any stack is made.
    configs = {stage: load_stage_config(stage, config_dir) for stage in project.stages}
    monitored = [stage for stage, config in configs.items() if config.monitored(project.model_monitoring)]
    if monitored:
        _check_baseline(model, monitored)

    # No CDKMetadata resource: the templates are deployed by CloudFormation directly.
    app = App(outdir=outdir, analytics_reporting=False)
    for stage, config in configs.items():
        EndpointStack(
            app,
            stage,
            project=project,
            model=model,
            location=locator.locate(project.project_name, stage),
            config=config,
        )
    return app


def _check_baseline(model: ApprovedModel, monitored_stages: list) -> None:
    if model.data_quality_baseline is not None:
        return
    raise MissingBaselineError(
        f"Model monitoring is on for stage(s) {', '.join(monitored_stages)}, but the approved model package "
        f"{model.model_package_arn} has no data-quality baseline (DriftCheckBaselines.ModelDataQuality or "
        "ModelMetrics.ModelDataQuality), which the monitoring schedules compare captured requests with. "
        "Enable MODEL_MONITORING=true in the environment of the model build repository's build, let it "
        "retrain and register a new model version (it then computes and records the baseline), approve that "
        "version, and deploy again. Or turn monitoring off: unset MODEL_MONITORING in this synth build, or "
        "set monitoring.enabled: false in config/<stage>.yml."
    )
