"""Tests for the environment settings and the per-stage YAML validation."""

from __future__ import annotations

import dataclasses

import pytest

from batch_inference.aws_lookups import StageLocation
from batch_inference.settings import DEFAULT_STAGES
from batch_inference.stage_config import (
    CONFIG_DIR,
    S3Prefix,
    StageConfig,
    StageConfigError,
    StagePlacement,
    load_stage_config,
    schedule_expression_problem,
)

DEFAULT_PREFIX = S3Prefix("mlops-my-project-111111111111", "batch/my-project-qa/")
MINIMAL = {"instance_type": "ml.m5.large", "schedule": {"expression": "cron(0 2 * * ? *)"}}

# The settings every deploy app reads: tests/test_deploy_settings.py (shared).


def test_shipped_stage_files_are_valid():
    configs = {stage: load_stage_config(stage, DEFAULT_PREFIX) for stage in DEFAULT_STAGES}
    assert not configs["dev"].schedule.enabled
    assert configs["prod"].schedule.enabled and configs["prod"].instance_count == 2
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yml")) == sorted(DEFAULT_STAGES)


def test_defaults_of_optional_settings():
    config = StageConfig.from_dict(MINIMAL, DEFAULT_PREFIX)
    assert config.instance_count == 1
    assert config.schedule.enabled is True
    assert config.input.uri == "s3://mlops-my-project-111111111111/batch/my-project-qa/input/"
    assert config.output.uri == "s3://mlops-my-project-111111111111/batch/my-project-qa/output/"
    assert (config.content_type, config.split_type, config.accept, config.assemble_with) == ("text/csv", "Line", None, "Line")
    assert (config.batch_strategy, config.max_payload_mb) == ("MultiRecord", 6)


def test_cron_spacing_is_normalized():
    config = StageConfig.from_dict({**MINIMAL, "schedule": {"expression": " cron( 0  2 * * ?  * ) "}}, DEFAULT_PREFIX)
    assert config.schedule.expression == "cron(0 2 * * ? *)"


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"schedule": MINIMAL["schedule"]}, "instance_type must be"),
        ({**MINIMAL, "instance_type": "m5.large"}, "instance_type must be"),
        ({**MINIMAL, "instance_count": 0}, "instance_count must be a whole number from 1 to 100, got 0"),
        ({**MINIMAL, "instance_count": 101}, "instance_count must be a whole number from 1 to 100, got 101"),
        ({**MINIMAL, "instance_count": True}, "instance_count must be"),
        ({**MINIMAL, "instance_count": "2"}, "instance_count must be"),
        ({**MINIMAL, "instance_cont": 2}, r"unknown setting\(s\) \['instance_cont'\]"),
        ({"instance_type": "ml.m5.large"}, "schedule must be a mapping with an expression"),
        ({**MINIMAL, "schedule": "cron(0 2 * * ? *)"}, "schedule must be a mapping"),
        ({**MINIMAL, "schedule": {"expression": "cron(0 2 * * ? *)", "enabled": "no"}}, "schedule.enabled must be true or false"),
        ({**MINIMAL, "schedule": {"expression": "cron(0 2 * * ? *)", "timezone": "UTC"}}, r"unknown schedule setting\(s\) \['timezone'\]"),
        ({**MINIMAL, "schedule": {"enabled": False}}, "schedule.expression None must be an EventBridge schedule expression"),
        ({**MINIMAL, "schedule": {"expression": "0 2 * * *"}}, "must be cron"),
        ({**MINIMAL, "input_s3_uri": "mlops-bucket/input/"}, "input_s3_uri 'mlops-bucket/input/' must be an S3 URI"),
        ({**MINIMAL, "input_s3_uri": "s3://My_Bucket/input/"}, "bucket name 'My_Bucket' is not a valid S3 bucket name"),
        ({**MINIMAL, "output_s3_uri": "s3://results-bucket"}, "output_s3_uri .* must name a prefix inside the bucket"),
        ({**MINIMAL, "output_s3_uri": "s3://results-bucket/"}, "must name a prefix inside the bucket"),
        ({**MINIMAL, "output_s3_uri": "s3://results-bucket/out/*"}, r"prefix 'out/\*' may hold only"),
        ({**MINIMAL, "input_s3_uri": "s3://results-bucket/a//b/"}, "may hold only"),
        ({**MINIMAL, "input_s3_uri": "s3://results-bucket/my data/"}, "may hold only"),
        (
            {**MINIMAL, "input_s3_uri": "s3://b-1/data/", "output_s3_uri": "s3://b-1/data/scores/"},
            "input_s3_uri s3://b-1/data/ and output_s3_uri s3://b-1/data/scores/ overlap",
        ),
        (
            # Overriding the input to the stage's folder would read the default output below it.
            {**MINIMAL, "input_s3_uri": "s3://mlops-my-project-111111111111/batch/my-project-qa"},
            "overlap",
        ),
        ({**MINIMAL, "content_type": "csv"}, "content_type must be a MIME type"),
        ({**MINIMAL, "accept": ""}, "accept must be a MIME type"),
        ({**MINIMAL, "split_type": "line"}, "split_type must be one of None, Line, RecordIO, TFRecord, got 'line'"),
        ({**MINIMAL, "assemble_with": None}, "assemble_with must be one of None, Line, got None"),
        ({**MINIMAL, "batch_strategy": "Multi"}, "batch_strategy must be one of MultiRecord, SingleRecord"),
        ({**MINIMAL, "max_payload_mb": 101}, "max_payload_mb must be a whole number from 0 to 100"),
    ],
)
def test_invalid_settings_are_rejected_with_the_file_name(raw, message):
    with pytest.raises(StageConfigError, match=message) as raised:
        StageConfig.from_dict(raw, DEFAULT_PREFIX, source="qa.yml")
    assert str(raised.value).startswith("qa.yml: ")


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 2 * * ? *)",
        "cron(15 10 ? * 6L 2030)",
        "cron(0/15 * * * ? *)",
        "cron(0 8 1 * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0,30 6-18 L * ? *)",
        "cron(5 0 ? JAN,JUL MON#2 *)",
        "cron(0 12 15W * ? *)",
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(1 day)",
        "rate(12 hours)",
    ],
)
def test_valid_schedule_expressions(expression):
    assert schedule_expression_problem(expression) is None


@pytest.mark.parametrize(
    "expression, message",
    [
        ("cron(0 2 * * *)", "has 5 fields; EventBridge cron takes 6"),
        ("cron(0 2 * * * *)", r"must have \? in exactly one of day-of-month"),
        ("cron(0 2 ? * ? *)", r"must have \? in exactly one"),
        ("cron(60 2 * * ? *)", "invalid minutes field '60': 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "invalid hours field '24': 24 is outside 0-23"),
        ("cron(0 2 32 * ? *)", "invalid day-of-month field '32'"),
        ("cron(0 2 ? 13 MON *)", "invalid month field '13'"),
        ("cron(0 2 ? * 8 *)", "invalid day-of-week field '8'"),
        ("cron(0 2 ? * MONDAY *)", "invalid day-of-week field 'MONDAY'"),
        ("cron(0 2 ? JAN-MON * *)", "invalid month field 'JAN-MON'"),
        ("cron(0 2 * * ? 1969)", "invalid year field '1969'"),
        ("cron(0 2 *,1 * ? *)", r"\* cannot be part of a list"),
        ("cron(a 2 * * ? *)", "invalid minutes field 'a'"),
        ("rate(0 minutes)", "at least every 1"),
        ("rate(1 days)", "singular unit for 1"),
        ("rate(2 hour)", "plural unit for 2"),
        ("rate(1 week)", "is not a rate"),
        ("rate(five minutes)", "is not a rate"),
        ("at(2030-01-01T00:00:00)", "must be cron"),
        ("", "must be cron"),
        (5, "must be an EventBridge schedule expression"),
    ],
)
def test_invalid_schedule_expressions_say_what_is_wrong(expression, message):
    problem = schedule_expression_problem(expression)
    assert problem is not None
    assert __import__("re").search(message, problem), problem


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("s3://bucket-1/a", S3Prefix("bucket-1", "a/")),
        ("s3://bucket.with.dots/a/b/", S3Prefix("bucket.with.dots", "a/b/")),
        ("s3://b12/date=2024-05-01/part_(1)/", S3Prefix("b12", "date=2024-05-01/part_(1)/")),
    ],
)
def test_s3_prefixes(uri, expected):
    assert S3Prefix.parse(uri) == expected


def test_prefix_containment():
    outer = S3Prefix("b", "batch/")
    assert outer.contains(S3Prefix("b", "batch/x/"))
    assert not outer.contains(S3Prefix("b", "batches/"))
    assert not outer.contains(S3Prefix("c", "batch/x/"))


def test_invalid_yaml_is_a_clear_error(tmp_path):
    (tmp_path / "dev.yml").write_text("instance_type: ml.m5.large\nschedule: {expression: cron(0 2 * * ? *)}\n")
    with pytest.raises(StageConfigError, match="dev.yml: not valid YAML"):
        load_stage_config("dev", DEFAULT_PREFIX, tmp_path)


def test_non_mapping_yaml_is_rejected(tmp_path):
    (tmp_path / "dev.yml").write_text("- just\n- a list\n")
    with pytest.raises(StageConfigError, match="expected a mapping"):
        load_stage_config("dev", DEFAULT_PREFIX, tmp_path)


# --- Where the stage deploys: its region decides its input, output and key -----------------------

PROJECT_KEY = "arn:aws:kms:eu-west-1:111111111111:key/00000000-1111-2222-3333-444444444444"
HOME = StagePlacement(
    stage="qa",
    location=StageLocation(account="222222222222", region="eu-west-1"),
    project_region="eu-west-1",
    artifact_bucket=DEFAULT_PREFIX.bucket,
    project_key_arn=PROJECT_KEY,
)
AWAY = dataclasses.replace(HOME, location=StageLocation(account="222222222222", region="us-east-1"))
AWAY_DATA = {"input_s3_uri": "s3://scoring-us-east-1/in/", "output_s3_uri": "s3://scoring-us-east-1/out"}
AWAY_KEY = "arn:aws:kms:us-east-1:222222222222:key/0123abcd-0123-4567-89ab-0123456789ab"
HOME_KEY = "arn:aws:kms:eu-west-1:222222222222:key/mrk-0123456789abcdef0123456789abcdef"


def test_a_stage_in_another_region_scores_the_prefixes_it_names():
    config = StageConfig.from_dict({**MINIMAL, **AWAY_DATA}, DEFAULT_PREFIX, "qa.yml", AWAY)
    assert (config.input.uri, config.output.uri) == ("s3://scoring-us-east-1/in/", "s3://scoring-us-east-1/out/")
    # No key of its own: the output bucket's default encryption and SageMaker's key for the volumes.
    assert config.kms_key_arn is None
    assert StageConfig.from_dict({**MINIMAL, **AWAY_DATA, "kms_key_arn": AWAY_KEY}, DEFAULT_PREFIX, "qa.yml", AWAY).kms_key_arn == AWAY_KEY


def test_a_stage_in_the_projects_region_keeps_the_defaults_and_may_name_a_key():
    assert StageConfig.from_dict(MINIMAL, DEFAULT_PREFIX, "qa.yml", HOME) == StageConfig.from_dict(MINIMAL, DEFAULT_PREFIX)
    assert StageConfig.from_dict({**MINIMAL, "kms_key_arn": HOME_KEY}, DEFAULT_PREFIX, "qa.yml", HOME).kms_key_arn == HOME_KEY


@pytest.mark.parametrize(
    "placement, raw, message",
    [
        (
            AWAY,
            MINIMAL,
            "qa.yml: stage 'qa' deploys in region us-east-1, not in the project's region eu-west-1, so input_s3_uri "
            "and output_s3_uri are required: the default prefixes are under the project's artifact bucket "
            "mlops-my-project-111111111111, in eu-west-1, and a SageMaker batch transform job reads its input and "
            "writes its output in S3 of its own region only. Set input_s3_uri and output_s3_uri to prefixes of "
            "buckets in us-east-1 that the stage's account 222222222222 may read and write",
        ),
        (AWAY, {**MINIMAL, "input_s3_uri": AWAY_DATA["input_s3_uri"]}, "so output_s3_uri is required: the default"),
        (AWAY, {**MINIMAL, "output_s3_uri": AWAY_DATA["output_s3_uri"]}, "so input_s3_uri is required: the default"),
        (
            AWAY,
            {**MINIMAL, **AWAY_DATA, "input_s3_uri": "s3://mlops-my-project-111111111111/batch/in"},
            "qa.yml: stage 'qa' deploys in region us-east-1, not in the project's region eu-west-1, so input_s3_uri "
            "s3://mlops-my-project-111111111111/batch/in/ cannot be in the project's artifact bucket "
            "mlops-my-project-111111111111 (in eu-west-1): a SageMaker batch transform job reads and writes S3 of its "
            "own region only. Use a bucket in us-east-1",
        ),
        (
            AWAY,
            {**MINIMAL, **AWAY_DATA, "kms_key_arn": PROJECT_KEY},
            f"qa.yml: kms_key_arn '{PROJECT_KEY}' is a key of region eu-west-1, but stage 'qa' deploys in us-east-1: "
            "a batch transform job uses keys of its own region only. Give a key of us-east-1 that the stage's "
            "account 222222222222 may use",
        ),
        (HOME, {**MINIMAL, "kms_key_arn": AWAY_KEY}, "is a key of region us-east-1, but stage 'qa' deploys in eu-west-1"),
        (
            HOME,
            {**MINIMAL, "kms_key_arn": PROJECT_KEY},
            f"qa.yml: kms_key_arn '{PROJECT_KEY}' is the project's key, which the stage uses without this setting: remove it",
        ),
        (None, {**MINIMAL, "kms_key_arn": "alias/my-key"}, "kms_key_arn must be the ARN of a KMS key, such as arn:aws:kms:"),
        (None, {**MINIMAL, "kms_key_arn": "arn:aws:kms:us-east-1:222222222222:alias/my-key"}, "(not an alias), got"),
        (None, {**MINIMAL, "kms_key_arn": "arn:aws:kms:us-east-1:222222222222:key/k"}, "kms_key_arn must be the ARN"),
        (None, {**MINIMAL, "kms_key_arn": 5}, "got 5"),
    ],
)
def test_what_a_stage_cannot_use_where_it_deploys(placement, raw, message):
    """Each error names the file, the setting and its value, the stage and regions, and what to do."""
    with pytest.raises(StageConfigError) as raised:
        StageConfig.from_dict(raw, DEFAULT_PREFIX, "qa.yml", placement)
    assert message in str(raised.value)


def test_the_stage_file_is_checked_for_where_the_stage_deploys(tmp_path):
    (tmp_path / "qa.yml").write_text("instance_type: ml.m5.large\nschedule:\n  expression: rate(1 day)\n")
    assert load_stage_config("qa", DEFAULT_PREFIX, tmp_path, HOME).input.bucket == DEFAULT_PREFIX.bucket
    with pytest.raises(StageConfigError, match="^qa.yml: stage 'qa' deploys in region us-east-1"):
        load_stage_config("qa", DEFAULT_PREFIX, tmp_path, AWAY)
