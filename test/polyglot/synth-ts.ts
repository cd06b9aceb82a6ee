/**
 * The TypeScript side of the polyglot gate (.ci/polyglot.sh): the example organisation app
 * (test/example/app.ts, the reference the Python and Java apps mirror) and the README snippets.
 *
 * Usage: ts-node --project tsconfig.dev.json test/polyglot/synth-ts.ts <outdir> <snapshot-directory> [<snippets-outdir>]
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSnippetsApp } from './snippets';
import { BundledSeedApp, SeedCodeAsset } from '../../src';
import { buildExampleApp } from '../example/app';

function main(argv: string[]) {
  if (argv.length < 2 || argv.length > 3) {
    throw new Error('usage: synth-ts.ts <outdir> <snapshot-directory> [<snippets-outdir>]');
  }
  const [outdir, snapshotDirectory] = argv.slice(0, 2).map(p => path.resolve(p));
  let start = Date.now();
  const buildApp = SeedCodeAsset.bundledAppPath(BundledSeedApp.BUILD_APP);
  if (!fs.existsSync(path.join(buildApp, 'buildspec.yml'))) {
    throw new Error(`typescript: bundled seed code ${buildApp} has no buildspec.yml`);
  }
  console.log(`typescript: bundled seed code build_app: ${buildApp}`);
  buildExampleApp({ outdir, snapshotDirectory }).synth();
  console.log(`typescript: example app synthesized into ${outdir} in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  if (argv[2]) {
    start = Date.now();
    buildSnippetsApp(path.resolve(argv[2])).synth();
    console.log(`typescript: README snippets synthesized into ${argv[2]} in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  }
}

main(process.argv.slice(2));
