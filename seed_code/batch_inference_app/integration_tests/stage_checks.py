"""What the smoke test checks in a deployed stage, apart from the AWS calls' credentials.

The deploy pipeline's test build (``buildspec-test.yml``) runs ``integration_tests/`` after each
stage's deployment, with the stage's test role (``STAGE_TEST_ROLE_ARN``) assumed. That role may
describe this stage's SageMaker pipeline and list its runs, nothing else: the test starts no batch
transform (a run costs money, and the stage's input data may not be there).

``tests/test_stage_checks.py`` covers these helpers offline with stubbed SageMaker answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, Mapping, Optional

# As batch_inference/pipeline_definition.py and mlops_deploy/stage_roles.py name them.
STEP_NAME = "BatchTransform"
ROLE_PATH = "/mlops-deployment/"

# Set by the deploy pipeline for each Test_<Stage> action (PROJECT_NAME on its project).
REQUIRED_VARIABLES = ("PROJECT_NAME", "STAGE_NAME", "STAGE_REGION")


class StageEnvironmentError(RuntimeError):
    """The environment does not say which stage to test."""


@dataclass(frozen=True)
class StageUnderTest:
    """The deployed stage to test: its pipeline is ``<project>-<stage>-batch``, in lowercase."""

    project_name: str
    stage: str
    region: str
    account: Optional[str] = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "StageUnderTest":
        missing = [name for name in REQUIRED_VARIABLES if not env.get(name)]
        if missing:
            # A failure, not a skip: a test that cannot run must not pass the stage on.
            raise StageEnvironmentError(
                f"Missing environment variables: {', '.join(missing)}. The deploy pipeline's Test_<Stage> "
                "actions set them; export them (and credentials of the stage's test role) to run these tests by hand."
            )
        return cls(
            project_name=env["PROJECT_NAME"],
            stage=env["STAGE_NAME"],
            region=env["STAGE_REGION"],
            account=env.get("STAGE_ACCOUNT_ID") or None,
        )

    @property
    def pipeline_name(self) -> str:
        return f"{self.project_name}-{self.stage}-batch".lower()


def pipeline_problems(description: Mapping[str, Any], stage: StageUnderTest) -> List[str]:
    """What is wrong with the answer of ``DescribePipeline`` for the stage's pipeline ([] if nothing).

    The pipeline must be active, in the stage's account, run by a role of the deployment, and its
    latest definition must be the one the stage's template deployed: one Transform step that scores
    with the model the template created (a concrete model name, not a parameter).
    """
    problems = []
    if description.get("PipelineName") != stage.pipeline_name:
        problems.append(f"pipeline name is {description.get('PipelineName')!r}, expected {stage.pipeline_name!r}")
    if description.get("PipelineStatus") != "Active":
        problems.append(f"pipeline status is {description.get('PipelineStatus')!r}, expected 'Active'")
    arn = description.get("PipelineArn", "")
    if stage.account and f":{stage.region}:{stage.account}:pipeline/" not in arn:
        problems.append(f"pipeline ARN {arn!r} is not in account {stage.account} and region {stage.region}")
    role = description.get("RoleArn", "")
    if f":role{ROLE_PATH}" not in role:
        problems.append(f"pipeline role {role!r} is not a deployment role (path {ROLE_PATH})")
    try:
        definition = json.loads(description.get("PipelineDefinition") or "")
    except ValueError:
        return problems + ["pipeline definition is not JSON"]
    steps = definition.get("Steps") if isinstance(definition, dict) else None
    if not isinstance(steps, list) or [(s.get("Name"), s.get("Type")) for s in steps if isinstance(s, dict)] != [
        (STEP_NAME, "Transform")
    ]:
        return problems + [f"pipeline definition does not hold exactly one Transform step {STEP_NAME!r}: {steps!r}"]
    model_name = (steps[0].get("Arguments") or {}).get("ModelName")
    if not isinstance(model_name, str) or not model_name:
        problems.append(f"the {STEP_NAME} step names no deployed model (ModelName {model_name!r})")
    return problems


def check_stage(sagemaker_client, stage: StageUnderTest) -> List[str]:
    """Describe the stage's pipeline and list its runs; return what is wrong ([] if nothing).

    Earlier runs may have failed (such as for missing input): they are not the deployment's fault.
    Listing them checks that the deployment's pipeline answers for its runs.
    """
    description = sagemaker_client.describe_pipeline(PipelineName=stage.pipeline_name)
    problems = pipeline_problems(description, stage)
    runs = sagemaker_client.list_pipeline_executions(
        PipelineName=stage.pipeline_name, SortBy="CreationTime", SortOrder="Descending", MaxResults=1
    )
    if not isinstance(runs.get("PipelineExecutionSummaries"), list):
        problems.append("ListPipelineExecutions gave no list of runs")
    return problems
