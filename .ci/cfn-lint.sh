#!/usr/bin/env bash
# cfn-lint (current release, from PyPI) over every template the example organisation app writes:
# the portfolio stack and each product template. Errors fail the run; warnings are listed.
set -euo pipefail
cd "$(dirname "$0")/.."
work=.ci/work/cfn-lint
mkdir -p "$work"
[ -x "$work/venv/bin/cfn-lint" ] || { python3 -m venv "$work/venv"; "$work/venv/bin/pip" install -q --upgrade pip cfn-lint; }
"$work/venv/bin/cfn-lint" --version
npx ts-node --transpile-only --project tsconfig.dev.json test/example/main.ts "$work/cdk.out" > /dev/null
# W3005: CDK adds DependsOn that is also implied by references; harmless and not ours to change.
# No E-level check is ignored. Informational checks (I...) are not run: cfn-lint runs them only
# with --include-checks I, and its I1022 (prefer Fn::Sub to Fn::Join) would list every ARN CDK joins.
"$work/venv/bin/cfn-lint" --format parseable --ignore-checks W3005 -- "$work"/cdk.out/*.template.json
echo "cfn-lint: no errors or warnings in $(ls "$work"/cdk.out/*.template.json | wc -l) templates"
