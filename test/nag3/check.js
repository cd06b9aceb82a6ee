#!/usr/bin/env node
/*
 * The cdk-nag 3 leg of CI (.ci/cdk-nag-3.sh): synthesizes the example app and the portfolios that
 * test/cdk-nag.test.ts and test/source-repository.test.ts check with cdk-nag 2, this time with
 * cdk-nag 3 registered as a validation plugin, and fails on any finding that the library's
 * suppressions leave. A control app, with a wildcard statement added by hand, must show exactly
 * that one finding, so that a silent plugin cannot pass.
 *
 * Usage: node test/nag3/check.js <dir>, where <dir> holds a node_modules with aws-cdk-lib,
 * constructs, cdk-nag 3 and the packed library. Everything is loaded from <dir>, never from the
 * repository's own node_modules (which has cdk-nag 2 and an older aws-cdk-lib), except the
 * TypeScript compiler that turns test/example/app.ts into JavaScript.
 */
'use strict';
const fs = require('fs');
const Module = require('module');
const os = require('os');
const path = require('path');

const repo = path.resolve(__dirname, '..', '..');
const dir = path.resolve(process.argv[2] ?? '.');
const load = Module.createRequire(path.join(dir, 'package.json'));
const cdk = load('aws-cdk-lib');
const iam = load('aws-cdk-lib/aws-iam');
const nag = load('cdk-nag');
const lib = load('cdk-sagemaker-project-templates');
const version = name => JSON.parse(fs.readFileSync(load.resolve(`${name}/package.json`), 'utf-8')).version;

const ENV = { account: '111111111111', region: 'eu-west-1' };
const CONNECTION_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nag3-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** test/example/app.ts, compiled with its import of ../../src pointing at the installed package. */
function exampleAppModule() {
  const ts = require(path.join(repo, 'node_modules', 'typescript'));
  const source = fs.readFileSync(path.join(repo, 'test', 'example', 'app.ts'), 'utf-8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
  const m = { exports: {} };
  const requireFromDir = id => load(id === '../../src' ? 'cdk-sagemaker-project-templates' : id);
  new Function('exports', 'require', 'module', js)(m.exports, requireFromDir, m);
  return m.exports;
}

function outdir(name) {
  return fs.mkdtempSync(path.join(tmp, `${name}-`));
}

const apps = {
  'example app (three built-in templates)': () => {
    const out = outdir('example');
    return exampleAppModule().buildExampleApp({ outdir: out, snapshotDirectory: path.join(out, 'snapshots') });
  },
  'portfolio shared with organizational units': () => {
    const out = outdir('org');
    const app = new cdk.App({ outdir: out });
    const stack = new cdk.Stack(app, 'Shared', { env: ENV });
    const portfolio = new lib.ProjectPortfolio(stack, 'Portfolio', {
      shareWithOrganizationalUnits: ['ou-ab12-cdef3456'], organizationId: 'o-abcdef1234', launchRoleName: 'SageMakerProjectsLaunch',
    });
    portfolio.addTemplate(new lib.DynamicAccountsProjectTemplate(portfolio, 'Dynamic'), { snapshotDirectory: path.join(out, 'snapshots') });
    return app;
  },
  'template on a git provider connection': () => {
    const out = outdir('git');
    const app = new cdk.App({ outdir: out });
    const stack = new cdk.Stack(app, 'Portfolio', { env: ENV });
    const portfolio = new lib.ProjectPortfolio(stack, 'Portfolio');
    const template = new lib.MLOpsProjectTemplate(portfolio, 'Git', {
      stages: [{ name: 'dev' }], sourceRepository: lib.SourceRepository.codeConnection({ tokenSecretArn: CONNECTION_SECRET }),
    });
    portfolio.addTemplate(template, { snapshotDirectory: path.join(out, 'snapshots') });
    return app;
  },
};

/** Synthesizes an app under AwsSolutionsChecks and returns what the validation report holds. */
function check(app) {
  const plugin = new nag.AwsSolutionsChecks(app);
  let runs = 0;
  const validate = plugin.validate.bind(plugin);
  plugin.validate = context => { runs++; return validate(context); };
  cdk.Validations.of(app).addPlugins(plugin);
  let synthError;
  let assemblyDir = app.outdir;
  try {
    assemblyDir = app.synth().directory;
  } catch (e) {
    synthError = e; // a failing report may stop synthesis; the report file is still written
  }
  // aws-cdk-lib writes the report whenever a plugin is registered; no report is a failure, never a pass.
  // (validation-report.json in newer aws-cdk-lib, policy-validation-report.json before)
  const reportFile = ['validation-report.json', 'policy-validation-report.json'].map(f => path.join(assemblyDir, f)).find(f => fs.existsSync(f));
  if (!reportFile) throw new Error(`no validation report in ${assemblyDir}${synthError ? `: ${synthError.message}` : ''}`);
  const report = JSON.parse(fs.readFileSync(reportFile, 'utf-8'));
  const findings = [];
  const others = [];
  const failures = [];
  for (const pluginReport of report.pluginReports ?? []) {
    // A plugin that could not run reports failure with no violations: that is never a pass.
    const name = pluginReport.pluginName ?? pluginReport.summary?.pluginName;
    const error = (pluginReport.metadata ?? pluginReport.summary?.metadata)?.error;
    if (name === plugin.name && error) failures.push(error);
    for (const v of pluginReport.violations ?? []) {
      for (const c of v.violatingConstructs ?? [{ constructPath: '?' }]) {
        const line = `${v.severity} ${c.constructPath}: ${v.ruleName}`;
        (name === plugin.name ? findings : others).push({ severity: v.severity, line });
      }
    }
  }
  const resources = app.node.findAll().filter(c => cdk.CfnResource.isCfnResource(c)).length;
  const acknowledged = app.node.findAll().flatMap(c => c.node.metadata)
    .filter(m => m.type === 'aws:cdk:acknowledged-rules').reduce((n, m) => n + Object.keys(m.data ?? {}).length, 0);
  if (synthError && findings.length === 0) throw synthError;
  return { runs, failures, findings, others, resources, acknowledged };
}

const started = Date.now();
let failed = 0;
const totals = { errors: 0, warnings: 0, pluginFailures: 0, resources: 0, acknowledged: 0 };
for (const [name, make] of Object.entries(apps)) {
  const r = check(make());
  const errors = r.findings.filter(f => f.severity === 'error').length;
  totals.errors += errors;
  totals.warnings += r.findings.length - errors;
  totals.resources += r.resources;
  totals.acknowledged += r.acknowledged;
  totals.pluginFailures += r.failures.length;
  console.log(`${name}: ${errors} errors, ${r.findings.length - errors} warnings over ${r.resources} resources (${r.acknowledged} acknowledged rule ids, plugin ran ${r.runs}x)`);
  r.findings.forEach(f => console.log(`  ${f.line}`));
  r.others.forEach(f => console.log(`  (other plugin, not counted) ${f.line}`));
  if (r.runs === 0) { console.log('  cdk-nag 3 did not run'); failed++; }
  if (r.failures.length > 0) { r.failures.forEach(e => console.log(`  cdk-nag 3 failed: ${e}`)); failed++; }
  if (r.findings.length > 0) failed++;
}

// Control: one statement the suppressions must not cover, which cdk-nag 3 must report.
console.log('control: the example app with one wildcard statement added by hand; cdk-nag 3 must report it, and only it (aws-cdk-lib prints that report):');
const control = apps['example app (three built-in templates)']();
const template = control.node.findAll().find(c => c instanceof lib.MLOpsProjectTemplate);
template.buildPipeline.sageMakerExecutionRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
const controlFindings = check(control).findings.map(f => f.line);
const expected = /^error .*\/BuildPipeline\/SageMakerExecutionRole\/DefaultPolicy\/Resource: AwsSolutions-IAM5\[Resource::\*\]$/;
const controlOk = controlFindings.length === 1 && expected.test(controlFindings[0]);
console.log(`control (a wildcard added by hand): ${controlOk ? 'reported, alone' : 'NOT as expected'}`);
if (!controlOk) { controlFindings.forEach(l => console.log(`  ${l}`)); failed++; }

const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`cdk-nag ${version('cdk-nag')} with aws-cdk-lib ${version('aws-cdk-lib')}: ${totals.errors} errors, ${totals.warnings} warnings, ${totals.pluginFailures} plugin failures ` +
  `in ${Object.keys(apps).length} apps (${totals.resources} resources, ${totals.acknowledged} acknowledged rule ids), control ${controlOk ? 'ok' : 'FAILED'}, ${seconds}s: ${failed ? 'FAIL' : 'PASS'}`);
process.exit(failed ? 1 : 0);
