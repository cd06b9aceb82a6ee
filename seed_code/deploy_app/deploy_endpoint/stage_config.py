"""Per-stage endpoint settings, read from ``config/<stage>.yml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


class StageConfigError(ValueError):
    """A stage's YAML file is missing or holds an invalid value."""


@dataclass(frozen=True)
class DataCapture:
    """Whether the endpoint records requests/responses to S3, for what share of them, and where.

    ``destination_s3_uri`` ``None`` writes to the project's artifact bucket (in the project's
    region); a stage in another region must name a bucket of its own region, as SageMaker writes
    captures only to a bucket of the endpoint's region. ``kms_key_arn`` ``None`` with a destination:
    the bucket's default encryption.
    """

    enabled: bool = False
    sampling_percentage: int = 100
    destination_s3_uri: Optional[str] = None
    kms_key_arn: Optional[str] = None

    @property
    def destination_bucket(self) -> Optional[str]:
        """The bucket of ``destination_s3_uri``."""
        return _S3_PREFIX.match(self.destination_s3_uri).group("bucket") if self.destination_s3_uri else None

    @property
    def destination_prefix(self) -> Optional[str]:
        """The key prefix of ``destination_s3_uri`` (no trailing slash; empty for the whole bucket)."""
        if not self.destination_s3_uri:
            return None
        return _S3_PREFIX.match(self.destination_s3_uri).group("prefix") or ""


# An S3 bucket (names of 3-63 lowercase letters, digits, dots and hyphens) and an optional key prefix of
# plain characters: no wildcards (* ?) or policy variables ($), since the role's policy names the prefix.
_S3_PREFIX = re.compile(
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>[\w!'().=+-]+(?:/[\w!'().=+-]+)*))?$",
    re.ASCII,
)
# A KMS key (not an alias, which IAM policies cannot name as a resource), e.g. of a multi-Region key mrk-...
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):key/[A-Za-z0-9-]+$")
DATA_CAPTURE_SETTINGS = {"enabled", "sampling_percentage", "destination_s3_uri", "kms_key_arn"}


# Hourly, at the start of the hour: what SageMaker's data-quality schedules most often run.
DEFAULT_MONITORING_SCHEDULE = "cron(0 * ? * * *)"
DEFAULT_MONITORING_INSTANCE_TYPE = "ml.m5.large"
# SageMaker's schedule expressions: cron(<6 fields>), e.g. hourly or daily.
CRON = re.compile(r"^cron\((\S+ ){5}\S+\)$")


@dataclass(frozen=True)
class Monitoring:
    """A data-quality monitoring schedule on the endpoint's captured requests.

    ``enabled`` ``None`` follows the project (the synth build's MODEL_MONITORING).
    """

    enabled: Optional[bool] = None
    schedule: str = DEFAULT_MONITORING_SCHEDULE
    instance_type: str = DEFAULT_MONITORING_INSTANCE_TYPE


@dataclass(frozen=True)
class Autoscaling:
    """Target tracking on invocations per instance between ``min_capacity`` and ``max_capacity``."""

    min_capacity: int
    max_capacity: int
    target_invocations_per_instance: int


@dataclass(frozen=True)
class StageConfig:
    """How one stage's endpoint is sized and monitored."""

    instance_type: str
    instance_count: int = 1
    variant_weight: float = 1.0
    data_capture: DataCapture = DataCapture()
    autoscaling: Optional[Autoscaling] = None
    monitoring: Monitoring = Monitoring()

    def monitored(self, project_default: bool) -> bool:
        """Whether the stage's endpoint gets a monitoring schedule: only if it captures data.

        The project's default (MODEL_MONITORING) applies to the stages that capture data; a
        stage that enables monitoring itself must capture data (``from_dict`` checks it).
        """
        enabled = project_default if self.monitoring.enabled is None else self.monitoring.enabled
        return enabled and self.data_capture.enabled

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "stage config") -> "StageConfig":
        """Validate ``raw`` (parsed YAML) so that mistakes fail at synth time, not at deploy time."""

        def fail(message: str) -> StageConfigError:
            return StageConfigError(f"{source}: {message}")

        known = {"instance_type", "instance_count", "variant_weight", "data_capture", "autoscaling", "monitoring"}
        unknown = set(raw) - known
        if unknown:
            raise fail(f"unknown setting(s) {sorted(unknown)}; expected some of {sorted(known)}")

        instance_type = raw.get("instance_type")
        if not isinstance(instance_type, str) or not instance_type.startswith("ml."):
            raise fail(f"instance_type must be a SageMaker instance type such as ml.m5.large, got {instance_type!r}")
        instance_count = _positive_int(raw.get("instance_count", 1), "instance_count", fail)
        variant_weight = raw.get("variant_weight", 1.0)
        if isinstance(variant_weight, bool) or not isinstance(variant_weight, (int, float)) or variant_weight <= 0:
            raise fail(f"variant_weight must be a number > 0, got {variant_weight!r}")

        data_capture = _data_capture(raw.get("data_capture"), fail)
        enabled = data_capture.enabled

        autoscaling = None
        scaling_raw = raw.get("autoscaling")
        if scaling_raw:
            autoscaling = Autoscaling(
                min_capacity=_positive_int(scaling_raw.get("min_capacity"), "autoscaling.min_capacity", fail),
                max_capacity=_positive_int(scaling_raw.get("max_capacity"), "autoscaling.max_capacity", fail),
                target_invocations_per_instance=_positive_int(
                    scaling_raw.get("target_invocations_per_instance"),
                    "autoscaling.target_invocations_per_instance",
                    fail,
                ),
            )
            if not autoscaling.min_capacity <= instance_count <= autoscaling.max_capacity:
                raise fail(
                    "autoscaling needs min_capacity <= instance_count <= max_capacity, got "
                    f"{autoscaling.min_capacity} <= {instance_count} <= {autoscaling.max_capacity}"
                )

        monitoring = _monitoring(raw.get("monitoring"), capture=enabled, fail=fail)

        return cls(
            instance_type=instance_type,
            instance_count=instance_count,
            variant_weight=float(variant_weight),
            data_capture=data_capture,
            autoscaling=autoscaling,
            monitoring=monitoring,
        )


def _data_capture(raw: Any, fail) -> DataCapture:
    if raw is None:
        return DataCapture()
    if not isinstance(raw, dict):
        raise fail(f"data_capture must be a mapping ({', '.join(sorted(DATA_CAPTURE_SETTINGS))}), got {raw!r}")
    unknown = set(raw) - DATA_CAPTURE_SETTINGS
    if unknown:
        raise fail(f"unknown data_capture setting(s) {sorted(unknown)}; expected some of {sorted(DATA_CAPTURE_SETTINGS)}")
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise fail(f"data_capture.enabled must be true or false, got {enabled!r}")
    sampling = _positive_int(raw.get("sampling_percentage", 100), "data_capture.sampling_percentage", fail)
    if sampling > 100:
        raise fail(f"data_capture.sampling_percentage must be 1-100, got {sampling}")
    destination = raw.get("destination_s3_uri")
    if destination is not None:
        if isinstance(destination, str):
            destination = destination.rstrip("/")
        if not isinstance(destination, str) or not _S3_PREFIX.match(destination):
            raise fail(
                "data_capture.destination_s3_uri must be an S3 prefix s3://<bucket>/<prefix> or a bucket s3://<bucket> (of the "
                "stage's account and region; a prefix of letters, digits and !'()._=+- separated by /), "
                f"got {raw.get('destination_s3_uri')!r}"
            )
    key = raw.get("kms_key_arn")
    if key is not None:
        if not isinstance(key, str) or not KMS_KEY_ARN.match(key):
            raise fail(
                "data_capture.kms_key_arn must be the ARN of a KMS key of the stage's region "
                f"(arn:aws:kms:<region>:<account>:key/<key id>; not an alias), got {key!r}"
            )
        if destination is None:
            raise fail(
                "data_capture.kms_key_arn needs data_capture.destination_s3_uri: it is the key of that bucket "
                "(without a destination the captures go to the project's artifact bucket, with the project's key)"
            )
    return DataCapture(enabled=enabled, sampling_percentage=sampling, destination_s3_uri=destination, kms_key_arn=key)


def _monitoring(raw: Any, *, capture: bool, fail) -> Monitoring:
    if raw is None:
        return Monitoring()
    if not isinstance(raw, dict):
        raise fail(f"monitoring must be a mapping (enabled, schedule, instance_type), got {raw!r}")
    known = {"enabled", "schedule", "instance_type"}
    unknown = set(raw) - known
    if unknown:
        raise fail(f"unknown monitoring setting(s) {sorted(unknown)}; expected some of {sorted(known)}")
    enabled = raw.get("enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise fail(f"monitoring.enabled must be true or false, got {enabled!r}")
    if enabled and not capture:
        raise fail(
            "monitoring.enabled: true needs data_capture.enabled: true (the schedule analyzes the captured requests)"
        )
    schedule = raw.get("schedule", DEFAULT_MONITORING_SCHEDULE)
    if not isinstance(schedule, str) or not CRON.match(schedule):
        raise fail(
            f"monitoring.schedule must be a SageMaker cron expression such as {DEFAULT_MONITORING_SCHEDULE!r} "
            f"(hourly) or 'cron(0 0 ? * * *)' (daily), got {schedule!r}"
        )
    instance_type = raw.get("instance_type", DEFAULT_MONITORING_INSTANCE_TYPE)
    if not isinstance(instance_type, str) or not instance_type.startswith("ml."):
        raise fail(f"monitoring.instance_type must be a SageMaker instance type such as ml.m5.large, got {instance_type!r}")
    return Monitoring(enabled=enabled, schedule=schedule, instance_type=instance_type)


def _positive_int(value: Any, name: str, fail) -> int:
    # bool is a subclass of int in Python; "true" is never a valid count.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def load_stage_config(stage: str, config_dir: Path = CONFIG_DIR) -> StageConfig:
    """Read and validate ``<config_dir>/<stage>.yml``."""
    path = config_dir / f"{stage}.yml"
    if not path.is_file():
        raise StageConfigError(
            f"No settings for stage '{stage}': create {path.name} in {config_dir} "
            "(copy dev.yml and adjust it), or remove the stage from DEPLOYMENT_STAGES."
        )
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise StageConfigError(f"{path.name}: expected a mapping of settings")
    return StageConfig.from_dict(raw, source=path.name)
