"""Clients for the stage under test, in its region, with the credentials of its test role
(buildspec-test.yml assumes STAGE_TEST_ROLE_ARN before it runs pytest)."""

from __future__ import annotations

import boto3
import pytest

from .endpoint_checks import StageUnderTest


@pytest.fixture(scope="session")
def stage() -> StageUnderTest:
    return StageUnderTest.from_env()


@pytest.fixture(scope="session")
def session(stage: StageUnderTest) -> boto3.Session:
    return boto3.Session(region_name=stage.region)
