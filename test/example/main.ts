import * as fs from 'fs';
import * as path from 'path';
import { buildExampleApp } from './app';
import { printSummary, summarizeAssembly } from './summary';

// `npx projen example`: synthesize the example organisation app into cdk.out/ and say what it made.
const outdir = path.resolve(process.argv[2] ?? 'cdk.out');
// Snapshots are per run here: the example shows one version of each product, not a history.
const snapshotDirectory = path.join(outdir, 'product-stack-snapshots');
fs.rmSync(outdir, { recursive: true, force: true });
buildExampleApp({ outdir, snapshotDirectory }).synth();
printSummary(summarizeAssembly(outdir), path.relative(process.cwd(), outdir) || '.');
