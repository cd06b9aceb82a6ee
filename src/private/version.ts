import * as fs from 'fs';
import * as path from 'path';

let cached: string | undefined;

/** This library's own version, read from its package.json (also inside the Python and Java packages). */
export function libraryVersion(): string {
  if (cached === undefined) {
    const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf-8'));
    cached = String(manifest.version);
  }
  return cached;
}
