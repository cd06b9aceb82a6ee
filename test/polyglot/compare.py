#!/usr/bin/env python3
"""Compare cloud assemblies (or any synth output folders) made by the TypeScript, Python and Java apps.

    compare.py [--label LABEL] [--report-only] NAME=DIR NAME=DIR [NAME=DIR ...]
    compare.py --seed-code SEED_CODE_DIR PACKAGE   (npm .tgz, Python .whl or Java .jar)

The first NAME=DIR is the reference; every other folder must hold exactly the same files:
same relative names (so asset directories and `asset.<hash>` names, which are content hashes,
must match), JSON files equal once parsed, every other file equal byte for byte.

Only these are ignored, and they are printed on every run (IGNORED below):
  * tree.json: every `constructInfo` object (the class name and version of each construct).
    The TypeScript app runs the library from source (ts-node), where classes carry no jsii
    type information, so its tree names the library's constructs after their base class
    (`constructs.Construct`, `aws-cdk-lib.aws_servicecatalog.ProductStack`), while the Python
    and Java apps, which run the packaged library, name them `cdk-sagemaker-project-templates.*`.
    The rest of tree.json (construct paths, ids, CloudFormation properties) is compared.
  * manifest.json: the `trace` of each metadata entry: the JavaScript call stack that recorded a
    warning or error, which runs through jsii's kernel in Python and Java. The entries (type,
    message, construct path) are compared.
Nothing else is ignored: no version stamps (the jsii companion packages are pinned to the
versions npm installed, see .ci/polyglot.sh), no other manifest metadata, no template content.

With --report-only, differences are printed but the exit status is 0 (used for the
informational comparison across aws-cdk-lib versions).

--seed-code compares the seed code folders of the source tree with those inside a package: the
npm tarball, or the copy of it a Python wheel or Java jar embeds (each jsii-pacmak target packs
its own), as SeedCodeAsset would zip them (default excludes applied). A difference there explains differing seed code
asset hashes between the TypeScript (source) app and the Python and Java apps.
"""
import fnmatch
import hashlib
import io
import json
import os
import sys
import tarfile
import zipfile

IGNORED = [
    ("tree.json", "every 'constructInfo' (construct class name and version): the TypeScript app "
                  "runs the library from source, without jsii type information"),
    ("manifest.json", "the 'trace' of each metadata entry (the JavaScript stack of whoever made a warning "
                      "or error; jsii's kernel in Python and Java); the entries themselves are compared"),
]
MAX_DIFFS_PER_FILE = 15
MAX_FILES_REPORTED = 40

# As DEFAULT_SEED_CODE_EXCLUDES in src/seed-code-asset.ts.
SEED_CODE_EXCLUDES = [".git", "__pycache__", "*.pyc", ".venv", "node_modules", "cdk.out", ".pytest_cache", ".DS_Store"]


def list_files(root):
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            files[os.path.relpath(full, root)] = full
    return files


def strip_ignored(rel, value):
    key = {"tree.json": "constructInfo", "manifest.json": "trace"}.get(os.path.basename(rel))
    if key is None:
        return value

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != key}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(value)


def short(value, limit=160):
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_diffs(a, b, path, out):
    if len(out) > MAX_DIFFS_PER_FILE:
        return
    if type(a) is not type(b):
        out.append((path, a, b))
    elif isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            sub = f"{path}.{key}" if key.replace("_", "").isalnum() else f"{path}[{json.dumps(key)}]"
            if key not in a:
                out.append((sub, "<absent>", b[key]))
            elif key not in b:
                out.append((sub, a[key], "<absent>"))
            else:
                json_diffs(a[key], b[key], sub, out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append((f"{path}.length", len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            json_diffs(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append((path, a, b))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def top_asset_dir(rel):
    first = rel.split(os.sep, 1)[0]
    return first if first.startswith("asset.") and os.sep in rel else None


def compare_pair(ref_name, ref_dir, name, ref_files, files):
    """Returns a list of report lines; empty when equal."""
    lines = []
    only_ref = sorted(set(ref_files) - set(files))
    only_other = sorted(set(files) - set(ref_files))

    # Asset directories are named by content hash: pair unmatched ones by their file lists so the
    # report says which files differ rather than just that two hashes differ.
    def unmatched_assets(only):
        groups = {}
        for rel in only:
            top = top_asset_dir(rel)
            if top:
                groups.setdefault(top, set()).add(rel.split(os.sep, 1)[1])
        return groups

    ref_assets, other_assets = unmatched_assets(only_ref), unmatched_assets(only_other)
    explained = set()
    for ref_asset, ref_set in sorted(ref_assets.items()):
        best, best_score = None, 0.0
        for other_asset, other_set in other_assets.items():
            score = len(ref_set & other_set) / max(1, len(ref_set | other_set))
            if score > best_score:
                best, best_score = other_asset, score
        if best is None or best_score < 0.5:
            continue
        other_set = other_assets.pop(best)
        explained.add(ref_asset)
        explained.add(best)
        lines.append(f"  asset directory {ref_asset} ({ref_name}) vs {best} ({name}), same asset with other content:")
        for rel in sorted(ref_set - other_set):
            lines.append(f"      only in {ref_name}: {rel}")
        for rel in sorted(other_set - ref_set):
            lines.append(f"      only in {name}: {rel}")
        for rel in sorted(ref_set & other_set):
            if sha256(ref_files[os.path.join(ref_asset, rel)]) != sha256(files[os.path.join(best, rel)]):
                lines.append(f"      content differs: {rel}")
    reported = 0
    for rel in only_ref:
        if top_asset_dir(rel) in explained or reported >= MAX_FILES_REPORTED:
            continue
        reported += 1
        lines.append(f"  only in {ref_name}: {rel}")
    for rel in only_other:
        if top_asset_dir(rel) in explained or reported >= MAX_FILES_REPORTED:
            continue
        reported += 1
        lines.append(f"  only in {name}: {rel}")

    for rel in sorted(set(ref_files) & set(files)):
        if rel.endswith(".json"):
            with open(ref_files[rel]) as f:
                a = strip_ignored(rel, json.load(f))
            with open(files[rel]) as f:
                b = strip_ignored(rel, json.load(f))
            diffs = []
            json_diffs(a, b, "$", diffs)
            if diffs:
                lines.append(f"  {rel}: {len(diffs) if len(diffs) <= MAX_DIFFS_PER_FILE else 'more than %d' % MAX_DIFFS_PER_FILE} difference(s)")
                for path, x, y in diffs[:MAX_DIFFS_PER_FILE]:
                    lines.append(f"      {path}")
                    lines.append(f"          {ref_name + ':':11} {short(x)}")
                    lines.append(f"          {name + ':':11} {short(y)}")
        elif sha256(ref_files[rel]) != sha256(files[rel]):
            lines.append(f"  {rel}: content differs")
    return lines


def compare_dirs(label, specs, report_only):
    named = []
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"compare.py: expected NAME=DIR, got '{spec}'")
        if not os.path.isdir(path):
            raise SystemExit(f"compare.py: {label}: {name} folder {path} does not exist (did its app run?)")
        named.append((name, path))
    (ref_name, ref_dir), others = named[0], named[1:]
    ref_files = list_files(ref_dir)
    if not ref_files:
        raise SystemExit(f"compare.py: {label}: {ref_name} folder {ref_dir} is empty")
    failed = False
    for name, path in others:
        files = list_files(path)
        lines = compare_pair(ref_name, ref_dir, name, ref_files, files)
        if lines:
            failed = True
            print(f"{'DIFFERENT' if not report_only else 'differs (informational)'}: {label}: {name} ({path}) vs {ref_name} ({ref_dir})")
            print("\n".join(lines))
        else:
            print(f"same: {label}: {name} == {ref_name} ({len(ref_files)} files)")
    return failed and not report_only


def npm_seed_code(package):
    """Files under package/seed_code/ in the npm tarball, or in the one a wheel or jar embeds."""
    out = {}
    if zipfile.is_zipfile(package):
        with zipfile.ZipFile(package) as archive:
            embedded = [n for n in archive.namelist() if n.endswith(".jsii.tgz")]
            if len(embedded) != 1:
                raise SystemExit(f"compare.py: {package} embeds {len(embedded)} .jsii.tgz files, expected 1")
            tar = tarfile.open(fileobj=io.BytesIO(archive.read(embedded[0])))
    else:
        tar = tarfile.open(package)
    with tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("package/seed_code/"):
                out[member.name[len("package/seed_code/"):]] = hashlib.sha256(tar.extractfile(member).read()).hexdigest()
    return out


def excluded(rel):
    return any(fnmatch.fnmatch(part, pattern) for part in rel.split("/") for pattern in SEED_CODE_EXCLUDES)


def compare_seed_code(seed_dir, tarball):
    source = {rel.replace(os.sep, "/"): sha256(full) for rel, full in list_files(seed_dir).items()}
    source = {rel: h for rel, h in source.items() if not excluded(rel)}
    packaged = {rel: h for rel, h in npm_seed_code(tarball).items() if not excluded(rel)}
    lines = [f"  only in the source tree ({seed_dir}): {rel}" for rel in sorted(set(source) - set(packaged))]
    lines += [f"  only in the package ({tarball}): {rel}" for rel in sorted(set(packaged) - set(source))]
    lines += [f"  content differs: {rel}" for rel in sorted(set(source) & set(packaged)) if source[rel] != packaged[rel]]
    if lines:
        print(f"DIFFERENT: seed code: the seed code in {tarball} differs from {seed_dir}")
        print("\n".join(lines))
        if any(rel.endswith(".gitignore") for rel in set(source) - set(packaged)):
            print("  note: npm pack (used by jsii-pacmak for every language) never includes files named .gitignore")
        print("  note: if the source tree changed after the packages were built, rebuild them (npx projen package-all)")
        return True
    print(f"same: seed code: {tarball} == {seed_dir} ({len(source)} files)")
    return False


def main(argv):
    if len(argv) >= 3 and argv[0] == "--seed-code":
        failed = [compare_seed_code(argv[1], package) for package in argv[2:]]
        return 1 if any(failed) else 0
    label, report_only = "assembly", False
    while argv and argv[0].startswith("--"):
        if argv[0] == "--label" and len(argv) > 1:
            label, argv = argv[1], argv[2:]
        elif argv[0] == "--report-only":
            report_only, argv = True, argv[1:]
        else:
            raise SystemExit(__doc__)
    if len(argv) < 2:
        raise SystemExit(__doc__)
    print(f"comparing {label}; ignored: " + "; ".join(f"{f}: {why}" for f, why in IGNORED))
    return 1 if compare_dirs(label, argv, report_only) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
