#!/usr/bin/env bash
# Tests the Python seed code in seed_code/ (the starter repositories of new
# SageMaker projects), offline: pytest for each app, then cfn-lint on the stage
# templates that the deploy app's tests synthesize.
# Run from anywhere; needs python3 (>= 3.9), node (for the CDK) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="$PWD/.ci/work"
VENV="$WORK/seed-venv"
TEMPLATES="$WORK/deploy-templates"
APPS=(build_app byoc_build_app deploy_app)

# Keep the seed folders clean: they are zipped into every new project's repository.
export PYTHONDONTWRITEBYTECODE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export SAGEMAKER_SUPPRESS_V2_WARNING=1
# Never reach for real AWS credentials or the instance metadata service.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV"
  python3 -m venv "$VENV"
fi
requirements=()
for app in "${APPS[@]}"; do requirements+=(-r "seed_code/$app/requirements-dev.txt"); done
start=$SECONDS
"$VENV/bin/pip" install --quiet "${requirements[@]}" "cfn-lint>=1,<2"
echo "Installed seed code requirements in $((SECONDS - start))s"

rm -rf "$TEMPLATES"
mkdir -p "$TEMPLATES"
failed=()
for app in "${APPS[@]}"; do
  echo
  echo "--- pytest seed_code/$app"
  # The deploy app's tests write the stage templates here for cfn-lint below.
  if ! (cd "seed_code/$app" && SEED_DEPLOY_TEMPLATES_DIR="$TEMPLATES" "$VENV/bin/python" -m pytest -q -p no:cacheprovider); then
    failed+=("$app")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "Seed code tests failed: ${failed[*]}" >&2
  exit 1
fi

echo
echo "--- CDK CLI of deploy_app/buildspec.yml reads the cloud assembly schema of its aws-cdk-lib"
# The buildspec pins the CLI; the CLI refuses assemblies of a newer schema major version than it
# bundles (a build-time dependency of the aws-cdk package, so listed in its devDependencies).
# Compare that major version (from the npm registry) with the one the Python aws-cdk-lib
# installed above writes.
cli_pin=$(grep -oE 'aws-cdk@[0-9]+\.[0-9]+\.[0-9]+' seed_code/deploy_app/buildspec.yml | head -1 || true)
[ -n "$cli_pin" ] || { echo "seed_code/deploy_app/buildspec.yml does not pin the CDK CLI (aws-cdk@X.Y.Z)" >&2; exit 1; }
lib_schema=$("$VENV/bin/python" -c 'from aws_cdk.cloud_assembly_schema import Manifest; print(Manifest.version())' 2>/dev/null)
cli_schema=$(npm view "$cli_pin" devDependencies --json 2>/dev/null | "$VENV/bin/python" -c 'import json, re, sys; print(re.search(r"\d+", json.load(sys.stdin)["@aws-cdk/cloud-assembly-schema"]).group())' 2>/dev/null || true)
if [ -z "$cli_schema" ]; then
  echo "warning: could not read the cloud assembly schema of $cli_pin from the npm registry; not compared" >&2
elif [ "${lib_schema%%.*}" -gt "$cli_schema" ]; then
  echo "aws-cdk-lib writes cloud assembly schema $lib_schema, newer than $cli_pin reads (major $cli_schema): raise the CLI pin in seed_code/deploy_app/buildspec.yml, or lower the aws-cdk.cloud-assembly-schema bound in seed_code/deploy_app/requirements.txt" >&2
  exit 1
else
  echo "$cli_pin reads schema major $cli_schema and older; aws-cdk-lib writes $lib_schema"
fi

echo
echo "--- cfn-lint deploy_app stage templates"
for stage in dev preprod prod; do
  if [ ! -f "$TEMPLATES/$stage.template.json" ]; then
    echo "Missing $TEMPLATES/$stage.template.json: the deploy app tests did not synthesize it" >&2
    exit 1
  fi
done
set +e
"$VENV/bin/cfn-lint" "$TEMPLATES"/*.template.json
lint_status=$?
set -e
# cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational; 1 = it failed.
if (( lint_status & 3 )); then
  echo "cfn-lint found errors in the deploy app's templates" >&2
  exit 1
fi
echo "cfn-lint: $(ls "$TEMPLATES"/*.template.json | wc -l) templates, no errors (exit code $lint_status)"

echo
echo "--- checkov deploy_app stage templates (the deploy pipeline's security scan)"
# The same scanner, version and flags as DeployPipeline's SecurityScan action
# (src/private/pipeline-deploy.ts, whose pin is read here): the seed code must pass it on the first push.
checkov_pin=$(grep -oE "^export const CHECKOV_VERSION = 'checkov==[0-9][0-9.]*'" src/private/pipeline-deploy.ts | grep -oE "checkov==[0-9.]+" || true)
[ -n "$checkov_pin" ] || { echo "No pinned CHECKOV_VERSION ('checkov==X.Y.Z') in src/private/pipeline-deploy.ts" >&2; exit 1; }
CHECKOV="$WORK/checkov-venv"
if [ "$("$CHECKOV/bin/pip" freeze 2>/dev/null | grep -i '^checkov==' || true)" != "$checkov_pin" ]; then
  rm -rf "$CHECKOV"
  python3 -m venv "$CHECKOV"
  "$CHECKOV/bin/pip" install --quiet "$checkov_pin"
fi
echo "checkov: ${checkov_pin#checkov==}"
args=()
for t in "$TEMPLATES"/*.template.json; do args+=(--file "$t"); done
# No network here: checkov's optional download of its guideline texts fails with a long
# traceback on stderr, kept in a file and shown only if the scan fails.
if ! "$CHECKOV/bin/checkov" --framework cloudformation --compact --quiet "${args[@]}" 2> "$WORK/checkov.stderr"; then
  cat "$WORK/checkov.stderr" >&2
  echo "checkov found issues in the deploy app's templates: the deploy pipeline's security scan would fail" >&2
  exit 1
fi
echo "checkov: no findings in $(ls "$TEMPLATES"/*.template.json | wc -l) templates"

echo
echo "--- the security scan's own commands with this checkov: suppressions the deploy repository writes are ignored"
# The install and build commands of DeployPipeline's SecurityScan (securityScanBuildSpec), with this
# checkov, over the deploy app's templates (must pass) and over a template whose finding
# (CKV_AWS_370, a model without network isolation) is suppressed in its metadata, in a string and
# in a .checkov.yaml next to it (must fail: checkov has no flag to ignore inline suppressions).
SCAN="$WORK/scan-check"
rm -rf "$SCAN"
mkdir -p "$SCAN/clean" "$SCAN/suppressed"
cp "$TEMPLATES"/*.template.json "$SCAN/clean/"
SCAN="$SCAN" CHECKOV="$CHECKOV" npx ts-node --project tsconfig.dev.json -e '
  const fs = require("fs");
  const stack = new (require("aws-cdk-lib").Stack)();
  const spec = JSON.parse(stack.resolve(require("./src/private/pipeline-deploy").securityScanBuildSpec().toBuildSpec(stack)));
  const local = (c: string) => c.split("/tmp/strip_suppressions.py").join(process.env.SCAN + "/strip.py").split("/tmp/checkov/bin/").join(process.env.CHECKOV + "/bin/");
  const commands = [...spec.phases.install.commands.filter((c: string) => c.startsWith("printf")), ...spec.phases.build.commands].map(local);
  fs.writeFileSync(process.env.SCAN + "/scan.sh", commands.join("\n") + "\n");
'
"$CHECKOV/bin/python" - "$TEMPLATES/dev.template.json" "$SCAN/suppressed/dev.template.json" <<'PY'
import json, sys
template = json.load(open(sys.argv[1]))
for resource in template["Resources"].values():
    if resource["Type"] == "AWS::SageMaker::Model":
        resource["Properties"].pop("EnableNetworkIsolation", None)
        resource["Properties"]["PrimaryContainer"]["ContainerHostname"] = "checkov:skip=CKV_AWS_370"
        resource["Metadata"] = {"checkov": {"skip": [{"id": "CKV_AWS_370", "comment": "suppressed by the repository"}]}}
json.dump(template, open(sys.argv[2], "w"), indent=1)
PY
printf 'skip-check:\n  - CKV_AWS_370\nsoft-fail: true\n' > "$SCAN/suppressed/.checkov.yaml"
if ! (cd "$SCAN/clean" && TMPDIR="$SCAN" bash "$SCAN/scan.sh" > "$SCAN/clean.out" 2> "$SCAN/clean.err"); then
  cat "$SCAN/clean.out" "$SCAN/clean.err" >&2
  echo "The security scan's commands fail on the deploy app's templates" >&2
  exit 1
fi
if (cd "$SCAN/suppressed" && TMPDIR="$SCAN" bash "$SCAN/scan.sh" > "$SCAN/suppressed.out" 2> "$SCAN/suppressed.err") \
  || ! grep -q "CKV_AWS_370" "$SCAN/suppressed.out"; then
  cat "$SCAN/suppressed.out" >&2
  echo "The security scan's commands let a suppression written by the deploy repository through" >&2
  exit 1
fi
echo "security scan: passes the deploy app's templates, fails a suppressed finding (CKV_AWS_370)"
rm -rf "$SCAN"
