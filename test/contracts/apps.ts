import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import {
  BatchInferenceProjectTemplate,
  BasicProjectTemplate,
  ByocProjectTemplate,
  DeploymentTargetPolicy,
  DynamicAccountsProjectTemplate,
  GitProvider,
  MLOpsProjectTemplate,
  ProjectNetwork,
  ProjectPortfolio,
  ProjectTemplateBucket,
  SourceRepository,
} from '../../src';
import { buildExampleApp, EXAMPLE_ENV } from '../example/app';

/**
 * The apps whose templates the contract checks (`.ci/iam-contracts.sh`) read: the example
 * organisation, and a maximal composition with and without a permissions boundary (git provider
 * with repository creation, BYOC, notifications, monitoring, a VPC, tests after each stage, five stages of every kind (one in another region), custom stage roles, a portfolio
 * shared with an account and an organizational unit).
 */
export const CONTRACT_APPS: { [name: string]: (outdir: string) => App } = {
  'example': outdir => buildExampleApp({ outdir, snapshotDirectory: path.join(outdir, 'snapshots') }),
  'maximal-boundary': outdir => maximalApp(outdir, 'MLPlatformBoundary'),
  'maximal': outdir => maximalApp(outdir, undefined),
  // The built-in templates and a git provider template, published both ways: a portfolio and a
  // ProjectTemplateBucket (S3 templates, stacks SP-...) in one stack, with a permissions boundary
  // (check_iam.py finds the bucket's role by its metadata).
  'both-ways': outdir => bothWaysApp(outdir),
  // A target account's CloudFormation execution policy, checked against the handler permissions of
  // the deploy app's resource types (check_deployment_target in check_iam.py).
  'deployment-target': outdir => {
    const app = new App({ outdir });
    new DeploymentTargetPolicy(new Stack(app, 'DeploymentTarget', { env: EXAMPLE_ENV }), 'DeploymentTarget');
    return app;
  },
};

function bothWaysApp(outdir: string): App {
  const app = new App({ outdir });
  const stack = new Stack(app, 'BothWays', { env: EXAMPLE_ENV });
  const permissionsBoundaryPolicyName = 'MLPlatformBoundary';
  const portfolio = new ProjectPortfolio(stack, 'Portfolio', { permissionsBoundaryPolicyName });
  const templates = new ProjectTemplateBucket(stack, 'Templates', {
    permissionsBoundaryPolicyName,
    domainArns: ['arn:aws:sagemaker:eu-west-1:111111111111:domain/d-abcdefghijkl'],
  });
  const snapshots = { snapshotDirectory: path.join(outdir, 'snapshots') };
  for (const template of [
    new BasicProjectTemplate(portfolio, 'Basic', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-west-1' }),
    new DynamicAccountsProjectTemplate(portfolio, 'DynamicAccounts'),
    new ByocProjectTemplate(portfolio, 'Byoc'),
    new MLOpsProjectTemplate(portfolio, 'GitProvider', {
      sourceRepository: SourceRepository.codeConnection({
        provider: GitProvider.GITHUB,
        tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf',
      }),
    }),
  ]) {
    portfolio.addTemplate(template, snapshots);
    templates.addTemplate(template);
  }
  return app;
}

function maximalApp(outdir: string, permissionsBoundaryPolicyName: string | undefined): App {
  const app = new App({ outdir });
  const stack = new Stack(app, 'Maximal', { env: EXAMPLE_ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio', {
    permissionsBoundaryPolicyName,
    launchRoleName: 'SageMakerProjectsLaunch',
    shareWithAccounts: ['444444444444'],
    shareWithOrganizationalUnits: ['ou-ab12-cdef3456'],
    organizationId: 'o-abcdef1234',
    tagOptions: { 'cost-center': ['ml', 'research'] },
  });
  const snapshots = { snapshotDirectory: path.join(outdir, 'snapshots') };
  portfolio.addTemplate(new MLOpsProjectTemplate(portfolio, 'GitProviderByoc', {
    bringYourOwnContainer: true,
    notifications: { emails: ['ml-platform@example.com'], emailParameterName: 'NotificationEmail' },
    modelMonitoring: true,
    network: ProjectNetwork.enteredAtCreation(),
    deployPipelineOptions: { testEachStage: true },
    sourceRepository: SourceRepository.codeConnection({
      provider: GitProvider.GITHUB,
      tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf',
    }),
    stages: [
      { name: 'dev' },
      { name: 'qa', account: '555555555555' },
      { name: 'dr', account: '555555555555', region: 'us-east-1' },
      { name: 'preprod', accountParameterName: 'PreProdAccount', regionParameterName: 'DeploymentRegion' },
      {
        name: 'prod',
        accountParameterName: 'ProdAccount',
        regionParameterName: 'DeploymentRegion',
        actionRoleArn: 'arn:aws:iam::333333333333:role/ml-deploy-action',
        deploymentRoleArn: 'arn:aws:iam::333333333333:role/ml-deploy-execution',
      },
    ],
  }), snapshots);
  portfolio.addTemplate(new DynamicAccountsProjectTemplate(portfolio, 'DynamicAccounts'), snapshots);
  portfolio.addTemplate(new ByocProjectTemplate(portfolio, 'Byoc'), snapshots);
  portfolio.addTemplate(new BatchInferenceProjectTemplate(portfolio, 'BatchInference'), snapshots);
  return app;
}

// ts-node test/contracts/apps.ts <outdir>: one cloud assembly per app under <outdir>/<name>.
if (require.main === module) {
  const root = path.resolve(process.argv[2] ?? '.ci/work/contracts');
  for (const [name, build] of Object.entries(CONTRACT_APPS)) {
    const outdir = path.join(root, name);
    fs.rmSync(outdir, { recursive: true, force: true });
    build(outdir).synth();
    console.log(`${name}: ${fs.readdirSync(outdir).filter(f => f.endsWith('.template.json')).length} templates in ${outdir}`);
  }
}
