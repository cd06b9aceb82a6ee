import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { SEED, SEED_PATHS } from './harness';
import { readZip } from '../../../src/handlers/git-provider/zip';
import { writeZip } from '../../util/fake-git-provider';
import { tempDir } from '../../util/temp-dir';

/** The seed code archive reader: pure, no provider needed. */
describe('readZip', () => {
  test('stored and deflated files, executables, no directory entries', () => {
    const entries = readZip(SEED);
    expect(entries.map(e => e.path).sort()).toEqual(SEED_PATHS);
    expect(entries.find(e => e.path === 'scripts/build.sh')).toMatchObject({ executable: true });
    expect(entries.find(e => e.path === 'buildspec.yml')!.data.toString()).toBe('version: 0.2\n');
  });

  test('refuses unsafe paths', () => {
    expect(() => readZip(writeZip([{ path: '../etc/passwd', content: 'x' }]))).toThrow(/entry '..\/etc\/passwd' has an unsafe path/);
  });

  const zipTool = spawnSync('zip', ['-v']).status === 0;
  (zipTool ? test : test.skip)('reads an archive made by Info-ZIP zip', () => {
    const dir = tempDir('zip');
    fs.mkdirSync(path.join(dir, 'src', 'app'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'app', 'main.py'), 'x = 1\n'.repeat(500));
    fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    expect(spawnSync('zip', ['-q', '-r', '-X', path.join(dir, 'out.zip'), 'src', 'run.sh'], { cwd: dir }).status).toBe(0);
    const entries = readZip(fs.readFileSync(path.join(dir, 'out.zip')));
    expect(entries.map(e => [e.path, e.executable, e.data.length]).sort()).toEqual([['run.sh', true, 10], ['src/app/main.py', false, 3000]]);
  });
});
