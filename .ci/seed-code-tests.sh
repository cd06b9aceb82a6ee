#!/usr/bin/env bash
# Tests the Python seed code in seed_code/ (the starter repositories of new
# SageMaker projects), offline, as every new project's repository receives it:
# each bundled app is assembled by the library itself (SeedCodeAsset, which adds
# the files the build apps share from seed_code/shared/ and renames gitignore)
# into .ci/work/seed-apps/<app>; then pytest for each app, and cfn-lint and
# checkov on the stage templates that the CDK apps' tests synthesize.
# Run from anywhere; needs python3 (>= 3.9), node (for the CDK) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="$PWD/.ci/work"
VENV="$WORK/seed-venv"
ASSEMBLED="$WORK/seed-apps"
# Every bundled app (BundledSeedApp; the assembly below fails if one is missing here).
APPS=(build_app byoc_build_app deploy_app batch_inference_app)
# The CDK apps, deployed by the deploy pipeline: their tests write the stage templates into the
# folder named by the environment variable, for the checks below.
CDK_APPS=(deploy_app batch_inference_app)
declare -A TEMPLATES_VARIABLE=([deploy_app]=SEED_DEPLOY_TEMPLATES_DIR [batch_inference_app]=SEED_BATCH_TEMPLATES_DIR)
templates_of() { echo "$WORK/templates/$1"; }

# Keep the assembled apps as the repositories receive them: no bytecode next to the code.
export PYTHONDONTWRITEBYTECODE=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
export SAGEMAKER_SUPPRESS_V2_WARNING=1
# Never reach for real AWS credentials or the instance metadata service.
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

mkdir -p "$WORK"
# One run at a time per checkout: runs share $WORK.
exec 9> "$WORK/seed-code-tests.lock"
flock 9
echo "--- assemble the bundled apps as SeedCodeAsset zips them"
# A synth with the library's own code (src/private/seed-layers.ts holds which shared folders
# each app takes): the asset folders in the cloud assembly are what the archives hold.
rm -rf "$ASSEMBLED"
mkdir -p "$ASSEMBLED"
ASSEMBLED="$ASSEMBLED" APPS="${APPS[*]}" npx ts-node --transpile-only --project tsconfig.dev.json -e '
  const fs = require("fs");
  const path = require("path");
  const { App, Stack } = require("aws-cdk-lib");
  const { BundledSeedApp, SeedCodeAsset } = require("./src");
  const out = process.env.ASSEMBLED;
  const apps = process.env.APPS.split(" ");
  const missing = Object.values(BundledSeedApp).filter(app => !apps.includes(app));
  if (missing.length > 0) throw new Error(`.ci/seed-code-tests.sh: APPS lacks the bundled apps ${missing.join(", ")}; add them`);
  const app = new App({ outdir: path.join(out, "cdk.out") });
  const stack = new Stack(app, "SeedApps");
  const assets = apps.map(name => [name, SeedCodeAsset.fromBundledApp(stack, name, name)]);
  const directory = app.synth().directory;
  for (const [name, asset] of assets) fs.renameSync(path.join(directory, asset.asset.assetPath), path.join(out, name));
  fs.rmSync(directory, { recursive: true, force: true });
' 2> "$WORK/seed-apps.stderr" || { cat "$WORK/seed-apps.stderr" >&2; exit 1; }
for app in "${APPS[@]}"; do
  echo "$app: $(find "$ASSEMBLED/$app" -type f | wc -l) files"
done

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating $VENV"
  python3 -m venv "$VENV"
fi
requirements=()
for app in "${APPS[@]}"; do requirements+=(-r "$ASSEMBLED/$app/requirements-dev.txt"); done
start=$SECONDS
"$VENV/bin/pip" install --quiet "${requirements[@]}" "cfn-lint>=1,<2"
echo "Installed seed code requirements in $((SECONDS - start))s"

rm -rf "$WORK/templates"
for app in "${CDK_APPS[@]}"; do mkdir -p "$(templates_of "$app")"; done
failed=()
for app in "${APPS[@]}"; do
  echo
  echo "--- pytest $app (assembled from seed_code)"
  variables=()
  if [ -n "${TEMPLATES_VARIABLE[$app]:-}" ]; then variables+=("${TEMPLATES_VARIABLE[$app]}=$(templates_of "$app")"); fi
  if ! (cd "$ASSEMBLED/$app" && env "${variables[@]}" "$VENV/bin/python" -m pytest -q -p no:cacheprovider); then
    failed+=("$app")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "Seed code tests failed: ${failed[*]}" >&2
  exit 1
fi

lib_schema=$("$VENV/bin/python" -c 'from aws_cdk.cloud_assembly_schema import Manifest; print(Manifest.version())' 2>/dev/null)
for app in "${CDK_APPS[@]}"; do
  echo
  echo "--- CDK CLI of $app/buildspec.yml reads the cloud assembly schema of its aws-cdk-lib"
  # The buildspec pins the CLI; the CLI refuses assemblies of a newer schema major version than it
  # bundles (a build-time dependency of the aws-cdk package, so listed in its devDependencies).
  # Compare that major version (from the npm registry) with the one the Python aws-cdk-lib
  # installed above writes.
  cli_pin=$(grep -oE 'aws-cdk@[0-9]+\.[0-9]+\.[0-9]+' "seed_code/$app/buildspec.yml" | head -1 || true)
  [ -n "$cli_pin" ] || { echo "seed_code/$app/buildspec.yml does not pin the CDK CLI (aws-cdk@X.Y.Z)" >&2; exit 1; }
  cli_schema=$(npm view "$cli_pin" devDependencies --json 2>/dev/null | "$VENV/bin/python" -c 'import json, re, sys; print(re.search(r"\d+", json.load(sys.stdin)["@aws-cdk/cloud-assembly-schema"]).group())' 2>/dev/null || true)
  if [ -z "$cli_schema" ]; then
    echo "warning: could not read the cloud assembly schema of $cli_pin from the npm registry; not compared" >&2
  elif [ "${lib_schema%%.*}" -gt "$cli_schema" ]; then
    echo "aws-cdk-lib writes cloud assembly schema $lib_schema, newer than $cli_pin reads (major $cli_schema): raise the CLI pin in seed_code/$app/buildspec.yml, or lower the aws-cdk.cloud-assembly-schema bound in seed_code/$app/requirements.txt" >&2
    exit 1
  else
    echo "$cli_pin reads schema major $cli_schema and older; aws-cdk-lib writes $lib_schema"
  fi
done

echo
echo "--- cfn-lint stage templates of ${CDK_APPS[*]}"
all_templates=()
for app in "${CDK_APPS[@]}"; do
  for stage in dev preprod prod; do
    if [ ! -f "$(templates_of "$app")/$stage.template.json" ]; then
      echo "Missing $(templates_of "$app")/$stage.template.json: the $app tests did not synthesize it (${TEMPLATES_VARIABLE[$app]})" >&2
      exit 1
    fi
  done
  all_templates+=("$(templates_of "$app")"/*.template.json)
done
set +e
"$VENV/bin/cfn-lint" "${all_templates[@]}"
lint_status=$?
set -e
# cfn-lint's exit code is a bit mask: 2 = errors, 4 = warnings, 8 = informational; 1 = it failed.
if (( lint_status & 3 )); then
  echo "cfn-lint found errors in the stage templates of ${CDK_APPS[*]}" >&2
  exit 1
fi
echo "cfn-lint: ${#all_templates[@]} templates, no errors (exit code $lint_status)"

echo
echo "--- checkov stage templates of ${CDK_APPS[*]} (the deploy pipeline's security scan)"
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
for t in "${all_templates[@]}"; do args+=(--file "$t"); done
# No network here: checkov's optional download of its guideline texts fails with a long
# traceback on stderr, kept in a file and shown only if the scan fails.
if ! "$CHECKOV/bin/checkov" --framework cloudformation --compact --quiet "${args[@]}" 2> "$WORK/checkov.stderr"; then
  cat "$WORK/checkov.stderr" >&2
  echo "checkov found issues in the stage templates of ${CDK_APPS[*]}: the deploy pipeline's security scan would fail" >&2
  exit 1
fi
echo "checkov: no findings in ${#all_templates[@]} templates"

echo
echo "--- cdk-assets reads the asset manifests of stages in another region (the deploy pipeline publishes them)"
# The same tool and version as DeployPipeline's stage deployment build (src/private/pipeline-deploy.ts).
cdk_assets_pin=$(grep -oE "^export const CDK_ASSETS_VERSION = 'cdk-assets@[0-9][0-9.]*'" src/private/pipeline-deploy.ts | grep -oE "cdk-assets@[0-9.]+" || true)
[ -n "$cdk_assets_pin" ] || { echo "No pinned CDK_ASSETS_VERSION ('cdk-assets@X.Y.Z') in src/private/pipeline-deploy.ts" >&2; exit 1; }
manifests=0
for app in "${CDK_APPS[@]}"; do
  found=("$(templates_of "$app")"/*.assets.json)
  if [ ! -f "${found[0]}" ]; then
    echo "No <stage>.assets.json in $(templates_of "$app"): the $app tests did not write a stage in another region" >&2
    exit 1
  fi
  for manifest in "${found[@]}"; do
    # ls reads and validates the manifest (its schema version included) and lists its assets; it
    # runs no asset command and calls no AWS service.
    if ! listed=$(npx --yes "$cdk_assets_pin" --path "$manifest" ls 2>&1); then
      echo "$listed" >&2
      echo "$cdk_assets_pin cannot read $manifest" >&2
      exit 1
    fi
    if ! grep -q "tar.gz" <<< "$listed"; then
      echo "$listed" >&2
      echo "$manifest lists no model data (*.tar.gz) asset" >&2
      exit 1
    fi
    manifests=$((manifests + 1))
  done
done
echo "$cdk_assets_pin: read $manifests asset manifests"

echo
echo "--- the security scan's own commands with this checkov: suppressions the deploy repository writes are ignored"
# The install and build commands of DeployPipeline's SecurityScan (securityScanBuildSpec), with this
# checkov, over the stage templates of each CDK app (must pass) and over a template whose finding
# (CKV_AWS_370, a model without network isolation) is suppressed in its metadata, in a string and
# in a .checkov.yaml next to it (must fail: checkov has no flag to ignore inline suppressions).
SCAN="$WORK/scan-check"
rm -rf "$SCAN"
mkdir -p "$SCAN/suppressed"
for app in "${CDK_APPS[@]}"; do
  mkdir -p "$SCAN/clean/$app"
  cp "$(templates_of "$app")"/*.template.json "$SCAN/clean/$app/"
done
SCAN="$SCAN" CHECKOV="$CHECKOV" npx ts-node --project tsconfig.dev.json -e '
  const fs = require("fs");
  const stack = new (require("aws-cdk-lib").Stack)();
  const spec = JSON.parse(stack.resolve(require("./src/private/pipeline-deploy").securityScanBuildSpec().toBuildSpec(stack)));
  const local = (c: string) => c.split("/tmp/strip_suppressions.py").join(process.env.SCAN + "/strip.py").split("/tmp/checkov/bin/").join(process.env.CHECKOV + "/bin/");
  const commands = [...spec.phases.install.commands.filter((c: string) => c.startsWith("printf")), ...spec.phases.build.commands].map(local);
  fs.writeFileSync(process.env.SCAN + "/scan.sh", commands.join("\n") + "\n");
'
"$CHECKOV/bin/python" - "$(templates_of deploy_app)/dev.template.json" "$SCAN/suppressed/dev.template.json" <<'PY'
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
# One scan per app, as each app's deploy pipeline runs it on that app's synth output.
for app in "${CDK_APPS[@]}"; do
  if ! (cd "$SCAN/clean/$app" && TMPDIR="$SCAN" bash "$SCAN/scan.sh" > "$SCAN/clean.out" 2> "$SCAN/clean.err"); then
    cat "$SCAN/clean.out" "$SCAN/clean.err" >&2
    echo "The security scan's commands fail on the stage templates of $app" >&2
    exit 1
  fi
done
if (cd "$SCAN/suppressed" && TMPDIR="$SCAN" bash "$SCAN/scan.sh" > "$SCAN/suppressed.out" 2> "$SCAN/suppressed.err") \
  || ! grep -q "CKV_AWS_370" "$SCAN/suppressed.out"; then
  cat "$SCAN/suppressed.out" >&2
  echo "The security scan's commands let a suppression written by the deploy repository through" >&2
  exit 1
fi
echo "security scan: passes the stage templates of ${CDK_APPS[*]}, fails a suppressed finding (CKV_AWS_370)"
rm -rf "$SCAN"
