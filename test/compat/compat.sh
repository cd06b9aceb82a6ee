#!/usr/bin/env bash
# jsii-diff of the public API against the last release's assembly (test/compat/baseline.*).
# The assembly is kept under other names and laid out as a package only while jsii-diff runs:
# a `.jsii` of this package anywhere in the tree is what jsii-docgen would document instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.compat-baseline
rm -rf "$dir"
mkdir "$dir"
trap 'rm -rf "$dir"' EXIT
cp test/compat/baseline.jsii.json "$dir/.jsii"
cp test/compat/baseline.package.json "$dir/package.json"
npx jsii-diff "$dir" . --keys --error-on prod
echo "compat: the public API is compatible with $(node -p "require('./$dir/package.json').version")"
