import type { BenchResults } from './bench';
import { kib, pct, seconds } from './stats';

/** The bench figures as a Markdown section for the README's Performance section. */
export function renderMarkdown(r: BenchResults): string {
  const env = r.environment;
  const out: string[] = [];
  out.push('### Benchmark results');
  out.push('');
  out.push(`Measured with \`npx projen bench\` on ${env.date} (commit ${env.commit}, node ${env.node}, aws-cdk-lib ${env['aws-cdk-lib']}, ${env.cpus}, shared with other jobs: timings are noisy). ` +
    'Each synthesis builds a fresh `App` in one process after a warm-up; median and min–max of the runs shown. ' +
    'Version histories time the synthesis of a new version N with versions 1..N-1 read back from snapshots.');
  out.push('');
  out.push('| Scenario | Median | Min–max | Runs | Portfolio stack resources |');
  out.push('|---|---:|---:|---:|---:|');
  for (const s of [r.exampleApp, ...r.portfolios, ...r.versionHistories]) {
    out.push(`| ${s.name}${s.note ? ` (${s.note})` : ''} | ${seconds(s.timing.medianMs)} | ${seconds(s.timing.minMs)}–${seconds(s.timing.maxMs)} | ${s.timing.runs} | ${s.portfolioStackResources} |`);
  }
  for (const c of r.coldStart) {
    if (!c.processWall) continue;
    out.push(`| ${c.name}, fresh process ¹${c.error ? ' (a run failed: see bench-results.json)' : ''} | ${seconds(c.processWall.medianMs)} | ${seconds(c.processWall.minMs)}–${seconds(c.processWall.maxMs)} | ${c.runs} | |`);
  }
  out.push('');
  out.push('¹ The whole `node` process (ts-node, transpile only): loading the library and aws-cdk-lib, building and synthesizing, as a `cdk synth` does.');
  out.push('');
  out.push('Example app templates against CloudFormation quotas:');
  out.push('');
  out.push('| Template | Resources (of 500) | Bytes (of 1,048,576) | Parameters (of 200) |');
  out.push('|---|---:|---:|---:|');
  for (const t of r.templateSizes) {
    out.push(`| ${t.kind}: ${t.name.replace(/ \(.*\)$/, '')} | ${t.resources} (${pct(t.resources, 500)}) | ${t.bytes.toLocaleString('en-US')} (${pct(t.bytes, 1_048_576)}) | ${t.parameters} |`);
  }
  out.push('');
  out.push('Per provisioned SageMaker project:');
  out.push('');
  out.push('| Template | Resources | KMS keys | Buckets | Pipelines | Idle cost/month |');
  out.push('|---|---:|---:|---:|---|---:|');
  for (const f of r.footprints) {
    const types = [...new Set(f.pipelines.map(p => p.type))].join('/');
    out.push(`| ${f.template} | ${f.resources} | ${f.kmsKeys} | ${f.buckets} | ${f.pipelines.length} × ${types || '-'} | $${f.idleMonthlyUsd.toFixed(2)} |`);
  }
  out.push('');
  out.push(`Prices: ${r.prices.source}. KMS customer managed key $1/month (automatic rotation adds $1/month for each of the first two rotations, so up to $${Math.max(...r.footprints.map(f => f.idleMonthlyUsdAfterRotations)).toFixed(2)}/month per project from the key's second year); ` +
    'CodePipeline V2 has no monthly fee ($0.002 per action execution minute, 100 free minutes/month), V1 costs $1 per active pipeline/month; ' +
    'S3 and ECR bill stored GB only; CodeCommit has no per-repository fee (5 active users free, then $1/user).');
  out.push('');
  if (r.packages.built) {
    out.push(`Packages: ${r.packages.files.filter(f => !f.kind.includes('sources') && !f.kind.includes('javadoc')).map(f => `${f.kind} ${kib(f.bytes)}`).join(', ')}.`);
  } else {
    out.push(`Packages: ${r.packages.note}.`);
  }
  out.push('');
  out.push('| Target | Goal | Measured | Result |');
  out.push('|---|---|---|---|');
  for (const t of r.targets) {
    out.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met ? 'met' : '**missed**'}: ${t.margin} |`);
  }
  out.push('');
  for (const t of r.targets.filter(x => x.note)) out.push(`- ${t.name}: ${t.note}.`);
  out.push('');
  out.push(`The whole bench took ${Math.round(r.benchSeconds)} s.`);
  out.push('');
  return out.join('\n');
}
