import * as fs from 'fs';
import * as path from 'path';

/** One built package in `dist/`. */
export interface PackageFile {
  readonly kind: 'npm tarball' | 'python wheel' | 'python sdist' | 'java jar' | 'java sources jar' | 'java javadoc jar';
  readonly file: string;
  readonly bytes: number;
  readonly built: string;
}

export interface PackageSizes {
  /** Whether `dist/` holds any package. */
  readonly built: boolean;
  readonly note?: string;
  readonly files: PackageFile[];
}

export const NPM_TARBALL_TARGET_BYTES = 1_048_576;

/** Sizes of the packages `npx projen package-all` left in `dist/`. */
export function packageSizes(root: string): PackageSizes {
  const dist = path.join(root, 'dist');
  const files: PackageFile[] = [];
  for (const file of walk(dist)) {
    const kind = kindOf(file);
    if (!kind) continue;
    const stat = fs.statSync(file);
    files.push({ kind, file: path.relative(root, file), bytes: stat.size, built: stat.mtime.toISOString() });
  }
  if (files.length === 0) return { built: false, note: 'not built: run npx projen package-all', files };
  return { built: true, files };
}

function kindOf(file: string): PackageFile['kind'] | undefined {
  const name = path.basename(file);
  if (name.endsWith('.tgz')) return 'npm tarball';
  if (name.endsWith('.whl')) return 'python wheel';
  if (name.endsWith('.tar.gz') && file.includes(`${path.sep}python${path.sep}`)) return 'python sdist';
  if (name.endsWith('-sources.jar')) return 'java sources jar';
  if (name.endsWith('-javadoc.jar')) return 'java javadoc jar';
  if (name.endsWith('.jar')) return 'java jar';
  return undefined;
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? walk(full) : [full];
  });
}
