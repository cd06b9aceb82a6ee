"""Helpers of the stage integration tests: which endpoint, what to send it, how to read its answer.

Kept apart from the tests so tests/test_integration_helpers.py can check them offline with
stubbed clients (the integration tests themselves only run against a deployed stage).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

# What the deploy pipeline's Test_<Stage> action passes (buildspec-test.yml).
REQUIRED_VARIABLES = ("PROJECT_NAME", "STAGE_NAME", "STAGE_REGION")

# One row of the bundled build app's model input (seed_code/shared/build, preprocess.py): the 7
# standardized measurements (length, diameter, height, whole_weight, shucked_weight,
# viscera_weight, shell_weight), then sex one-hot encoded (F, I, M). No label column: the
# endpoint predicts the number of rings. Change it if your model takes other features.
SAMPLE_ROW = "0.2,0.3,0.1,0.25,0.2,0.15,0.3,0.0,0.0,1.0"
CONTENT_TYPE = "text/csv"


class StageTestSetupError(RuntimeError):
    """The environment does not say which stage to test."""


@dataclass(frozen=True)
class StageUnderTest:
    project_name: str
    stage: str
    region: str

    @property
    def endpoint_name(self) -> str:
        """The endpoint the stage's stack creates: ``<project>-<stage>``."""
        return f"{self.project_name}-{self.stage}"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "StageUnderTest":
        env = os.environ if env is None else env
        missing = [name for name in REQUIRED_VARIABLES if not env.get(name)]
        if missing:
            raise StageTestSetupError(
                f"Missing environment variables: {', '.join(missing)}. The deploy pipeline's Test_<Stage> "
                "action sets them (buildspec-test.yml); export them to run integration_tests/ by hand."
            )
        return cls(project_name=env["PROJECT_NAME"], stage=env["STAGE_NAME"], region=env["STAGE_REGION"])


def wait_in_service(
    sagemaker_client,
    endpoint_name: str,
    *,
    timeout_seconds: float = 900,
    poll_seconds: float = 30,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Wait while the endpoint is Creating or Updating; return its final status (InService if healthy)."""
    waited = 0.0
    while True:
        status = sagemaker_client.describe_endpoint(EndpointName=endpoint_name)["EndpointStatus"]
        if status not in ("Creating", "Updating", "SystemUpdating") or waited >= timeout_seconds:
            return status
        sleep(poll_seconds)
        waited += poll_seconds


def parse_prediction(body: bytes) -> float:
    """The first number of the endpoint's answer: ``7.5``, ``7.5\\n``, ``[7.5]`` or ``7.5,8.1``."""
    text = body.decode("utf-8").strip().strip("[]").strip()
    first = text.replace("\n", ",").split(",")[0].strip()
    try:
        return float(first)
    except ValueError:
        raise ValueError(f"The endpoint did not answer with a number: {body[:200]!r}") from None


def predict(runtime_client, endpoint_name: str, row: str = SAMPLE_ROW) -> float:
    """Send one CSV row to the endpoint and return its prediction."""
    response = runtime_client.invoke_endpoint(
        EndpointName=endpoint_name, ContentType=CONTENT_TYPE, Accept=CONTENT_TYPE, Body=row.encode("utf-8")
    )
    return parse_prediction(response["Body"].read())
