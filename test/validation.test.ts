import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  BasicProjectTemplate,
  BuildPipeline,
  DeployPipeline,
  DeploymentStage,
  MLOpsProjectTemplate,
  ProjectPortfolio,
  SeedCode,
  SeedCodeAsset,
} from '../src';
import { emptyFolder } from './util/fs-fixtures';
import { testApp } from './util/temp-dir';

/**
 * Bad input fails at synth time with a message that names the property, the value and what
 * is allowed. One row per kind of mistake a platform engineer makes.
 */
function stack(): Stack {
  return new Stack(testApp(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
}

function artifactBucket(scope: Stack): s3.Bucket {
  return new s3.Bucket(scope, 'Artifacts', { encryptionKey: new kms.Key(scope, 'Key') });
}

function deployWith(stages: DeploymentStage[], extra: object = {}) {
  const s = stack();
  new DeployPipeline(s, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-abc',
    modelPackageGroupName: 'churn-p-abc',
    artifactBucket: artifactBucket(s),
    stages,
    seedCode: SeedCode.fromBucket('seed-bucket', 'seed.zip'),
    ...extra,
  });
}

function buildWith(extra: object) {
  const s = stack();
  new BuildPipeline(s, 'Build', {
    projectName: 'churn',
    projectId: 'p-abc',
    modelPackageGroupName: 'churn-p-abc',
    artifactBucket: artifactBucket(s),
    seedCode: SeedCode.fromBucket('seed-bucket', 'seed.zip'),
    ...extra,
  });
}

function addTwice() {
  const p = new ProjectPortfolio(stack(), 'P');
  const t = new MLOpsProjectTemplate(p, 'T', { stages: [{ name: 'dev' }], buildSeedCode: SeedCode.fromBucket('seed-bucket', 'seed.zip'), deploySeedCode: SeedCode.fromBucket('seed-bucket', 'seed.zip') });
  p.addTemplate(t);
  p.addTemplate(t, { versionName: 'v2' });
}

const cases: [string, () => void, RegExp][] = [
  ['malformed account id', () => deployWith([{ name: 'dev', account: '12345' }]), /stages\[0\]\.account '12345' is not an AWS account id; use exactly 12 digits/],
  ['malformed region', () => deployWith([{ name: 'dev', region: 'Europe' }]), /stages\[0\]\.region 'Europe' is not an AWS region name/],
  ['basic template with a malformed PROD account', () => new BasicProjectTemplate(new ProjectPortfolio(stack(), 'P'), 'B', { preProdAccount: '222222222222', prodAccount: '3333', deploymentRegion: 'eu-west-1' }), /BasicProjectTemplate B: prodAccount '3333' is not an AWS account id; use exactly 12 digits/],
  ['project name too long', () => buildWith({ projectName: 'a'.repeat(33) }), /projectName 'a{33}' is invalid; use 1-32/],
  ['project name with invalid characters', () => buildWith({ projectName: 'churn_model' }), /projectName 'churn_model' is invalid/],
  ['project id too long', () => buildWith({ projectId: 'p-' + 'a'.repeat(15) }), /projectId 'p-a{15}' is invalid; use 1-16/],
  ['duplicate stage names', () => deployWith([{ name: 'dev' }, { name: 'dev', account: '222222222222' }]), /stages\[1\]\.name 'dev' is used twice/],
  ['no stages', () => deployWith([]), /stages is empty; give at least one deployment stage/],
  ['invalid stage name', () => deployWith([{ name: 'Prod!' }]), /stages\[0\]\.name 'Prod!' is invalid; use 1-20 lowercase letters/],
  ['account and account parameter both', () => deployWith([{ name: 'prod', account: '333333333333', accountParameterName: 'ProdAccount' }]), /sets both account and accountParameterName; give one/],
  ['duplicate product versions', addTwice, /already a product of this portfolio, as version 'v[^']+'/],
  ['empty seed folder', () => new SeedCodeAsset(stack(), 'Seed', { path: emptyFolder() }), /path '.*' is an empty folder/],
  ['missing seed folder', () => SeedCode.fromDirectory('/no/such/seed').bind(stack()), /path '\/no\/such\/seed' does not exist/],
  ['invalid branch name', () => buildWith({ branch: 'feature..x' }), /branch 'feature\.\.x' is not a valid git branch name \(it contains '\.\.'\)/],
  ['invalid bootstrap qualifier', () => deployWith([{ name: 'dev' }], { bootstrapQualifier: 'has spaces' }), /bootstrapQualifier 'has spaces'/],
  ['unknown model approval status', () => deployWith([{ name: 'dev' }], { modelApprovalStatuses: ['Maybe'] }), /modelApprovalStatuses.*'Maybe'/],
  ['support email not an email', () => {
    const p = new ProjectPortfolio(stack(), 'P');
    p.addTemplate(new MLOpsProjectTemplate(p, 'T', { stages: [{ name: 'dev' }] }), { supportEmail: 'ml-platform' });
  }, /supportEmail 'ml-platform' is not an email address; use the form name@example.com/],
  ['launch role given and named', () => {
    const s = stack();
    new ProjectPortfolio(s, 'P', { launchRoleName: 'Launch', launchRole: iam.Role.fromRoleArn(s, 'R', 'arn:aws:iam::111111111111:role/x') });
  }, /launchRoleName 'Launch' names a role to create, but launchRole is given too/],
  ['template with asset seed code outside a portfolio', () => {
    new MLOpsProjectTemplate(stack(), 'Loose', { stages: [{ name: 'dev' }] });
  }, /MLOpsProjectTemplate Loose: its seed code .* is a file asset, .* create the template inside a ProjectPortfolio/],
  ['portfolio in a stack without account and region', () => new ProjectPortfolio(new Stack(testApp(), 'NoEnv'), 'P'),
    /stack 'NoEnv' has no account and region.*give the stack an env \(\{ account, region \}\) or pass assetBucketName/],
  ['asset bucket name not an S3 name', () => new ProjectPortfolio(stack(), 'P', { assetBucketName: 'My_Templates' }),
    /assetBucketName 'My_Templates' is not an S3 bucket name/],
  ['provider name too long', () => new ProjectPortfolio(stack(), 'P', { providerName: 'p'.repeat(60) }), /providerName 'p{60}' has 60 characters; use 1-50/],
  ['artifact bucket without a KMS key', () => {
    const s = stack();
    new BuildPipeline(s, 'Build', { projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'g', artifactBucket: new s3.Bucket(s, 'Plain'), seedCode: SeedCode.fromBucket('seed-bucket', 'seed.zip') });
  }, /artifactBucket '.*' has no encryptionKey/],
  ['repository name too long', () => buildWith({ repositoryName: 'r'.repeat(101) }), /repositoryName 'r{101}' is invalid; use 1-100/],
];

describe('bad input is rejected at synth time', () => {
  test('there are at least fifteen cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  test.each(cases)('%s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});

describe('values known only at deploy time are guarded by parameter constraints', () => {
  test('a stage account and region from parameters get the 12-digit and region patterns', () => {
    const s = stack();
    new DeployPipeline(s, 'Deploy', {
      projectName: 'churn',
      projectId: 'p-abc',
      modelPackageGroupName: 'churn-p-abc',
      artifactBucket: artifactBucket(s),
      seedCode: SeedCode.fromBucket('seed-bucket', 'seed.zip'),
      stages: [{ name: 'dev' }, { name: 'prod', accountParameterName: 'ProdAccount', regionParameterName: 'DeploymentRegion' }],
    });
    const t = Template.fromStack(s);
    t.hasParameter('ProdAccount', { Type: 'String', AllowedPattern: '^\\d{12}$', ConstraintDescription: 'must be a 12-digit AWS account id' });
    t.hasParameter('DeploymentRegion', { Type: 'String', AllowedPattern: '^[a-z]{2,4}(-[a-z]+)+-\\d{1,2}$' });
  });
});
