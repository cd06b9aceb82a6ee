// One synthesis of the example app in a fresh process, for cold-start figures.
// Run by bench.ts as: node -r ts-node/register test/bench/cold-run.ts <outdir> <snapshotDirectory>
// and prints one JSON line: how long loading the library took and how long the synthesis took.
import { performance } from 'perf_hooks';

const start = performance.now();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildExampleApp } = require('../example/app') as typeof import('../example/app');
const loaded = performance.now();
buildExampleApp({ outdir: process.argv[2], snapshotDirectory: process.argv[3] }).synth();
const done = performance.now();
process.stdout.write(JSON.stringify({ loadMs: loaded - start, synthMs: done - loaded, sinceProcessStartMs: done }) + '\n');
