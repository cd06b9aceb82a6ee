#!/usr/bin/env bash
# Polyglot gate (issue 7): Python and Java users synthesize exactly what TypeScript users do.
#
# Run from the repository root after the packages are built (.ci/run does both):
#   npx projen compile && npx projen package-all && bash .ci/polyglot.sh
#
# 1. seed code: the seed code inside each package (dist/js/*.jsii.tgz and the copies the wheel
#    and the jar embed; each jsii-pacmak target packs its own) is the seed code of the source tree.
# 2. The example organisation app (test/example/app.ts) and the README snippets
#    (test/polyglot/snippets.ts) are synthesized in TypeScript (from source, ts-node), in Python
#    (test/polyglot/python, from the built wheel, in a fresh venv) and in Java
#    (test/polyglot/java, from the built jar); the Python and Java apps also check that the
#    bundled seed code is found from inside their package.
# 3. test/polyglot/compare.py compares the cloud assemblies and product version snapshots file
#    by file (it prints the one thing it ignores).
#
# aws-cdk-lib and constructs are the versions npm installed (the library's floor); the jsii
# companion packages (asset-awscli-v1, asset-node-proxy-agent-v6, cloud-assembly-schema) are
# pinned to npm's too, so all three languages run the same JavaScript. aws-cdk-lib 2.200.0 was
# never published to Maven Central: when Java cannot have npm's version it runs the next patch,
# is compared with a second Python run at that same version, and its difference from TypeScript
# is printed for information only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="$ROOT/.ci/work/polyglot"
POLY="$ROOT/test/polyglot"

declare -a TIMES=()
TOTAL_START=$SECONDS
step() {
  local name="$1"; shift
  local start=$SECONDS
  echo
  echo "--- ${name}"
  "$@"
  TIMES+=("$(printf '%-44s %4ss' "$name" "$((SECONDS - start))")")
}
FAILED=()
check() {
  local name="$1"; shift
  local start=$SECONDS
  echo
  echo "--- ${name}"
  if ! "$@"; then FAILED+=("$name"); fi
  TIMES+=("$(printf '%-44s %4ss' "$name" "$((SECONDS - start))")")
}
report() {
  echo
  echo "Polyglot step times:"
  printf '  %s\n' "${TIMES[@]}"
  echo "  $(printf '%-44s %4ss' total "$((SECONDS - TOTAL_START))")"
}
trap report EXIT

# The jsii runtime's end-of-life banner for the running Node major, once per process: noise here.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="$(node -p 'process.versions.node.split(".")[0]')"

# --- inputs -------------------------------------------------------------------------------------
node_version() { node -p "require('$1/package.json').version"; }
LIB_VERSION=$(node -p "require('./package.json').version")
CDK_VERSION=$(node_version aws-cdk-lib)
CONSTRUCTS_VERSION=$(node_version constructs)
AWSCLI_VERSION=$(node_version @aws-cdk/asset-awscli-v1)
PROXY_AGENT_VERSION=$(node_version @aws-cdk/asset-node-proxy-agent-v6)
SCHEMA_VERSION=$(node_version @aws-cdk/cloud-assembly-schema)
# aws-cdk-lib versions npm and PyPI have but Maven Central does not: Java gets the next patch.
case "$CDK_VERSION" in
  2.200.0) JAVA_CDK_VERSION=2.200.1 ;;
  *) JAVA_CDK_VERSION="$CDK_VERSION" ;;
esac

WHEEL=$(ls dist/python/cdk_sagemaker_project_templates-"$LIB_VERSION"-*.whl 2>/dev/null | head -1 || true)
TARBALL=$(ls dist/js/cdk-sagemaker-project-templates@"$LIB_VERSION".jsii.tgz 2>/dev/null | head -1 || true)
JAVA_DIR="dist/java/io/github/cdksagemakerprojecttemplates/cdk-sagemaker-project-templates/$LIB_VERSION"
JAR="$JAVA_DIR/cdk-sagemaker-project-templates-$LIB_VERSION.jar"
POM="$JAVA_DIR/cdk-sagemaker-project-templates-$LIB_VERSION.pom"
for f in "$WHEEL" "$TARBALL" "$JAR" "$POM"; do
  if [ -z "$f" ] || [ ! -f "$f" ]; then
    echo "polyglot: built package missing (${f:-dist/python/*.whl or dist/js/*.tgz}); run 'npx projen compile && npx projen package-all' first" >&2
    exit 1
  fi
done
echo "library $LIB_VERSION; aws-cdk-lib $CDK_VERSION (Java: $JAVA_CDK_VERSION), constructs $CONSTRUCTS_VERSION,"
echo "asset-awscli-v1 $AWSCLI_VERSION, asset-node-proxy-agent-v6 $PROXY_AGENT_VERSION, cloud-assembly-schema $SCHEMA_VERSION"
echo "wheel $WHEEL; jar $JAR"

# Every language runs in its own working directory, holding the snippets' relative paths
# (my_seed_code, the default product-stack-snapshots).
fresh_cwd() {
  local dir="$WORK/$1/cwd"
  mkdir -p "$dir/my_seed_code"
  printf 'version: 0.2\nphases:\n  build:\n    commands:\n      - echo "my seed code"\n' > "$dir/my_seed_code/buildspec.yml"
}
rm -rf "$WORK"
mkdir -p "$WORK"
for lang in typescript python java python-java-cdk; do fresh_cwd "$lang"; done

# --- 1. seed code in the packages ---------------------------------------------------------------
check "seed code: npm, wheel, jar == source" python3 "$POLY/compare.py" --seed-code seed_code "$TARBALL" "$WHEEL" "$JAR"

# --- 2. synthesize ------------------------------------------------------------------------------
synth_typescript() {
  (cd "$WORK/typescript/cwd" && "$ROOT/node_modules/.bin/ts-node" --project "$ROOT/tsconfig.dev.json" \
    "$POLY/synth-ts.ts" ../cdk.out ../snapshots ../snippets.out)
}
step "typescript: synth (ts-node, source)" synth_typescript

python_venv() {
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "$WHEEL" \
    "aws-cdk-lib==$CDK_VERSION" "constructs==$CONSTRUCTS_VERSION" \
    "aws-cdk.asset-awscli-v1==$AWSCLI_VERSION" "aws-cdk.asset-node-proxy-agent-v6==$PROXY_AGENT_VERSION" \
    "aws-cdk.cloud-assembly-schema==$SCHEMA_VERSION"
  "$WORK/venv/bin/pip" list --disable-pip-version-check 2>/dev/null | grep -iE '^(aws-cdk|constructs|jsii|cdk-sagemaker)' | sed 's/^/  /'
}
step "python: fresh venv + wheel + aws-cdk-lib" python_venv

synth_python() {
  local lang="$1"
  (cd "$WORK/$lang/cwd" && "$WORK/venv/bin/python" "$POLY/python/app.py" ../cdk.out ../snapshots ../snippets.out)
}
step "python: synth" synth_python python

MVN=(mvn -B -q -f "$POLY/java/pom.xml" -Dstyle.color=never)
java_install() {
  # install-file every run: a release version already in ~/.m2 would otherwise never be refreshed.
  mvn -B -q -Dstyle.color=never install:install-file -Dfile="$JAR" -DpomFile="$POM"
  "${MVN[@]}" -Dlibrary.version="$LIB_VERSION" -Dcdk.version="$JAVA_CDK_VERSION" -Dconstructs.version="$CONSTRUCTS_VERSION" \
    -Dawscli.version="$AWSCLI_VERSION" -Dproxyagent.version="$PROXY_AGENT_VERSION" -Dcloudassemblyschema.version="$SCHEMA_VERSION" \
    compile
}
step "java: install jar + mvn compile" java_install

synth_java() {
  (cd "$WORK/java/cwd" && "${MVN[@]}" -Dlibrary.version="$LIB_VERSION" -Dcdk.version="$JAVA_CDK_VERSION" \
    -Dconstructs.version="$CONSTRUCTS_VERSION" -Dawscli.version="$AWSCLI_VERSION" -Dproxyagent.version="$PROXY_AGENT_VERSION" \
    -Dcloudassemblyschema.version="$SCHEMA_VERSION" exec:java -Dexec.args="../cdk.out ../snapshots ../snippets.out")
}
step "java: synth (mvn exec:java)" synth_java

if [ "$JAVA_CDK_VERSION" != "$CDK_VERSION" ]; then
  python_java_cdk() {
    "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "aws-cdk-lib==$JAVA_CDK_VERSION"
    synth_python python-java-cdk
  }
  step "python: synth with aws-cdk-lib $JAVA_CDK_VERSION (Java's)" python_java_cdk
fi

check "README-snippets.md matches the snippet sources" python3 "$POLY/snippets_md.py" --check
readme_has_snippets() {
  python3 - "$POLY/README-snippets.md" README.md <<'PY'
import re, sys
snippets, readme = (open(f).read() for f in sys.argv[1:3])
blocks = re.findall(r"```(?:ts|python|java)\n.*?```", snippets, flags=re.S)
missing = [b.splitlines()[1] for b in blocks if b not in readme]
print(f"{len(blocks) - len(missing)} of {len(blocks)} compiled examples appear verbatim in README.md")
for first_line in missing:
    print(f"  missing from README.md: the block starting {first_line!r}")
sys.exit(1 if missing else 0)
PY
}
check "README.md shows the compiled examples" readme_has_snippets

# --- 3. compare ---------------------------------------------------------------------------------
compare() {
  local label="$1"; shift
  check "compare: $label" python3 "$POLY/compare.py" --label "$label" "$@"
}
for part in cdk.out snapshots snippets.out cwd/product-stack-snapshots; do
  compare "$part (aws-cdk-lib $CDK_VERSION)" typescript="$WORK/typescript/$part" python="$WORK/python/$part" \
    $([ "$JAVA_CDK_VERSION" = "$CDK_VERSION" ] && echo java="$WORK/java/$part")
  if [ "$JAVA_CDK_VERSION" != "$CDK_VERSION" ]; then
    compare "$part (aws-cdk-lib $JAVA_CDK_VERSION)" python="$WORK/python-java-cdk/$part" java="$WORK/java/$part"
  fi
done
if [ "$JAVA_CDK_VERSION" != "$CDK_VERSION" ]; then
  echo
  echo "--- for information: what aws-cdk-lib $JAVA_CDK_VERSION (the oldest on Maven Central) changes against $CDK_VERSION"
  python3 "$POLY/compare.py" --report-only --label "cdk.out, aws-cdk-lib $CDK_VERSION vs $JAVA_CDK_VERSION" \
    python="$WORK/python/cdk.out" java="$WORK/java/cdk.out"
fi

echo
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "polyglot: FAILED: ${FAILED[*]}"
  exit 1
fi
echo "polyglot: Python and Java synthesize exactly what TypeScript does."
