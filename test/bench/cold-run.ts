// One synthesis in a fresh process, for cold-start figures. bench.ts runs it as
//   node -r ts-node/register test/bench/cold-run.ts <example|products:N> <outdir> <snapshotDirectory>
// and reads one JSON line: time to load the library and aws-cdk-lib, time to build and synthesize.
import { performance } from 'perf_hooks';

const start = performance.now();
/* eslint-disable @typescript-eslint/no-require-imports */
const scenarios = require('./scenarios') as typeof import('./scenarios');
/* eslint-enable @typescript-eslint/no-require-imports */
const loaded = performance.now();
const [scenario, outdir, snapshotDirectory] = process.argv.slice(2);
const build = scenario === 'example' ? scenarios.exampleApp : scenarios.portfolioApp(Number(scenario.replace('products:', '')));
build({ outdir, snapshotDirectory }).synth();
const done = performance.now();
process.stdout.write(JSON.stringify({ loadMs: loaded - start, synthMs: done - loaded, sinceProcessStartMs: done }) + '\n');
