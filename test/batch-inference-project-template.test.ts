import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  BatchInferenceProjectTemplate,
  BundledSeedApp,
  MLOpsProjectTemplate,
  ProjectPortfolio,
  SeedCode,
} from '../src';
import { evaluate } from './util/cfn-eval';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const REFS = {
  'SageMakerProjectName': 'churn',
  'SageMakerProjectId': 'p-abc123',
  'PreProdAccount': '222222222222',
  'ProdAccount': '333333333333',
  'DeploymentRegion': 'eu-west-1',
  'AWS::AccountId': '111111111111',
  'AWS::Region': 'eu-west-1',
  'AWS::Partition': 'aws',
};

interface Synthesized { template: Template; construct: MLOpsProjectTemplate }

function synthTemplate(make: (portfolio: ProjectPortfolio) => MLOpsProjectTemplate): Synthesized {
  const stack = new Stack(testApp(), 'Portfolio', { env: ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const construct = make(portfolio);
  portfolio.addTemplate(construct, { snapshotDirectory: tempDir('snap') });
  return { template: productTemplate(construct), construct };
}

/** Statements of the resource policies (bucket policies and key policies) of a template, by Sid. */
function policyStatements(template: Template): Record<string, any> {
  const statements: Record<string, any> = {};
  for (const resource of Object.values<any>(template.toJSON().Resources)) {
    const p = resource.Properties ?? {};
    const document = p.KeyPolicy ?? (resource.Type === 'AWS::S3::BucketPolicy' ? p.PolicyDocument : undefined);
    for (const statement of document?.Statement ?? []) {
      if (statement.Sid) statements[statement.Sid] = statement;
    }
  }
  return statements;
}

/** The S3 key of the deploy repository's initial code. */
function deployCodeKey(template: Template): unknown {
  const repositories = template.findResources('AWS::CodeCommit::Repository');
  const deploy = Object.entries<any>(repositories).find(([id]) => id.startsWith('DeployPipelineRepository'));
  expect(deploy).toBeDefined();
  return deploy![1].Properties.Code.S3.Key;
}

const batch = synthTemplate(p => new BatchInferenceProjectTemplate(p, 'Batch'));
const plain = synthTemplate(p => new MLOpsProjectTemplate(p, 'Plain'));
const explicit = synthTemplate(p => new MLOpsProjectTemplate(p, 'Explicit', {
  deploySeedCode: SeedCode.fromBundledApp(BundledSeedApp.BATCH_INFERENCE_APP),
}));

describe('BatchInferenceProjectTemplate', () => {
  test('names the product for batch inference, with a description of its pipelines', () => {
    expect(batch.construct.productName).toBe('MLOps template for batch inference');
    expect(batch.construct.productDescription).toMatch(/model building pipeline/);
    expect(batch.construct.productDescription).toMatch(/scheduled batch transform of the newest approved model in dev, preprod and prod/);
  });

  test('its own product name and description win', () => {
    const { construct } = synthTemplate(p => new BatchInferenceProjectTemplate(p, 'Named', { productName: 'Batch scoring', description: 'Ours' }));
    expect(construct.productName).toBe('Batch scoring');
    expect(construct.productDescription).toBe('Ours');
  });

  test('the deploy repository starts from the bundled batch inference app, the build repository from the build app', () => {
    expect(deployCodeKey(batch.template)).not.toEqual(deployCodeKey(plain.template));
    expect(deployCodeKey(batch.template)).toEqual(deployCodeKey(explicit.template));
    const buildKey = (t: Template) => Object.entries<any>(t.findResources('AWS::CodeCommit::Repository'))
      .find(([id]) => id.startsWith('BuildPipelineRepository'))![1].Properties.Code.S3.Key;
    expect(buildKey(batch.template)).toEqual(buildKey(plain.template));
  });

  test('its stateful resources have the logical ids of the other built-in templates (test/stateful-logical-ids.test.ts)', () => {
    const types = ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SageMaker::ModelPackageGroup', 'AWS::CodeCommit::Repository', 'AWS::ECR::Repository', 'AWS::SSM::Parameter'];
    const stateful = (t: Template) => Object.entries<any>(t.toJSON().Resources).filter(([, r]) => types.includes(r.Type)).map(([id]) => id).sort();
    expect(stateful(batch.template)).toEqual([
      'AccessLogsBucket83982689', 'ArtifactBucket7410C9EF', 'BuildPipelineRepositoryF856F8B0',
      'DeployPipelineDevAccountIdParameter106F9389', 'DeployPipelineDevRegionParameterD9B61DFA',
      'DeployPipelinePreProdAccountIdParameterC9C70569', 'DeployPipelinePreProdRegionParameterAB08B3AF',
      'DeployPipelineProdAccountIdParameter0703B87B', 'DeployPipelineProdRegionParameter831CABF8',
      'DeployPipelineRepositoryB757A34F', 'ModelPackageGroup', 'PipelineArtifactBucketD127CCF6', 'ProjectKeyFDD03260',
    ]);
    expect(stateful(batch.template)).toEqual(stateful(plain.template));
  });

  test('each stage account other than the project\'s may write its batch output under its own prefix', () => {
    const statements = policyStatements(batch.template);
    for (const [stage, account] of [['PreProd', '222222222222'], ['Prod', '333333333333']] as const) {
      const statement = statements[`DeploymentAccountWritesBatchOutput${stage}`];
      expect(statement).toBeDefined();
      expect(statement.Action).toBe('s3:PutObject');
      expect(statement.Effect).toBe('Allow');
      expect(evaluate(statement.Principal.AWS, REFS)).toBe(`arn:aws:iam::${account}:root`);
      const bucket = evaluate(batch.template.toJSON().Resources[Object.keys(batch.template.findResources('AWS::S3::Bucket')).find(id => id.startsWith('ArtifactBucket'))!]
        .Properties.BucketName, REFS);
      expect(bucket).toBe('mlops-p-abc123-111111111111-eu-west-1');
      const resource = JSON.parse(JSON.stringify(statement.Resource).replace(/\{"Fn::GetAtt":\["ArtifactBucket[0-9A-F]+","Arn"\]\}/g, '"arn:aws:s3:::ARTIFACTS"'));
      expect(evaluate(resource, REFS)).toBe(`arn:aws:s3:::ARTIFACTS/batch/churn-${stage.toLowerCase()}/output/*`);
    }
    // The project's own account (dev) needs no resource policy.
    expect(Object.keys(statements).filter(sid => sid.startsWith('DeploymentAccountWritesBatchOutput')).sort())
      .toEqual(['DeploymentAccountWritesBatchOutputPreProd', 'DeploymentAccountWritesBatchOutputProd']);
    // The data capture statements stay as they are.
    expect(Object.keys(statements).filter(sid => sid.startsWith('DeploymentAccountWritesDataCapture')).sort())
      .toEqual(['DeploymentAccountWritesDataCapturePreProd', 'DeploymentAccountWritesDataCaptureProd']);
  });

  test('the deployment accounts may let SageMaker use the project key for transform jobs, only through grants for AWS resources', () => {
    const statements = policyStatements(batch.template);
    const grant = statements.DeploymentAccountsGrantForJobVolumes;
    expect(grant).toBeDefined();
    expect(grant.Action).toBe('kms:CreateGrant');
    expect(grant.Resource).toBe('*');
    expect(grant.Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': 'true' } });
    expect(grant.Principal).toEqual(statements.DeploymentAccounts.Principal);
    expect(statements.DeploymentAccounts.Action).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey']);
  });

  test('with an organization, the new statements require it too', () => {
    const statements = policyStatements(synthTemplate(p => new BatchInferenceProjectTemplate(p, 'Org', { organizationId: 'o-abcdef1234' })).template);
    expect(statements.DeploymentAccountsGrantForJobVolumes.Condition).toEqual({
      StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' }, Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
    expect(statements.DeploymentAccountWritesBatchOutputProd.Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } });
  });

  test('stages in the project\'s account only: no statement for other accounts', () => {
    const statements = policyStatements(synthTemplate(p => new BatchInferenceProjectTemplate(p, 'Solo', { stages: [{ name: 'dev' }, { name: 'prod' }] })).template);
    expect(Object.keys(statements).filter(sid => /BatchOutput|GrantForTransformJobs/.test(sid))).toEqual([]);
  });
});

describe('MLOpsProjectTemplate without stageOutputPrefix', () => {
  test.each([['the default deploy app', plain], ['the batch app given as seed code alone', explicit]])('%s: no batch output or grant statement', (_name, { template }) => {
    const statements = policyStatements(template);
    expect(Object.keys(statements).filter(sid => /BatchOutput|GrantForTransformJobs/.test(sid))).toEqual([]);
    expect(statements.DeploymentAccountWritesDataCaptureProd).toBeDefined();
  });

  test('the prop alone makes the statements, under its prefix', () => {
    const statements = policyStatements(synthTemplate(p => new MLOpsProjectTemplate(p, 'Scoring', { stageOutputPrefix: 'scoring/' })).template);
    const resource = JSON.parse(JSON.stringify(statements.DeploymentAccountWritesBatchOutputPreProd.Resource)
      .replace(/\{"Fn::GetAtt":\["ArtifactBucket[0-9A-F]+","Arn"\]\}/g, '"arn:aws:s3:::ARTIFACTS"'));
    expect(evaluate(resource, REFS)).toBe('arn:aws:s3:::ARTIFACTS/scoring/churn-preprod/output/*');
    expect(statements.DeploymentAccountsGrantForJobVolumes).toBeDefined();
  });
});
