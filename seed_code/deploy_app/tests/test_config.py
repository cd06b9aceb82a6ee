"""Tests for the environment settings and the per-stage YAML validation."""

from __future__ import annotations

import pytest

from deploy_endpoint.settings import DEFAULT_STAGES, ProjectSettings, SettingsError, parse_stages
from deploy_endpoint.stage_config import CONFIG_DIR, StageConfig, StageConfigError, load_stage_config

ENV = {
    "PROJECT_NAME": "my-project",
    "PROJECT_ID": "p-abc123",
    "MODEL_PACKAGE_GROUP_NAME": "my-project-p-abc123",
    "ARTIFACT_BUCKET": "mlops-my-project-111111111111",
    "ARTIFACT_BUCKET_KMS_ID": "arn:aws:kms:eu-west-1:111111111111:key/k",
    "AWS_REGION": "eu-west-1",
}


def test_settings_from_env():
    settings = ProjectSettings.from_env({**ENV, "DEPLOYMENT_STAGES": " dev, qa ,prod "})
    assert settings.project_name == "my-project"
    assert settings.artifact_bucket_kms_key_arn == ENV["ARTIFACT_BUCKET_KMS_ID"]
    assert settings.stages == ("dev", "qa", "prod")


def test_stages_default_and_duplicates():
    assert ProjectSettings.from_env(ENV).stages == DEFAULT_STAGES == ("dev", "preprod", "prod")
    assert parse_stages(" , ") == DEFAULT_STAGES
    with pytest.raises(SettingsError, match="twice"):
        parse_stages("dev,prod,dev")


def test_missing_variables_are_all_named():
    env = {k: v for k, v in ENV.items() if k not in ("ARTIFACT_BUCKET", "AWS_REGION")}
    with pytest.raises(SettingsError, match="Missing environment variables: ARTIFACT_BUCKET, AWS_REGION"):
        ProjectSettings.from_env(env)


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
