import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Aspects, CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { DynamicAccountsProjectTemplate, MLOpsProjectTemplate, ProjectPortfolio } from '../src';
import { buildExampleApp } from './example/app';

/** Errors and warnings that cdk-nag's AwsSolutions pack leaves on an app after synthesis. */
function nagFindings(app: App): string[] {
  Aspects.of(app).add(new AwsSolutionsChecks());
  app.synth();
  return app.node.findAll().flatMap(c => c.node.metadata
    .filter(m => m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning')
    .map(m => `${c.node.path}: ${/^AwsSolutions-[A-Z0-9]+(\[[^\]]*\])?/.exec(String(m.data))?.[0]}`));
}

function exampleApp(): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-'));
  return buildExampleApp({ outdir, snapshotDirectory: path.join(outdir, 'snapshots') });
}

/** Every suppression in the app: rule, resource path and reason. */
function suppressions(root: IConstruct): { rule: string; path: string; reason: string }[] {
  return root.node.findAll()
    .filter((c): c is CfnResource => c instanceof CfnResource)
    .flatMap(c => (c.getMetadata('cdk_nag')?.rules_to_suppress ?? []).map((s: any) => ({ rule: s.id, path: c.node.path, reason: s.reason })));
}

test('the example portfolio and every built-in product stack pass AwsSolutions without unsuppressed findings', () => {
  expect(nagFindings(exampleApp())).toEqual([]);
});

test('every suppression has a concrete reason, and the README\'s Security section lists each one', () => {
  const app = exampleApp();
  nagFindings(app);
  const all = suppressions(app);
  expect(all.length).toBeGreaterThan(10);
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
  const security = readme.slice(readme.indexOf('## Security'), readme.indexOf('\n## ', readme.indexOf('## Security') + 5));
  for (const { rule, reason } of all) {
    expect(reason.length).toBeGreaterThanOrEqual(40);
    expect({ rule, reason, listed: security.includes(rule) && security.includes(reason) }).toEqual({ rule, reason, listed: true });
  }
});

test('the suppressions do not hide a wildcard a user adds', () => {
  const app = exampleApp();
  const template = app.node.findAll().find((c): c is MLOpsProjectTemplate => c instanceof MLOpsProjectTemplate)!;
  template.buildPipeline.sageMakerExecutionRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
  const findings = nagFindings(app);
  expect(findings).toEqual([expect.stringMatching(/BuildPipeline\/SageMakerExecutionRole\/DefaultPolicy\/Resource: AwsSolutions-IAM5\[Resource::\*\]/)]);
});

test('a portfolio shared with organizational units passes AwsSolutions too', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'nag-org-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Shared', { env: { account: '111111111111', region: 'eu-west-1' } });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio', {
    shareWithOrganizationalUnits: ['ou-ab12-cdef3456'], organizationId: 'o-abcdef1234', launchRoleName: 'SageMakerProjectsLaunch',
  });
  portfolio.addTemplate(new DynamicAccountsProjectTemplate(portfolio, 'Dynamic'), { snapshotDirectory: path.join(outdir, 'snapshots') });
  expect(nagFindings(app)).toEqual([]);
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
  for (const { rule, reason } of suppressions(app)) {
    expect({ rule, listed: readme.includes(reason) }).toEqual({ rule, listed: true });
  }
});
