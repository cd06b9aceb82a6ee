import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, AppProps } from 'aws-cdk-lib';

/**
 * Everything a test file writes outside the repository goes under one folder per test file
 * (`cdk-smpt-test-*` in the temp directory), removed once the file's tests are done.
 *
 * Jest loads this module afresh for each test file, at collection time (imports are hoisted), so
 * the `afterAll` below is registered once per file that imports it, directly or through another
 * helper. Outside jest (ts-node scripts) the folder is removed when the process exits.
 */
let root: string | undefined;

function removeRoot(): void {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  root = undefined;
}

if (typeof afterAll === 'function') {
  afterAll(removeRoot);
} else {
  process.once('exit', removeRoot);
}

/** A new, empty folder in the test file's temp root; removed after the file's tests. */
export function tempDir(prefix: string): string {
  root ??= fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-smpt-test-'));
  return fs.mkdtempSync(path.join(root, prefix.endsWith('-') ? prefix : `${prefix}-`));
}

/**
 * An `App` whose cloud assembly goes to a `tempDir` (a bare `new App()` makes a `cdk.out*`
 * folder in the temp directory for every app and leaves it there).
 */
export function testApp(props: AppProps = {}): App {
  return new App({ outdir: tempDir('cdk.out'), ...props });
}
