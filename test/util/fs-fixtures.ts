import * as fs from 'fs';
import * as path from 'path';
import { tempDir } from './temp-dir';

/** A fresh temporary folder holding the given files (path relative to the folder → content). */
export function folderWith(files: Record<string, string>): string {
  const dir = tempDir('seed');
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  return dir;
}

/** A fresh, empty temporary folder. */
export function emptyFolder(): string {
  return tempDir('empty');
}
