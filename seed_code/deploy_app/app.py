#!/usr/bin/env python3
"""Entry point of ``cdk synth``: writes ``cdk.out/<stage>.template.json`` for every stage.

Reads the project from environment variables (see deploy_endpoint/settings.py),
the newest approved model from the Model Registry, and each stage's account and
region from SSM, all in the DEV account. A stage in another region than the
project's also gets ``cdk.out/<stage>.assets.json`` (its model data, which the
deploy pipeline publishes before it deploys the template).
"""

from __future__ import annotations

import sys
from typing import Optional

import boto3

from mlops_deploy.regions import CrossRegionError

from deploy_endpoint.app_builder import build_app
from deploy_endpoint.aws_lookups import (
    MissingBaselineError,
    MissingStageParameterError,
    ModelRegistry,
    NoApprovedModelError,
    StageLocator,
)
from deploy_endpoint.settings import ProjectSettings, SettingsError
from deploy_endpoint.stage_config import StageConfigError

# Errors whose message says what to do; anything else keeps its traceback.
EXPECTED_ERRORS = (CrossRegionError, NoApprovedModelError, MissingBaselineError, MissingStageParameterError, SettingsError, StageConfigError)


def main(outdir: Optional[str] = None) -> int:
    """Synthesize into ``outdir`` (default: where ``cdk synth`` asks, else a temp dir); return the exit code."""
    try:
        project = ProjectSettings.from_env()
        session = boto3.Session(region_name=project.region)
        app = build_app(
            project,
            ModelRegistry(session.client("sagemaker")),
            StageLocator(session.client("ssm")),
            outdir=outdir,
        )
    except EXPECTED_ERRORS as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
