#!/usr/bin/env bash
# cdk-nag 3 leg: the library as compiled in lib/ (packed as npm would publish it), with the newest
# aws-cdk-lib and cdk-nag 3 from npm, in .ci/work/nag3; test/nag3/check.js synthesizes the example
# apps under AwsSolutionsChecks and fails on any error or warning the suppressions leave.
# Needs `npx projen compile` first (.ci/run has compiled by then). Network: the npm registry only.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

if [[ ! -f lib/index.js ]]; then
  echo "cdk-nag-3: lib/ is missing: run 'npx projen compile' first"; exit 1
fi
stale=$(find src -name '*.ts' -newer lib/index.js | head -3)
if [[ -n "$stale" ]]; then
  echo "cdk-nag-3: lib/ is older than ${stale//$'\n'/, }: run 'npx projen compile' first"; exit 1
fi

work=.ci/work/nag3
rm -rf "$work"
mkdir -p "$work"
tarball=$(npm pack --silent --pack-destination "$work" | tail -1)
cd "$work"
echo '{ "name": "nag3-leg", "private": true }' > package.json
npm install --no-audit --no-fund --loglevel=error \
  aws-cdk-lib@latest 'constructs@^10' 'cdk-nag@^3' "./${tarball}"
# One aws-cdk-lib for the library and cdk-nag alike, or cdk-nag's instanceof checks see nothing.
npm ls aws-cdk-lib --all
cd - > /dev/null

node test/nag3/check.js "$work"
echo "cdk-nag-3: $((SECONDS - start))s"
