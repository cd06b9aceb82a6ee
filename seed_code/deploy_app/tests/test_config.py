"""Tests for the environment settings and the per-stage YAML validation."""

from __future__ import annotations

import pytest

from deploy_endpoint.settings import DEFAULT_STAGES, ProjectSettings, SettingsError
from deploy_endpoint.stage_config import CONFIG_DIR, StageConfig, StageConfigError, load_stage_config

from .deploy_stubs import ENV

# The settings every deploy app reads: tests/test_deploy_settings.py (shared).


def test_shipped_stage_files_are_valid():
    configs = {stage: load_stage_config(stage) for stage in DEFAULT_STAGES}
    assert configs["dev"].autoscaling is None and not configs["dev"].data_capture.enabled
    assert configs["prod"].autoscaling.max_capacity == 4
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yml")) == sorted(DEFAULT_STAGES)


def test_defaults_of_optional_settings():
    config = StageConfig.from_dict({"instance_type": "ml.t2.medium"})
    assert (config.instance_count, config.variant_weight, config.autoscaling) == (1, 1.0, None)
    assert (config.data_capture.enabled, config.data_capture.sampling_percentage) == (False, 100)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({}, "instance_type must be"),
        ({"instance_type": "m5.large"}, "instance_type must be"),
        ({"instance_type": "ml.m5.large", "instance_count": 0}, "instance_count must be a whole number >= 1"),
        ({"instance_type": "ml.m5.large", "instance_count": True}, "instance_count must be"),
        ({"instance_type": "ml.m5.large", "variant_weight": 0}, "variant_weight must be a number > 0"),
        ({"instance_type": "ml.m5.large", "data_capture": {"enabled": "yes"}}, "data_capture.enabled"),
        (
            {"instance_type": "ml.m5.large", "data_capture": {"enabled": True, "sampling_percentage": 101}},
            "sampling_percentage must be 1-100",
        ),
        ({"instance_type": "ml.m5.large", "instance_cont": 2}, r"unknown setting\(s\) \['instance_cont'\]"),
        (
            {
                "instance_type": "ml.m5.large",
                "instance_count": 5,
                "autoscaling": {"min_capacity": 1, "max_capacity": 4, "target_invocations_per_instance": 100},
            },
            "min_capacity <= instance_count <= max_capacity",
        ),
        (
            {"instance_type": "ml.m5.large", "autoscaling": {"min_capacity": 1, "max_capacity": 2}},
            "target_invocations_per_instance must be",
        ),
    ],
)
def test_invalid_settings_are_rejected_with_the_file_name(raw, message):
    with pytest.raises(StageConfigError, match=message) as raised:
        StageConfig.from_dict(raw, source="qa.yml")
    assert str(raised.value).startswith("qa.yml: ")


def test_non_mapping_yaml_is_rejected(tmp_path):
    (tmp_path / "dev.yml").write_text("- just\n- a list\n")
    with pytest.raises(StageConfigError, match="expected a mapping"):
        load_stage_config("dev", tmp_path)


# --- Model monitoring ---------------------------------------------------------------------------

CAPTURING = {"instance_type": "ml.m5.large", "data_capture": {"enabled": True}}


@pytest.mark.parametrize("value, on", [("true", True), ("TRUE", True), ("1", True), ("false", False), ("", False)])
def test_model_monitoring_from_env(value, on):
    assert ProjectSettings.from_env({**ENV, "MODEL_MONITORING": value}).model_monitoring is on
    assert ProjectSettings.from_env(ENV).model_monitoring is False


def test_model_monitoring_must_be_true_or_false():
    with pytest.raises(SettingsError, match="MODEL_MONITORING must be true or false, got 'enabled'"):
        ProjectSettings.from_env({**ENV, "MODEL_MONITORING": "enabled"})


def test_monitoring_defaults_follow_the_project():
    config = StageConfig.from_dict(CAPTURING)
    assert (config.monitoring.enabled, config.monitoring.schedule, config.monitoring.instance_type) == (
        None,
        "cron(0 * ? * * *)",
        "ml.m5.large",
    )
    assert config.monitored(True) and not config.monitored(False)
    # Nothing to monitor without captured requests.
    assert not StageConfig.from_dict({"instance_type": "ml.m5.large"}).monitored(True)


def test_stage_monitoring_overrides_the_project():
    on = StageConfig.from_dict({**CAPTURING, "monitoring": {"enabled": True, "schedule": "cron(0 0 ? * * *)"}})
    assert on.monitored(False) and on.monitoring.schedule == "cron(0 0 ? * * *)"
    off = StageConfig.from_dict({**CAPTURING, "monitoring": {"enabled": False}})
    assert not off.monitored(True)


@pytest.mark.parametrize(
    "monitoring, message",
    [
        ({"enabled": "yes"}, "monitoring.enabled must be true or false"),
        ({"schedule": "rate(1 hour)"}, "monitoring.schedule must be a SageMaker cron expression"),
        ({"schedule": "cron(0 * * *)"}, "monitoring.schedule must be"),
        ({"instance_type": "m5.large"}, "monitoring.instance_type must be"),
        ({"enable": True}, r"unknown monitoring setting\(s\) \['enable'\]"),
        ("on", "monitoring must be a mapping"),
    ],
)
def test_invalid_monitoring_settings_are_rejected(monitoring, message):
    with pytest.raises(StageConfigError, match=message):
        StageConfig.from_dict({**CAPTURING, "monitoring": monitoring}, source="qa.yml")


def test_monitoring_a_stage_without_data_capture_is_rejected():
    with pytest.raises(StageConfigError, match="monitoring.enabled: true needs data_capture.enabled: true"):
        StageConfig.from_dict({"instance_type": "ml.m5.large", "monitoring": {"enabled": True}}, source="dev.yml")


# --- Data capture destination (a stage in another region, or a bucket of the stage's own) ---------

KEY = "arn:aws:kms:us-east-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.mark.parametrize(
    "uri, bucket, prefix",
    [
        ("s3://my-captures/datacapture/my-project-prod", "my-captures", "datacapture/my-project-prod"),
        ("s3://my-captures/datacapture/", "my-captures", "datacapture"),
        ("s3://my.captures-1", "my.captures-1", ""),
    ],
)
def test_a_capture_destination_is_a_bucket_and_prefix(uri, bucket, prefix):
    config = StageConfig.from_dict({**CAPTURING, "data_capture": {"enabled": True, "destination_s3_uri": uri, "kms_key_arn": KEY}})
    capture = config.data_capture
    assert (capture.destination_s3_uri, capture.destination_bucket, capture.destination_prefix, capture.kms_key_arn) == (
        uri.rstrip("/"), bucket, prefix, KEY,
    )


def test_no_capture_destination_by_default():
    capture = StageConfig.from_dict(CAPTURING).data_capture
    assert (capture.destination_s3_uri, capture.destination_bucket, capture.destination_prefix, capture.kms_key_arn) == (None,) * 4


@pytest.mark.parametrize(
    "data_capture, message",
    [
        ({"destination_s3_uri": "my-captures/prefix"}, "data_capture.destination_s3_uri must be an S3 prefix s3://<bucket>/<prefix>"),
        ({"destination_s3_uri": "s3://My_Bucket/prefix"}, "destination_s3_uri must be"),
        ({"destination_s3_uri": "s3://my-captures/pre*fix"}, "destination_s3_uri must be"),
        ({"destination_s3_uri": "s3://my-captures/a//b"}, "destination_s3_uri must be"),
        ({"destination_s3_uri": 42}, "destination_s3_uri must be"),
        (
            {"destination_s3_uri": "s3://my-captures/p", "kms_key_arn": "arn:aws:kms:us-east-1:333333333333:alias/captures"},
            r"data_capture.kms_key_arn must be the ARN of a KMS key of the stage's region .*not an alias",
        ),
        ({"kms_key_arn": KEY}, "data_capture.kms_key_arn needs data_capture.destination_s3_uri"),
        ({"destination_s3_url": "s3://my-captures/p"}, r"unknown data_capture setting\(s\) \['destination_s3_url'\]"),
    ],
)
def test_invalid_capture_destinations_are_rejected_with_the_file_name(data_capture, message):
    with pytest.raises(StageConfigError, match=message) as raised:
        StageConfig.from_dict({**CAPTURING, "data_capture": {"enabled": True, **data_capture}}, source="prod.yml")
    assert str(raised.value).startswith("prod.yml: ")
