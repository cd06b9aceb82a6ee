/**
 * The README example of each public construct, in TypeScript. python/snippets.py and
 * java/src/main/java/polyglot/Snippets.java hold the same code in Python and Java, and
 * README-snippets.md shows all three for the README. The polyglot gate (.ci/polyglot.sh)
 * synthesizes each snippet into its own stack in all three languages and compares the results.
 *
 * Relative paths (`my_seed_code`, the default `product-stack-snapshots`) are resolved from the
 * working directory, as they would be in a user's CDK app.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  BatchInferenceProjectTemplate,
  BuildPipeline,
  BundledSeedApp,
  DeploymentStages,
  DeploymentTargetPolicy,
  DeployPipeline,
  MLOpsProjectTemplate,
  ProjectNetwork,
  ProjectPortfolio,
  ProjectTemplateBucket,
  SecurityScan,
  SeedCode,
  SeedCodeAsset,
} from '../../src';

// snippet:SeedCodeAsset
export function seedCodeAssetSnippet(stack: Stack) {
  // One of the starter apps bundled in the package, zipped as an S3 asset, its location
  // published in SSM (/mlops/code/seed_bucket and /mlops/code/build).
  const buildApp = SeedCodeAsset.fromBundledApp(stack, 'BuildAppSeed', BundledSeedApp.BUILD_APP);
  buildApp.publishLocation();

  // A folder of your own.
  const mine = new SeedCodeAsset(stack, 'MySeed', { path: 'my_seed_code', exclude: ['*.ipynb'] });
  mine.publishLocation({ objectKeyParameterName: '/mlops/code/my_seed' });
}
// end:SeedCodeAsset

// snippet:BuildPipeline
export function buildPipelineSnippet(stack: Stack) {
  const artifactBucket = new s3.Bucket(stack, 'Artifacts', { encryption: s3.BucketEncryption.KMS });
  const build = new BuildPipeline(stack, 'Build', {
    projectName: 'churn',
    projectId: 'p-1a2b3c4d5e6f',
    modelPackageGroupName: 'churn-p-1a2b3c4d5e6f',
    artifactBucket,
  });
  // Runs after the SageMaker pipeline step has succeeded.
  build.addActionAfterSageMakerPipeline(new actions.ManualApprovalAction({ actionName: 'Manual_Approval' }));
}
// end:BuildPipeline

// snippet:DeployPipeline
export function deployPipelineSnippet(stack: Stack) {
  const artifactBucket = new s3.Bucket(stack, 'Artifacts', { encryption: s3.BucketEncryption.KMS });
  new DeployPipeline(stack, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-1a2b3c4d5e6f',
    modelPackageGroupName: 'churn-p-1a2b3c4d5e6f',
    artifactBucket,
    stages: [
      { name: 'dev' },
      { name: 'prod', account: '333333333333', region: 'eu-west-1' },
    ],
  });
}
// end:DeployPipeline

// snippet:MLOpsProjectTemplate
export function mlopsProjectTemplateSnippet(stack: Stack) {
  const portfolio = new ProjectPortfolio(stack, 'Portfolio', { providerName: 'ML Platform Team' });
  const template = new MLOpsProjectTemplate(portfolio, 'Churn', {
    productName: 'Churn model, dev and prod',
    stages: [
      { name: 'dev' },
      { name: 'prod', accountParameterName: 'ProdAccount', regionParameterName: 'ProdRegion' },
    ],
    buildSeedCode: SeedCode.fromDirectory('my_seed_code'),
    deploySeedCode: SeedCode.fromBundledApp(BundledSeedApp.DEPLOY_APP),
  });
  portfolio.addTemplate(template, { supportEmail: 'ml-platform@example.com' });
}
// end:MLOpsProjectTemplate

// snippet:ProjectPortfolio
export function projectPortfolioSnippet(stack: Stack) {
  const portfolio = new ProjectPortfolio(stack, 'Portfolio', {
    displayName: 'SageMaker Organization Templates',
    providerName: 'ML Platform Team',
    executionRoleParameterName: '/mlops/role/lead',
    shareWithAccounts: ['222222222222'],
    // Shared accounts launch with their own role of this name.
    launchRoleName: 'SageMakerProjectsLaunch',
    tagOptions: { 'cost-center': ['ml-platform', 'research'] },
  });
  // Endpoints in dev, then preprod and prod in accounts entered when a project is created.
  portfolio.addTemplate(new MLOpsProjectTemplate(portfolio, 'DynamicAccounts', { productName: 'Real-time endpoints' }), {
    versionName: 'v1',
    supportUrl: 'https://wiki.example.com/ml-platform',
  });
}
// end:ProjectPortfolio

// snippet:ProjectTemplateBucket
export function projectTemplateBucketSnippet(stack: Stack) {
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const dynamic = new MLOpsProjectTemplate(portfolio, 'DynamicAccounts', { productName: 'Real-time endpoints' });
  portfolio.addTemplate(dynamic);

  const s3Templates = new ProjectTemplateBucket(stack, 'S3Templates', {
    domainArns: ['arn:aws:sagemaker:eu-west-1:111111111111:domain/d-abcdefghijkl'],
  });
  // The portfolio's template, published as an S3 template too.
  s3Templates.addTemplate(dynamic);
  s3Templates.addTemplate(new MLOpsProjectTemplate(s3Templates, 'Basic', {
    productName: 'Real-time endpoints, fixed accounts',
    stages: DeploymentStages.fixedAccounts({ preProdAccount: '222222222222', prodAccount: '333333333333', region: 'eu-west-1' }),
  }), { templateName: 'basic', versionName: 'v1' });
}
// end:ProjectTemplateBucket

// snippet:DeploymentTargetPolicy
export function deploymentTargetPolicySnippet(stack: Stack) {
  // In each target account and region; then:
  // cdk bootstrap --qualifier mlops --cloudformation-execution-policies <its policyArn>
  new DeploymentTargetPolicy(stack, 'DeploymentTarget');
}
// end:DeploymentTargetPolicy

// snippet:BatchInferenceProjectTemplate
export function batchInferenceProjectTemplateSnippet(stack: Stack) {
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const nightly = new BatchInferenceProjectTemplate(portfolio, 'NightlyScoring', {
    stages: [
      { name: 'dev' },
      // Another region than the portfolio's: deployed there, through that region's bootstrap roles.
      { name: 'prod', account: '333333333333', region: 'us-east-1' },
    ],
    // The deploy repository's buildspec-test.yml runs after each stage; a failure stops the promotion.
    deployPipelineOptions: { testEachStage: true },
  });
  portfolio.addTemplate(nightly);
}
// end:BatchInferenceProjectTemplate

// snippet:Operating
export function operatingSnippet(stack: Stack) {
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const template = new MLOpsProjectTemplate(portfolio, 'Operated', {
    productName: 'Real-time endpoints, monitored',
    // An SNS topic per project: failed pipelines and executions, approved or rejected models.
    notifications: { emails: ['ml-platform@example.com'] },
    // A data-quality baseline with each model, and a monitoring schedule per endpoint.
    modelMonitoring: true,
    // The deploy repository's tests after each stage, before the next approval.
    deployPipelineOptions: { testEachStage: true },
    // Builds and SageMaker jobs in the subnets the platform team keeps in SSM (/mlops/network/...).
    network: ProjectNetwork.fromSsmParameters(),
    stages: [
      { name: 'dev' },
      // Endpoints in the PROD account's subnets, read from its own SSM parameters when deployed.
      { name: 'prod', account: '333333333333', network: { subnetIdsParameterName: '/mlops/network/subnet_ids' } },
    ],
  });
  portfolio.addTemplate(template);
}
// end:Operating

// snippet:Extending
export function extendingSnippet(stack: Stack) {
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const template = new MLOpsProjectTemplate(portfolio, 'Extended', {
    productName: 'Real-time endpoints, fixed accounts',
    // The original basic template's stages, by composition.
    stages: DeploymentStages.fixedAccounts({ preProdAccount: '222222222222', prodAccount: '333333333333', region: 'eu-west-1' }),
    deployPipelineOptions: {
      // Or SecurityScan.none(), or SecurityScan.fromBuildSpec(yourBuildSpec).
      securityScanner: SecurityScan.checkov({ skipChecks: ['CKV_AWS_117'] }),
    },
  });

  // A check of the data before the SageMaker pipeline step, which waits for it.
  const dataCheck = new codebuild.PipelineProject(template, 'DataCheck', {
    buildSpec: codebuild.BuildSpec.fromSourceFilename('buildspec-data-check.yml'),
  });
  template.buildPipeline.addActionBeforeSageMakerPipeline(new actions.CodeBuildAction({
    actionName: 'DataCheck',
    project: dataCheck,
    input: template.buildPipeline.sourceOutput,
  }));

  // A sign-off after the preprod deployment, before prod's approval.
  template.deployPipeline.addActionAfterDeployment('preprod', new actions.ManualApprovalAction({ actionName: 'SignOff_PreProd' }));
  portfolio.addTemplate(template);
}
// end:Extending

/** Every snippet in its own stack, in this order, in every language. */
export function buildSnippetsApp(outdir: string): App {
  const app = new App({ outdir });
  const snippets: Array<[string, (stack: Stack) => void]> = [
    ['SeedCodeAsset', seedCodeAssetSnippet],
    ['BuildPipeline', buildPipelineSnippet],
    ['DeployPipeline', deployPipelineSnippet],
    ['MLOpsProjectTemplate', mlopsProjectTemplateSnippet],
    ['ProjectPortfolio', projectPortfolioSnippet],
    ['ProjectTemplateBucket', projectTemplateBucketSnippet],
    ['DeploymentTargetPolicy', deploymentTargetPolicySnippet],
    ['BatchInferenceProjectTemplate', batchInferenceProjectTemplateSnippet],
    ['Operating', operatingSnippet],
    ['Extending', extendingSnippet],
  ];
  for (const [name, snippet] of snippets) {
    snippet(new Stack(app, `${name}Snippet`, { env: { account: '111111111111', region: 'eu-west-1' } }));
  }
  return app;
}
