/* eslint-disable no-bitwise */ // zip headers are bit fields
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

const CENTRAL_SIGNATURE = Buffer.from([0x50, 0x4b, 0x01, 0x02]);

/** The offset of the central directory entry of `name` in an archive made by `writeZip`. */
function centralEntry(zip: Buffer, name: string): number {
  for (let offset = zip.indexOf(CENTRAL_SIGNATURE); offset >= 0; offset = zip.indexOf(CENTRAL_SIGNATURE, offset + 4)) {
    if (zip.subarray(offset + 46, offset + 46 + zip.readUInt16LE(offset + 28)).toString('utf8') === name) return offset;
  }
  throw new Error(`no central directory entry ${name}`);
}

/** An archive of one file, changed by `edit` (given the archive and the file's central directory entry). */
function patched(edit: (zip: Buffer, central: number) => void, file = { path: 'a.txt', content: 'x', stored: true }): Buffer {
  const zip = writeZip([file]);
  edit(zip, centralEntry(zip, file.path));
  return zip;
}

describe('readZip refuses what it cannot read safely', () => {
  test.each([
    ['an encrypted entry', (zip: Buffer, c: number) => zip.writeUInt16LE(zip.readUInt16LE(c + 8) | 0x1, c + 8),
      /^the seed code archive entry 'a\.txt' is encrypted; use an unencrypted zip$/],
    ['another compression method (bzip2)', (zip: Buffer, c: number) => zip.writeUInt16LE(12, c + 10),
      /^the seed code archive entry 'a\.txt' uses compression method 12; use stored or deflated entries$/],
    ['a size that does not match the data', (zip: Buffer, c: number) => zip.writeUInt32LE(2, c + 24),
      /^the seed code archive entry 'a\.txt' has 1 bytes where the archive says 2$/],
    ['a damaged central directory entry', (zip: Buffer, c: number) => zip.writeUInt32LE(0, c),
      /^the seed code archive is not a valid zip file \(central directory entry 0 is damaged\)$/],
    ['more entries counted than there are', (zip: Buffer) => zip.writeUInt16LE(2, zip.length - 22 + 10),
      /^the seed code archive is not a valid zip file \(central directory entry 1 is damaged\)$/],
    ['a damaged local header', (zip: Buffer) => zip.writeUInt32LE(0, 0),
      /^the seed code archive is not a valid zip file \(local header of 'a\.txt' is damaged\)$/],
    ['zip64 (65535 entries)', (zip: Buffer) => zip.writeUInt16LE(0xffff, zip.length - 22 + 10),
      /^the seed code archive is a zip64 archive, which is not supported; keep the seed code under 4 GB and 65535 files$/],
    ['zip64 (a central directory beyond 4 GB)', (zip: Buffer) => zip.writeUInt32LE(0xffffffff, zip.length - 22 + 16),
      /^the seed code archive is a zip64 archive/],
  ])('%s', (_, edit, message) => {
    expect(() => readZip(patched(edit))).toThrow(message);
  });

  test.each(['/etc/passwd', 'a//b.txt', 'a/../../b.txt', '..', 'a\\..\\..\\b.txt'])('the unsafe path %s', name => {
    expect(() => readZip(writeZip([{ path: name, content: 'x' }]))).toThrow(/has an unsafe path; use relative paths without '\.\.'$/);
  });

  test('bytes that are not a zip archive', () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(100, 0x41)]) {
      expect(() => readZip(bytes)).toThrow('the seed code archive is not a zip file (no end of central directory record)');
    }
  });
});

describe('readZip reads', () => {
  test('an empty archive as no files', () => {
    expect(readZip(writeZip([]))).toEqual([]);
  });

  test('an archive with a comment after the end record', () => {
    const zip = writeZip([{ path: 'a.txt', content: 'x' }]);
    zip.writeUInt16LE(7, zip.length - 22 + 20);
    expect(readZip(Buffer.concat([zip, Buffer.from('comment')])).map(e => e.path)).toEqual(['a.txt']);
  });

  test('backslashes as path separators (archives made on Windows)', () => {
    expect(readZip(writeZip([{ path: 'pipelines\\run.py', content: 'x' }])).map(e => e.path)).toEqual(['pipelines/run.py']);
  });

  test('names as UTF-8 only when the archive says so (otherwise as single bytes)', () => {
    const file = { path: 'café.txt', content: 'x', stored: true };
    expect(readZip(writeZip([file]))[0].path).toBe('café.txt');
    expect(readZip(patched((zip, c) => zip.writeUInt16LE(zip.readUInt16LE(c + 8) & ~0x800, c + 8), file))[0].path).toBe('cafÃ©.txt');
  });

  test('the executable bit of unix archives only (the mode of other systems\' archives is not a unix mode)', () => {
    const file = { path: 'run.sh', content: '#!/bin/sh\n', executable: true, stored: false };
    expect(readZip(writeZip([file]))[0].executable).toBe(true);
    // "Made by" MS-DOS (0) with the same external attributes.
    expect(readZip(patched((zip, c) => zip.writeUInt16LE(20, c + 4), file))[0]).toMatchObject({ path: 'run.sh', executable: false });
  });
});
