// `npx projen bench`: synth time, template sizes against CloudFormation quotas, what each
// provisioned project costs while idle, package sizes, and the targets of issue 11.
//
// A report, not a test: it prints a table, writes bench-results.json at the repo root and exits 0
// unless something crashes. Slow or missed figures are reported, never failed on.
//
//   npx projen bench                                   the full bench (2-4 minutes on 2 idle cores)
//   BENCH_QUICK=1 npx projen bench                     one run of each, to check the bench itself
//   BENCH_MARKDOWN=test/bench/RESULTS.md npx projen bench   also write the figures as Markdown
// (the projen task passes no arguments; run through ts-node directly, --quick and
// --markdown <file> work too)
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { App } from 'aws-cdk-lib';
import { renderMarkdown } from './markdown';
import { NPM_TARBALL_TARGET_BYTES, packageSizes, PackageSizes } from './packages';
import { AppBuilder, cleanTemp, exampleApp, portfolioApp, SynthDirs, synthOnce, tempDir } from './scenarios';
import { collectGarbage, formatTiming, kib, pct, round, seconds, summarize, timeOnce, Timing } from './stats';
import { LIMITS, portfolioStackResources, portfolioStackResourceTypes, PRICES, ProjectFootprint, productVersionCounts, projectFootprints, templateSizes, TemplateSize } from './templates';

const ROOT = path.resolve(__dirname, '..', '..');
const QUICK = process.argv.includes('--quick') || !!process.env.BENCH_QUICK;
const markdownIndex = process.argv.indexOf('--markdown');
const MARKDOWN_FILE = (markdownIndex >= 0 ? process.argv[markdownIndex + 1] : undefined) ?? process.env.BENCH_MARKDOWN;

/** Runs per scenario: chosen so the full bench stays well under 10 minutes on 2 shared cores. */
const RUNS = QUICK
  ? { example: 1, products1: 1, products10: 1, products50: 1, versions: 1, cold: 1 }
  : { example: 7, products1: 7, products10: 7, products50: 5, versions: 5, cold: 3 };
const PRODUCT_COUNTS = [1, 10, 50];
/** Version history scenarios: products in the portfolio × versions per product. */
const VERSION_SCENARIOS = [
  { products: 1, versions: 1 },
  { products: 1, versions: 10 },
  { products: 10, versions: 1 },
  { products: 10, versions: 10 },
];

export interface ScenarioResult {
  readonly name: string;
  readonly products: number;
  readonly versionsPerProduct: number;
  readonly timing: Timing;
  readonly portfolioStackResources: number;
  readonly portfolioStackResourceTypes: { [type: string]: number };
  readonly versionCounts: number[];
  readonly note?: string;
}

export interface ColdStart {
  readonly name: string;
  readonly runs: number;
  readonly processWall?: Timing;
  readonly load?: Timing;
  readonly synth?: Timing;
  readonly error?: string;
}

export interface TargetResult {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
  readonly margin: string;
  readonly note?: string;
}

export interface BenchResults {
  readonly generatedAt: string;
  readonly environment: { [key: string]: string | number };
  readonly method: string[];
  readonly exampleApp: ScenarioResult;
  readonly portfolios: ScenarioResult[];
  readonly versionHistories: ScenarioResult[];
  readonly coldStart: ColdStart[];
  readonly limits: typeof LIMITS;
  readonly templateSizes: TemplateSize[];
  readonly footprints: ProjectFootprint[];
  readonly prices: typeof PRICES;
  readonly packages: PackageSizes;
  readonly targets: TargetResult[];
  readonly benchSeconds: number;
}

function main(): void {
  const benchStart = performance.now();
  const environment = describeEnvironment();
  const method = [
    'Each synthesis builds a fresh App (new constructs) and calls app.synth() into a new temp outdir; the time covers both.',
    'All runs are in this one process, after one warm-up synthesis of the example app; the asset hash cache is cleared and garbage collected before each run.',
    'Scenarios are interleaved (run 1 of every scenario, then run 2 of every scenario, ...) so a change in machine load hits all of them alike.',
    `Runs: example app ${RUNS.example}, 1 product ${RUNS.products1}, 10 products ${RUNS.products10}, 50 products ${RUNS.products50} (fewer: each takes longest), version histories ${RUNS.versions} each, cold start ${RUNS.cold}.`,
    'Version histories: snapshots of v1..vN-1 are written first by synthesizing with each versionName into one snapshotDirectory (untimed); then the synthesis of a new vN, which adds v1..vN-1 from the snapshots, is timed (its own snapshot removed before each run).',
    'The machine is shared (2 cores, other test runs): timings are noisy; compare medians and look at the min/max spread.',
  ];
  log(`cdk-sagemaker-project-templates bench${QUICK ? ' (--quick: one run each, figures are indicative only)' : ''}`);
  log(Object.entries(environment).map(([k, v]) => `${k}: ${v}`).join(' | '));
  log('');

  // Warm-up, and the assembly the sizes and footprints are read from.
  progress('warm-up: example app');
  const exampleDirs: SynthDirs = { outdir: tempDir('example'), snapshotDirectory: tempDir('example-snap') };
  const example = synthOnce(exampleApp, exampleDirs);
  const sizes = templateSizes(example);
  const footprints = projectFootprints(example);

  // Version histories: write the snapshots of v1..vN first (untimed).
  const histories = VERSION_SCENARIOS.map(({ products, versions }) => prepareVersionHistory(products, versions));

  const scenarios: Scenario[] = [
    { name: 'example app (4 built-in templates)', build: exampleApp, runs: RUNS.example, products: 4, versions: 1 },
    ...PRODUCT_COUNTS.map(products => ({
      name: `portfolio, ${products} product${products > 1 ? 's' : ''}`,
      build: portfolioApp(products),
      runs: products === 1 ? RUNS.products1 : products === 10 ? RUNS.products10 : RUNS.products50,
      products,
      versions: 1,
      note: products === 50 && RUNS.products50 < RUNS.products1 ? `${RUNS.products50} runs only: each takes longest` : undefined,
    })),
    ...histories,
  ];
  const timed = runInterleaved(scenarios);
  const exampleResult = timed[0];
  const portfolios = timed.slice(1, 1 + PRODUCT_COUNTS.length);
  const versionHistories = timed.slice(1 + PRODUCT_COUNTS.length).map((result, i) => {
    const expected = VERSION_SCENARIOS[i].versions;
    const wrong = result.versionCounts.some(n => n !== expected);
    return wrong ? { ...result, note: `expected ${expected} versions per product, found ${result.versionCounts.join(', ')}` } : result;
  });
  for (const s of histories) fs.rmSync(s.snapshotDirectory!, { recursive: true, force: true });

  const coldStart = measureColdStart(RUNS.cold);
  const packages = packageSizes(ROOT);
  const targets = evaluateTargets(portfolios, coldStart, footprints, packages);

  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    environment,
    method,
    exampleApp: exampleResult,
    portfolios,
    versionHistories,
    coldStart,
    limits: LIMITS,
    templateSizes: sizes,
    footprints,
    prices: PRICES,
    packages,
    targets,
    benchSeconds: round((performance.now() - benchStart) / 1000),
  };
  printReport(results);
  fs.writeFileSync(path.join(ROOT, 'bench-results.json'), JSON.stringify(results, null, 2) + '\n');
  log(`\nWrote bench-results.json${MARKDOWN_FILE ? ` and ${MARKDOWN_FILE}` : ''} (bench took ${results.benchSeconds} s)`);
  if (MARKDOWN_FILE) fs.writeFileSync(path.resolve(MARKDOWN_FILE), renderMarkdown(results));
  cleanTemp();
}

interface Scenario {
  readonly name: string;
  readonly build: AppBuilder;
  readonly runs: number;
  readonly products: number;
  readonly versions: number;
  /** A prepared snapshot folder kept across runs; otherwise each run gets a new empty one. */
  readonly snapshotDirectory?: string;
  /** Untimed preparation before each run. */
  readonly beforeRun?: () => void;
  readonly note?: string;
}

/**
 * Run the scenarios round by round (run 1 of each, then run 2 of each, ...), so that a change in
 * the load of the shared machine affects every scenario alike rather than one of them.
 */
function runInterleaved(scenarios: Scenario[]): ScenarioResult[] {
  const samples = scenarios.map(() => [] as number[]);
  const last: { resources: number; resourceTypes: { [type: string]: number }; versionCounts: number[] }[] = [];
  const rounds = Math.max(...scenarios.map(s => s.runs));
  for (let run = 0; run < rounds; run++) {
    scenarios.forEach((scenario, i) => {
      if (run >= scenario.runs) return;
      const dirs: SynthDirs = { outdir: tempDir('out'), snapshotDirectory: scenario.snapshotDirectory ?? tempDir('snap') };
      scenario.beforeRun?.();
      collectGarbage();
      let app: App | undefined;
      const ms = timeOnce(() => { app = synthOnce(scenario.build, dirs); });
      samples[i].push(ms);
      progress(`round ${run + 1}/${rounds} ${scenario.name}: ${seconds(ms)}`);
      if (run === scenario.runs - 1) {
        last[i] = {
          resources: portfolioStackResources(app!),
          resourceTypes: portfolioStackResourceTypes(app!),
          versionCounts: productVersionCounts(app!),
        };
      }
      fs.rmSync(dirs.outdir, { recursive: true, force: true });
      if (!scenario.snapshotDirectory) fs.rmSync(dirs.snapshotDirectory, { recursive: true, force: true });
    });
  }
  return scenarios.map((scenario, i) => ({
    name: scenario.name,
    products: scenario.products,
    versionsPerProduct: scenario.versions,
    timing: summarize(samples[i]),
    portfolioStackResources: last[i].resources,
    portfolioStackResourceTypes: last[i].resourceTypes,
    versionCounts: last[i].versionCounts,
    note: scenario.note,
  }));
}

/**
 * Write snapshots of v1..vN-1 (untimed); the scenario then times the synthesis of a new vN with
 * v1..vN-1 read back. The vN snapshot is removed before each run, so every run adds the same new
 * version (and seed code edited while the bench runs cannot clash with a locked snapshot).
 */
function prepareVersionHistory(products: number, versions: number): Scenario {
  const snapshotDirectory = tempDir('history');
  for (let v = 1; v < versions; v++) {
    const outdir = tempDir('prepare');
    synthOnce(portfolioApp(products, `v${v}`), { outdir, snapshotDirectory });
    fs.rmSync(outdir, { recursive: true, force: true });
  }
  progress(`history of ${products} product(s) × ${versions} version(s): ${versions - 1} earlier snapshot(s) written`);
  const current = `.v${versions}.product.template.json`;
  return {
    name: `${products} product${products > 1 ? 's' : ''} × ${versions} version${versions > 1 ? 's' : ''}`,
    build: portfolioApp(products, `v${versions}`),
    runs: RUNS.versions,
    products,
    versions,
    snapshotDirectory,
    beforeRun: () => {
      for (const file of fs.readdirSync(snapshotDirectory).filter(f => f.endsWith(current))) fs.rmSync(path.join(snapshotDirectory, file));
    },
  };
}

const COLD_SCENARIOS = [
  { key: 'example', name: 'example app' },
  { key: 'products:1', name: 'portfolio, 1 product' },
  { key: 'products:50', name: 'portfolio, 50 products' },
];

/** Synthesize in fresh node processes (ts-node, transpile only), round by round. */
function measureColdStart(runs: number): ColdStart[] {
  const figures = COLD_SCENARIOS.map(() => ({
    wall: [] as number[],
    load: [] as number[],
    synth: [] as number[],
    error: undefined as string | undefined,
  }));
  for (let run = 0; run < runs; run++) {
    COLD_SCENARIOS.forEach((scenario, i) => {
      const f = figures[i];
      if (f.error) return;
      const outdir = tempDir('cold');
      const started = performance.now();
      const child = spawnSync(process.execPath, ['-r', 'ts-node/register', path.join(__dirname, 'cold-run.ts'), scenario.key, outdir, path.join(outdir, 'snapshots')], {
        cwd: ROOT,
        encoding: 'utf-8',
        env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.dev.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
        maxBuffer: 16 * 1024 * 1024,
      });
      const ms = performance.now() - started;
      fs.rmSync(outdir, { recursive: true, force: true });
      const line = (child.stdout ?? '').trim().split('\n').pop() ?? '';
      if (child.status !== 0 || !line.startsWith('{')) {
        f.error = `child exited ${child.status}: ${(child.stderr ?? '').trim().split('\n').slice(0, 3).join(' ')}`;
        progress(`cold start ${scenario.name}: ${f.error}`);
        return;
      }
      const out = JSON.parse(line);
      f.wall.push(ms);
      f.load.push(out.loadMs);
      f.synth.push(out.synthMs);
      progress(`cold start ${run + 1}/${runs} ${scenario.name}: ${seconds(ms)} (load ${seconds(out.loadMs)}, build and synth ${seconds(out.synthMs)})`);
    });
  }
  return COLD_SCENARIOS.map((scenario, i) => {
    const f = figures[i];
    if (f.wall.length === 0) return { name: scenario.name, runs: 0, error: f.error };
    return {
      name: scenario.name,
      runs: f.wall.length,
      processWall: summarize(f.wall),
      load: summarize(f.load),
      synth: summarize(f.synth),
      error: f.error,
    };
  });
}

function evaluateTargets(portfolios: ScenarioResult[], cold: ColdStart[], footprints: ProjectFootprint[], packages: PackageSizes): TargetResult[] {
  const targets: TargetResult[] = [];
  const by = (n: number) => portfolios.find(p => p.products === n)!;
  const [p1, p10, p50] = [by(1), by(10), by(50)];

  const growth10 = (p10.portfolioStackResources - p1.portfolioStackResources) / 9;
  const growth50 = (p50.portfolioStackResources - p1.portfolioStackResources) / 49;
  const growth = Math.max(growth10, growth50);
  targets.push({
    name: 'Portfolio stack growth per product',
    target: '≤ 3 resources per product',
    measured: `${fmt(growth)} per product (${p1.portfolioStackResources} → ${p10.portfolioStackResources} → ${p50.portfolioStackResources} resources for 1 → 10 → 50 products; 1→10: ${fmt(growth10)}, 1→50: ${fmt(growth50)})`,
    met: growth <= 3,
    margin: `${fmt(Math.abs(3 - growth))} resources per product ${growth <= 3 ? 'to spare' : 'over'}`,
    note: `added per product: ${perProductTypes(p1, p50)}; the stack reaches the 500-resource quota at about ${Math.floor((LIMITS.resources - (p1.portfolioStackResources - growth)) / Math.max(growth, 0.001))} products`,
  });

  const ratio = p50.timing.medianMs / p1.timing.medianMs;
  const cold1 = cold.find(c => c.name === 'portfolio, 1 product');
  const cold50 = cold.find(c => c.name === 'portfolio, 50 products');
  const ratioBest = p50.timing.minMs / p1.timing.minMs;
  targets.push({
    name: 'Synth time, 50 products vs 1',
    target: '< 10× the time of 1 product',
    measured: `${fmt(ratio)}× (medians ${seconds(p50.timing.medianMs)} / ${seconds(p1.timing.medianMs)}; fastest runs ${fmt(ratioBest)}×)`,
    met: ratio < 10,
    margin: ratio < 10 ? `${fmt(10 - ratio)}× under` : `${fmt(ratio - 10)}× over`,
    note: `${fmt((p50.timing.medianMs - p1.timing.medianMs) / 49)} ms per added product vs ${fmt(p1.timing.medianMs)} ms for the 1-product app, so the ratio is about (1-product time + 49 × per-product time) / 1-product time` +
      (cold1?.processWall && cold50?.processWall
        ? `; whole fresh processes (module loading included, as a cdk synth is): ${fmt(cold50.processWall.medianMs / cold1.processWall.medianMs)}× (${seconds(cold50.processWall.medianMs)} / ${seconds(cold1.processWall.medianMs)})`
        : ''),
  });

  const worstKeys = Math.max(...footprints.map(f => f.kmsKeys));
  const v1 = footprints.flatMap(f => f.pipelines.filter(p => p.type === 'V1').map(p => `${f.template}/${p.logicalId}`));
  const costs = footprints.map(f => `${f.template} $${f.idleMonthlyUsd.toFixed(2)}`).join(', ');
  const idleMet = worstKeys <= 1 && v1.length === 0;
  targets.push({
    name: 'Idle cost per project',
    target: '≤ 1 KMS key and no per-pipeline monthly fee (all pipelines V2)',
    measured: `at most ${worstKeys} KMS key(s); ${footprints.reduce((n, f) => n + f.pipelines.length, 0)} pipelines in ${footprints.length} templates, ${v1.length} V1; idle ${costs}/month`,
    met: idleMet,
    margin: idleMet
      ? `${1 - worstKeys} key(s) to spare, 0 V1 pipelines`
      : [worstKeys > 1 ? `${worstKeys - 1} key(s) too many` : '', v1.length > 0 ? `V1 pipelines: ${v1.join(', ')}` : ''].filter(Boolean).join('; '),
  });

  const tarball = packages.files.find(f => f.kind === 'npm tarball');
  if (!tarball) {
    targets.push({ name: 'npm tarball size', target: '< 1 MB (1,048,576 bytes)', measured: packages.note ?? 'no npm tarball in dist/', met: false, margin: 'not measured', note: 'not built: run npx projen package-all' });
  } else {
    const met = tarball.bytes < NPM_TARBALL_TARGET_BYTES;
    targets.push({
      name: 'npm tarball size',
      target: '< 1 MB (1,048,576 bytes)',
      measured: `${tarball.bytes.toLocaleString('en-US')} bytes (${kib(tarball.bytes)}, ${pct(tarball.bytes, NPM_TARBALL_TARGET_BYTES)} of 1 MB)`,
      met,
      margin: `${kib(Math.abs(NPM_TARBALL_TARGET_BYTES - tarball.bytes))} ${met ? 'under' : 'over'}`,
      note: `dist/ built ${tarball.built}`,
    });
  }
  return targets;
}

function printReport(r: BenchResults): void {
  log('\nSynth time (median, min–max, runs)');
  table(['scenario', 'median', 'min', 'max', 'runs', 'portfolio stack resources', 'note'], [r.exampleApp, ...r.portfolios, ...r.versionHistories].map(s => [
    s.name, seconds(s.timing.medianMs), seconds(s.timing.minMs), seconds(s.timing.maxMs), String(s.timing.runs), String(s.portfolioStackResources), s.note ?? '',
  ]));
  log('\nCold start: one synthesis in a fresh node process (ts-node, transpile only)');
  table(['scenario', 'process wall', 'loading library + aws-cdk-lib', 'build + synth', 'runs'], r.coldStart.map(c => c.processWall
    ? [c.name, formatTiming(c.processWall), formatTiming(c.load!), formatTiming(c.synth!), String(c.runs)]
    : [c.name, `not measured: ${c.error}`, '', '', '0']));
  for (const c of r.coldStart.filter(x => x.processWall && x.error)) log(`  ${c.name}: later runs stopped: ${c.error}`);
  for (const line of r.method) log(`  · ${line}`);

  log('\nExample app templates against CloudFormation quotas');
  table(['template', 'resources / 500', 'bytes / 1,048,576', 'parameters / 200', 'outputs / 200'], r.templateSizes.map(t => [
    `${t.kind}: ${t.name}`,
    `${t.resources} (${pct(t.resources, LIMITS.resources)})`,
    `${t.bytes.toLocaleString('en-US')} (${pct(t.bytes, LIMITS.bytes)})`,
    `${t.parameters} (${pct(t.parameters, LIMITS.parameters)})`,
    `${t.outputs} (${pct(t.outputs, LIMITS.outputs)})`,
  ]));

  log('\nPer provisioned project (one per built-in template)');
  table(['template', 'resources', 'KMS keys', 'buckets', 'pipelines (type)', 'CodeCommit', 'ECR', 'CodeBuild', 'Lambda', 'idle $/month', 'after 2 key rotations'], r.footprints.map(f => [
    f.template,
    String(f.resources),
    `${f.kmsKeys}${f.kmsKeysWithRotation ? ` (${f.kmsKeysWithRotation} rotating)` : ''}`,
    String(f.buckets),
    `${f.pipelines.length} (${summarizeTypes(f.pipelines.map(p => p.type))})`,
    String(f.codeCommitRepositories),
    String(f.ecrRepositories),
    String(f.codeBuildProjects),
    String(f.lambdaFunctions),
    `$${f.idleMonthlyUsd.toFixed(2)} (${f.costBreakdown.join(' + ') || 'none'})`,
    `$${f.idleMonthlyUsdAfterRotations.toFixed(2)}`,
  ]));
  log(`Prices: ${r.prices.source}.`);
  for (const note of [
    `KMS customer managed key $${r.prices.kmsCustomerManagedKeyPerMonth.toFixed(2)}/month; ${r.prices.kmsRotationSurchargeNote}`,
    r.prices.codePipelineV2Note,
    r.prices.codePipelineV1Note,
    r.prices.codeCommitNote,
    `S3 Standard $${r.prices.s3StandardPerGbMonth}/GB-month, ECR $${r.prices.ecrStoragePerGbMonth.toFixed(2)}/GB-month: ${r.prices.zeroIdleNote}`,
  ]) log(`  · ${note}`);

  log('\nPackages in dist/');
  if (!r.packages.built) {
    log(`  ${r.packages.note}`);
  } else {
    table(['package', 'file', 'bytes', 'built'], r.packages.files.map(f => [f.kind, path.basename(f.file), `${f.bytes.toLocaleString('en-US')} (${kib(f.bytes)})`, f.built]));
  }

  log('\nTargets');
  table(['target', 'goal', 'measured', 'met', 'margin'], r.targets.map(t => [t.name, t.target, t.measured, t.met ? 'met' : 'MISSED', t.margin + (t.note ? ` (${t.note})` : '')]));
}

/** Which resource types each added product brings to the portfolio stack, e.g. '1 AWS::ServiceCatalog::CloudFormationProduct'. */
function perProductTypes(small: ScenarioResult, large: ScenarioResult): string {
  const added = large.products - small.products;
  const types = new Set([...Object.keys(small.portfolioStackResourceTypes), ...Object.keys(large.portfolioStackResourceTypes)]);
  return [...types]
    .map(type => ({ type, each: ((large.portfolioStackResourceTypes[type] ?? 0) - (small.portfolioStackResourceTypes[type] ?? 0)) / added }))
    .filter(t => t.each !== 0)
    .map(t => `${fmt(t.each)} ${t.type}`)
    .join(', ');
}

function summarizeTypes(types: string[]): string {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${n}× ${t}`).join(', ') || 'none';
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  log(line(header));
  log(widths.map(w => '-'.repeat(w)).join('  '));
  for (const row of rows) log(line(row));
}

function describeEnvironment(): { [key: string]: string | number } {
  const cpus = os.cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    'date': new Date().toISOString().slice(0, 10),
    'node': process.version,
    'aws-cdk-lib': JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'aws-cdk-lib', 'package.json'), 'utf-8')).version,
    'cpus': `${cpus.length}× ${cpus[0]?.model?.trim() ?? 'unknown'}`,
    'load average (1 min)': os.loadavg()[0].toFixed(2),
    commit,
  };
}

function fmt(n: number): string {
  return (Math.round(n * 100) / 100).toString();
}

function log(line: string): void {
  process.stdout.write(line + '\n');
}

function progress(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

main();
