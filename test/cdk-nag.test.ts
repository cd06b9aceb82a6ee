import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, CfnResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { BatchInferenceProjectTemplate, DynamicAccountsProjectTemplate, MLOpsProjectTemplate, ProjectNetwork, ProjectPortfolio } from '../src';
import { buildExampleApp } from './example/app';
import { tempDir } from './util/temp-dir';
import { ACKNOWLEDGED_RULES, BUCKET_DEPLOYMENT_SUPPRESSIONS } from '../src/private/nag-suppressions';

/** Errors and warnings that cdk-nag's AwsSolutions pack leaves on an app after synthesis. */
function nagFindings(app: App): string[] {
  Aspects.of(app).add(new AwsSolutionsChecks());
  app.synth();
  return app.node.findAll().flatMap(c => c.node.metadata
    .filter(m => (m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning') && String(m.data).startsWith('AwsSolutions-'))
    .map(m => `${c.node.path}: ${/^AwsSolutions-[A-Z0-9]+(\[[^\]]*\])?/.exec(String(m.data))?.[0]}`));
}

function exampleApp(): App {
  const outdir = tempDir('nag');
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
  const outdir = tempDir('nag-org');
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

test('a template with notifications passes AwsSolutions (the topic is encrypted and enforces SSL)', () => {
  const outdir = tempDir('nag-notifications');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Notified', { env: { account: '111111111111', region: 'eu-west-1' } });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  portfolio.addTemplate(new MLOpsProjectTemplate(portfolio, 'Notified', {
    notifications: { emails: ['ml-platform@example.com'], emailParameterName: 'NotificationEmail' },
  }), { snapshotDirectory: path.join(outdir, 'snapshots') });
  expect(nagFindings(app)).toEqual([]);
});

test('a template with every operating option passes AwsSolutions (VPC, monitoring, tests after each stage, a stage in another region, batch)', () => {
  const outdir = tempDir('nag-options');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Options', { env: { account: '111111111111', region: 'eu-west-1' } });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  portfolio.addTemplate(new MLOpsProjectTemplate(portfolio, 'Everything', {
    bringYourOwnContainer: true,
    network: ProjectNetwork.enteredAtCreation(),
    modelMonitoring: true,
    deployPipelineOptions: { testEachStage: true },
    stages: [{ name: 'dev' }, { name: 'dr', account: '222222222222', region: 'us-east-1' }],
  }), { snapshotDirectory: path.join(outdir, 'snapshots') });
  portfolio.addTemplate(new BatchInferenceProjectTemplate(portfolio, 'Batch'), { snapshotDirectory: path.join(outdir, 'snapshots') });
  expect(nagFindings(app)).toEqual([]);
});

/** The rule ids acknowledged for cdk-nag 3 on a construct and its scopes, with their reasons: what cdk-nag 3 compares findings with. */
function acknowledged(construct: IConstruct): Record<string, string> {
  return Object.assign({}, ...construct.node.scopes.flatMap(c => c.node.metadata)
    .filter(m => m.type === 'aws:cdk:acknowledged-rules').map(m => m.data));
}

describe('cdk-nag 3, which reads acknowledged rules instead of the cdk_nag metadata', () => {
  test('the suppressions are written as acknowledged rule ids: the rule, or the rule and one exact finding', () => {
    expect(ACKNOWLEDGED_RULES).toBe('aws:cdk:acknowledged-rules'); // aws-cdk-lib's Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    const app = exampleApp();
    app.synth();
    const find = (suffix: string) => app.node.findAll().find(c => c.node.path.endsWith(suffix))!;
    const policy = acknowledged(find('/Basic/BuildPipeline/SageMakerExecutionRole/DefaultPolicy/Resource'));
    expect(policy).toMatchObject({
      'AwsSolutions-IAM5[Action::s3:GetObject*]': expect.stringContaining('grantReadWrite'),
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:*:repository/sagemaker-*]': expect.any(String),
    });
    expect(Object.keys(policy).filter(id => !/^AwsSolutions-IAM5\[(Action|Resource)::[^\]]+\]$/.test(id))).toEqual([]);
    const deployment = app.node.findAll().find(c => CfnResource.isCfnResource(c) && c.cfnResourceType === 'AWS::Lambda::Function' && c.node.path.includes('/Custom::CDKBucketDeployment'))!;
    expect(acknowledged(deployment)['AwsSolutions-L1']).toBe(BUCKET_DEPLOYMENT_SUPPRESSIONS.find(s => s.id === 'AwsSolutions-L1')!.reason);
  });

  test('they cover every finding that the cdk_nag metadata covers: cdk-nag 2, blind to that metadata, finds nothing that is not acknowledged', () => {
    const getMetadata = CfnResource.prototype.getMetadata;
    const blind = jest.spyOn(CfnResource.prototype, 'getMetadata').mockImplementation(function (this: CfnResource, key: string) {
      return key === 'cdk_nag' ? undefined : getMetadata.call(this, key);
    });
    try {
      const app = exampleApp();
      Aspects.of(app).add(new AwsSolutionsChecks());
      app.synth();
      const findings = app.node.findAll().flatMap(c => c.node.metadata
        .filter(m => (m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning') && String(m.data).startsWith('AwsSolutions-'))
        .map(m => ({ path: c.node.path, id: /^AwsSolutions-[A-Z0-9]+(\[[^\]]*\])?/.exec(String(m.data))![0], acknowledged: acknowledged(c) })));
      expect(findings.length).toBeGreaterThan(100);
      expect(findings.filter(f => !(f.id in f.acknowledged)).map(f => `${f.path}: ${f.id}`)).toEqual([]);
    } finally {
      blind.mockRestore();
    }
  });
});
