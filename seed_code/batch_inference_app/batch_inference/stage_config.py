"""Per-stage batch inference settings, read from ``config/<stage>.yml``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import yaml

from mlops_deploy.aws_lookups import StageLocation
from mlops_deploy.regions import in_project_region

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"

# A batch transform job runs on 1 to 100 instances.
MAX_INSTANCE_COUNT = 100
SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
ASSEMBLE_WITH = ("None", "Line")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")

INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
MIME_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
# S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Key prefixes of safe characters only: they become IAM resource ARNs, where * and ? are wildcards.
KEY_PREFIX = re.compile(r"^[A-Za-z0-9!_.'()=-]+(/[A-Za-z0-9!_.'()=-]+)*/?$")
# A KMS key by ARN (not an alias: IAM policies name keys by key ARN): single-region or multi-Region (mrk-).
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):key/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$")


class StageConfigError(ValueError):
    """A stage's YAML file is missing or holds an invalid value."""


@dataclass(frozen=True)
class S3Prefix:
    """A "folder" of an S3 bucket: ``s3://<bucket>/<key>`` where ``key`` ends with ``/``."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: Any) -> "S3Prefix":
        """Parse ``s3://bucket/some/prefix[/]``; raise ValueError saying what is wrong."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ValueError("must be an S3 URI such as s3://my-bucket/batch/input/")
        bucket, _, key = uri[len("s3://"):].partition("/")
        if not BUCKET_NAME.match(bucket) or ".." in bucket:
            raise ValueError(f"bucket name {bucket!r} is not a valid S3 bucket name")
        if not key:
            # The roles get write or read access to everything under the prefix: never a whole bucket.
            raise ValueError("must name a prefix inside the bucket (s3://bucket/prefix/), not the whole bucket")
        if not KEY_PREFIX.match(key):
            raise ValueError(
                f"prefix {key!r} may hold only letters, digits, !_.'()=- and single slashes (no *, ?, spaces or //)"
            )
        return cls(bucket=bucket, key=key if key.endswith("/") else key + "/")

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def contains(self, other: "S3Prefix") -> bool:
        return self.bucket == other.bucket and other.key.startswith(self.key)


@dataclass(frozen=True)
class StagePlacement:
    """Where a stage deploys, and where the project is: which S3 prefixes and key the stage can use.

    SageMaker batch transform reads its input and writes its output in S3 of its own region, and
    a KMS key serves its own region only; the project's artifact bucket and key are in the
    project's region.
    """

    stage: str
    location: StageLocation
    project_region: str
    artifact_bucket: str
    project_key_arn: str

    @property
    def in_project_region(self) -> bool:
        return in_project_region(self.project_region, self.location)


@dataclass(frozen=True)
class Schedule:
    """When EventBridge starts the batch pipeline: a cron() or rate() expression, in UTC."""

    expression: str
    enabled: bool = True


@dataclass(frozen=True)
class StageConfig:
    """How one stage scores its input data: where, when, on what and in which format."""

    instance_type: str
    schedule: Schedule
    input: S3Prefix
    output: S3Prefix
    instance_count: int = 1
    content_type: str = "text/csv"
    split_type: str = "Line"
    accept: Optional[str] = None
    assemble_with: str = "Line"
    batch_strategy: str = "MultiRecord"
    max_payload_mb: int = 6
    # The KMS key (of the stage's region) that encrypts the output and the jobs' storage volumes
    # instead of the project's key (None: the project's key in the project's region; in another
    # region, the output bucket's default encryption and SageMaker's own key for the volumes).
    kms_key_arn: Optional[str] = None

    @classmethod
    def from_dict(
        cls,
        raw: Mapping[str, Any],
        default_prefix: S3Prefix,
        source: str = "stage config",
        placement: Optional[StagePlacement] = None,
    ) -> "StageConfig":
        """Validate ``raw`` (parsed YAML) so that mistakes fail at synth time, not when the job runs.

        ``default_prefix`` holds the default ``input/`` and ``output/`` prefixes. ``placement``
        (where the stage deploys; None: in the project's region, unchecked) decides whether those
        defaults and the given key can serve the stage.
        """

        def fail(message: str) -> StageConfigError:
            return StageConfigError(f"{source}: {message}")

        known = {
            "instance_type", "instance_count", "schedule", "input_s3_uri", "output_s3_uri", "content_type",
            "split_type", "accept", "assemble_with", "batch_strategy", "max_payload_mb", "kms_key_arn",
        }
        unknown = set(raw) - known
        if unknown:
            raise fail(f"unknown setting(s) {sorted(unknown)}; expected some of {sorted(known)}")

        instance_type = raw.get("instance_type")
        if not isinstance(instance_type, str) or not INSTANCE_TYPE.match(instance_type):
            raise fail(f"instance_type must be a SageMaker instance type such as ml.m5.large, got {instance_type!r}")
        instance_count = raw.get("instance_count", 1)
        if isinstance(instance_count, bool) or not isinstance(instance_count, int) or not 1 <= instance_count <= MAX_INSTANCE_COUNT:
            raise fail(f"instance_count must be a whole number from 1 to {MAX_INSTANCE_COUNT}, got {instance_count!r}")

        schedule = _schedule(raw.get("schedule"), fail)

        locations = {}
        for name, default in (("input_s3_uri", "input/"), ("output_s3_uri", "output/")):
            value = raw.get(name)
            if value is None:
                locations[name] = S3Prefix(default_prefix.bucket, default_prefix.key + default)
                continue
            try:
                locations[name] = S3Prefix.parse(value)
            except ValueError as error:
                raise fail(f"{name} {value!r} {error}") from None
        if placement is not None and not placement.in_project_region:
            _check_other_region_prefixes(raw, locations, placement, fail)
        source_prefix, target_prefix = locations["input_s3_uri"], locations["output_s3_uri"]
        if source_prefix.contains(target_prefix) or target_prefix.contains(source_prefix):
            # Each run scores everything under the input prefix: it would score the last run's output too.
            raise fail(
                f"input_s3_uri {source_prefix.uri} and output_s3_uri {target_prefix.uri} overlap; "
                "use two separate prefixes, such as .../input/ and .../output/"
            )

        content_type = _mime_type(raw.get("content_type", "text/csv"), "content_type", fail)
        accept = raw.get("accept")
        if accept is not None:
            accept = _mime_type(accept, "accept", fail)
        split_type = _choice(raw.get("split_type", "Line"), "split_type", SPLIT_TYPES, fail)
        assemble_with = _choice(raw.get("assemble_with", "Line"), "assemble_with", ASSEMBLE_WITH, fail)
        batch_strategy = _choice(raw.get("batch_strategy", "MultiRecord"), "batch_strategy", BATCH_STRATEGIES, fail)
        max_payload_mb = raw.get("max_payload_mb", 6)
        if isinstance(max_payload_mb, bool) or not isinstance(max_payload_mb, int) or not 0 <= max_payload_mb <= 100:
            raise fail(f"max_payload_mb must be a whole number from 0 to 100, got {max_payload_mb!r}")
        kms_key_arn = raw.get("kms_key_arn")
        if kms_key_arn is not None:
            _check_kms_key(kms_key_arn, placement, fail)

        return cls(
            instance_type=instance_type,
            instance_count=instance_count,
            schedule=schedule,
            input=source_prefix,
            output=target_prefix,
            content_type=content_type,
            split_type=split_type,
            accept=accept,
            assemble_with=assemble_with,
            batch_strategy=batch_strategy,
            max_payload_mb=max_payload_mb,
            kms_key_arn=kms_key_arn,
        )


def _check_other_region_prefixes(
    raw: Mapping[str, Any], locations: Mapping[str, S3Prefix], placement: StagePlacement, fail
) -> None:
    """In another region than the project's, the input and output must be given, and not in the project's bucket."""
    where = (
        f"stage '{placement.stage}' deploys in region {placement.location.region}, not in the project's region "
        f"{placement.project_region}"
    )
    missing = [name for name in ("input_s3_uri", "output_s3_uri") if raw.get(name) is None]
    if missing:
        raise fail(
            f"{where}, so {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required: the default "
            f"prefixes are under the project's artifact bucket {placement.artifact_bucket}, in "
            f"{placement.project_region}, and a SageMaker batch transform job reads its input and writes its "
            f"output in S3 of its own region only. Set input_s3_uri and output_s3_uri to prefixes of buckets in "
            f"{placement.location.region} that the stage's account {placement.location.account} may read and "
            "write, such as s3://<bucket>/batch/input/ and s3://<bucket>/batch/output/ (see README, 'Stages in "
            "another region')"
        )
    for name, prefix in locations.items():
        if prefix.bucket == placement.artifact_bucket:
            raise fail(
                f"{where}, so {name} {prefix.uri} cannot be in the project's artifact bucket "
                f"{placement.artifact_bucket} (in {placement.project_region}): a SageMaker batch transform job "
                f"reads and writes S3 of its own region only. Use a bucket in {placement.location.region}"
            )


def _check_kms_key(value: Any, placement: Optional[StagePlacement], fail) -> None:
    """kms_key_arn: a key ARN of the stage's region (a key serves its own region only), not the project's key."""
    match = KMS_KEY_ARN.match(value) if isinstance(value, str) else None
    if not match:
        raise fail(
            f"kms_key_arn must be the ARN of a KMS key, such as "
            f"arn:aws:kms:<region>:<account>:key/<key id> (not an alias), got {value!r}"
        )
    if placement is None:
        return
    if match.group(1) != placement.location.region:
        raise fail(
            f"kms_key_arn {value!r} is a key of region {match.group(1)}, but stage '{placement.stage}' deploys in "
            f"{placement.location.region}: a batch transform job uses keys of its own region only. Give a key of "
            f"{placement.location.region} that the stage's account {placement.location.account} may use"
        )
    if value == placement.project_key_arn:
        raise fail(
            f"kms_key_arn {value!r} is the project's key, which the stage uses without this setting: remove it"
        )


def _schedule(raw: Any, fail) -> Schedule:
    if not isinstance(raw, dict):
        raise fail("schedule must be a mapping with an expression, such as 'schedule:' and, indented below it, "
                   "'expression: cron(0 2 * * ? *)'")
    unknown = set(raw) - {"expression", "enabled"}
    if unknown:
        raise fail(f"unknown schedule setting(s) {sorted(unknown)}; expected expression and enabled")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail(f"schedule.enabled must be true or false, got {enabled!r}")
    expression = raw.get("expression")
    problem = schedule_expression_problem(expression)
    if problem:
        raise fail(f"schedule.expression {expression!r} {problem}")
    expression = expression.strip()
    if expression.startswith("cron("):
        expression = "cron(" + " ".join(expression[len("cron("):-1].split()) + ")"  # one space between fields
    return Schedule(expression=expression, enabled=enabled)


def _mime_type(value: Any, name: str, fail) -> str:
    if not isinstance(value, str) or not MIME_TYPE.match(value):
        raise fail(f"{name} must be a MIME type such as text/csv or application/jsonlines, got {value!r}")
    return value


def _choice(value: Any, name: str, choices: tuple, fail) -> str:
    if value not in choices:
        # YAML reads a bare None as the string "None" but null or ~ as nothing: say which to write.
        raise fail(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


# --- EventBridge schedule expressions -------------------------------------------------------------

RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
# Per cron field: its name, the range of its numbers, the names it takes for numbers, and the
# special forms it accepts besides * n a-b */n n/m and lists (L last, W weekday, # nth weekday).
CRON_FIELDS = (
    ("minutes", 0, 59, None, None),
    ("hours", 0, 23, None, None),
    ("day-of-month", 1, 31, None, r"\?|L|LW|\d{1,2}W"),
    ("month", 1, 12, MONTHS, None),
    ("day-of-week", 1, 7, DAYS, rf"\?|L|\dL|\d#[1-5]|(?:{DAYS})(?:L|#[1-5])"),
    ("year", 1970, 2199, None, None),
)


def schedule_expression_problem(expression: Any) -> Optional[str]:
    """What is wrong with an EventBridge schedule expression, or None if it is valid.

    ``rate(<n> <unit>)`` or ``cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)``,
    in UTC, as https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
    describes them.
    """
    if not isinstance(expression, str):
        return "must be an EventBridge schedule expression such as cron(0 2 * * ? *) or rate(1 day)"
    expression = expression.strip()
    if expression.startswith("rate("):
        match = RATE.match(expression)
        if not match:
            return "is not a rate: use rate(<number> <minute(s)|hour(s)|day(s)>), such as rate(12 hours)"
        value, unit = int(match.group(1)), match.group(2)
        if value < 1:
            return "must repeat at least every 1 unit"
        if (value == 1) != (not unit.endswith("s")):
            return f"must use the {'singular' if value == 1 else 'plural'} unit for {value}, such as rate(1 day) or rate(2 days)"
        return None
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return "must be cron(...) or rate(...), such as cron(0 2 * * ? *) (every day at 02:00 UTC)"
    fields = expression[len("cron("):-1].split()
    if len(fields) != 6:
        return (
            f"has {len(fields)} fields; EventBridge cron takes 6: minutes hours day-of-month month day-of-week year, "
            "such as cron(0 2 * * ? *)"
        )
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "must have ? in exactly one of day-of-month (3rd field) and day-of-week (5th field), such as cron(0 2 * * ? *)"
    for value, (name, low, high, names, special) in zip(fields, CRON_FIELDS):
        problem = _cron_field_problem(value, low, high, names, special)
        if problem:
            return f"has an invalid {name} field {value!r}: {problem}"
    return None


def _cron_field_problem(value: str, low: int, high: int, names: Optional[str], special: Optional[str]) -> Optional[str]:
    single = rf"\d+|{names}" if names else r"\d+"
    forms = [r"\*", rf"(?:{single})(?:-(?:{single}))?", r"(?:\*|\d+)/\d+"] + ([special] if special else [])
    item = re.compile("^(?:" + "|".join(forms) + ")$", re.IGNORECASE)
    parts = value.split(",")
    for part in parts:
        if not item.match(part):
            return f"{part!r} is not a value, range (a-b), step (*/n), list (a,b) or wildcard that this field accepts"
        if part in ("?", "*") and len(parts) > 1:
            return f"{part} cannot be part of a list"
        # The numbers of values and ranges must be in range (not the step after /, nor the n of #n).
        head = re.split(r"[/#]", part, maxsplit=1)[0]
        for text in re.findall(r"\d+", head):
            if not low <= int(text) <= high:
                return f"{text} is outside {low}-{high}"
    return None


def load_stage_config(
    stage: str,
    default_prefix: S3Prefix,
    config_dir: Path = CONFIG_DIR,
    placement: Optional[StagePlacement] = None,
) -> StageConfig:
    """Read and validate ``<config_dir>/<stage>.yml``; ``default_prefix`` holds the default input/ and output/,
    ``placement`` where the stage deploys (see ``StageConfig.from_dict``)."""
    path = config_dir / f"{stage}.yml"
    if not path.is_file():
        raise StageConfigError(
            f"No settings for stage '{stage}': create {path.name} in {config_dir} "
            "(copy dev.yml and adjust it), or remove the stage from DEPLOYMENT_STAGES."
        )
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        # Such as a cron expression inside {...}, where YAML reads "? " as a key marker.
        raise StageConfigError(f"{path.name}: not valid YAML ({error}); write one setting per line") from None
    if not isinstance(raw, dict):
        raise StageConfigError(f"{path.name}: expected a mapping of settings")
    return StageConfig.from_dict(raw, default_prefix, source=path.name, placement=placement)
