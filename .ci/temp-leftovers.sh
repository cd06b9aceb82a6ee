#!/usr/bin/env bash
# Runs a command and fails if it left folders of the kinds the tests write in the temp directory.
#
#   bash .ci/temp-leftovers.sh npx projen test
#
# Exit status: the command's own if it failed; otherwise 1 if new matching entries remain in
# ${TMPDIR:-/tmp} (they are printed), else 0. Entries that existed before the command are ignored,
# so other runs in the same temp directory at the same time can show up as leftovers of this one.
set -uo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

tmp="${TMPDIR:-/tmp}"
tmp="${tmp%/}"
# What the tests and aws-cdk-lib write there: cloud assemblies of apps without an outdir
# (cdk.out*, cdk-test-app-*), the tests' own folders (cdk-smpt-test-*, one per test file, see
# test/util/temp-dir.ts) and the names tests used before that helper existed.
patterns=(
  'cdk.out*' 'cdk-test-app-*' 'cdk-docker-cp-*' 'cdk-smpt-test-*'
  'seed-*' 'snapshots-*' 'snap-*' 'nag-*' 'git-*' 'golden-*' 'example-*' 'empty-*' 'zip-*'
)

list() {
  local args=() p
  for p in "${patterns[@]}"; do args+=(-o -name "$p"); done
  find "$tmp" -mindepth 1 -maxdepth 1 \( "${args[@]:1}" \) 2>/dev/null | sort
}

before="$(mktemp)"
trap 'rm -f "$before"' EXIT
list > "$before"

"$@"
status=$?

leftovers="$(list | comm -13 "$before" -)"
if [ -n "$leftovers" ]; then
  count="$(printf '%s\n' "$leftovers" | wc -l)"
  echo "temp-leftovers: '$*' left ${count} folder(s) in ${tmp} (tests must remove what they write; use test/util/temp-dir.ts):" >&2
  printf '%s\n' "$leftovers" | while read -r entry; do
    echo "  $entry ($(du -sh "$entry" 2>/dev/null | cut -f1))" >&2
  done
  [ $status -ne 0 ] && exit $status
  exit 1
fi
echo "temp-leftovers: nothing left in ${tmp}"
exit $status
