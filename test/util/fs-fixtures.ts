import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** A fresh temporary folder holding the given files (path relative to the folder → content). */
export function folderWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-'));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return dir;
}

/** A fresh, empty temporary folder. */
export function emptyFolder(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'empty-'));
}
