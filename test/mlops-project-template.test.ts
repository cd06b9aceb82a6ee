import * as fs from 'fs';
import * as path from 'path';
import { Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import {
  BasicProjectTemplate,
  ByocProjectTemplate,
  DeploymentStages,
  DynamicAccountsProjectTemplate,
  MLOpsProjectTemplate,
  ProjectPortfolio,
  SeedCode,
  SourceRepository,
} from '../src';
import { evaluate, evaluateTemplate, refersTo } from './util/cfn-eval';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

const ENV = { account: '111111111111', region: 'eu-west-1' };

function synthTemplate(make: (portfolio: ProjectPortfolio) => MLOpsProjectTemplate): { template: Template; construct: MLOpsProjectTemplate } {
  const app = testApp();
  const stack = new Stack(app, 'Portfolio', { env: ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const construct = make(portfolio);
  portfolio.addTemplate(construct, { snapshotDirectory: tempDir('snap') });
  return { template: productTemplate(construct), construct };
}

const basic = synthTemplate(p => new BasicProjectTemplate(p, 'Basic', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-west-1' }));
const dynamic = synthTemplate(p => new DynamicAccountsProjectTemplate(p, 'Dynamic'));
const byoc = synthTemplate(p => new ByocProjectTemplate(p, 'Byoc'));
const builtIns: [string, { template: Template; construct: MLOpsProjectTemplate }][] = [['basic', basic], ['dynamic accounts', dynamic], ['BYOC', byoc]];

const LONGEST = {
  'SageMakerProjectName': 'A'.repeat(32),
  'SageMakerProjectId': 'p'.repeat(16),
  'PreProdAccount': '222222222222',
  'ProdAccount': '333333333333',
  'DeploymentRegion': 'ap-southeast-5',
  'AWS::AccountId': '123456789012',
  'AWS::Region': 'ap-southeast-5',
  'AWS::Partition': 'aws-iso-b',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'SC-123456789012-pp-abcdefghijklm',
};

describe.each(builtIns)('built-in %s template', (_name, { template }) => {
  test('takes the project name and id SageMaker fills in, with SageMaker\'s constraints', () => {
    // SageMaker's pattern, but not the platform's own SSM parameter names (test/isolation.test.ts).
    template.hasParameter('SageMakerProjectName', { Type: 'String', MinLength: 1, MaxLength: 32, AllowedPattern: '^(?!(?:code|role)$)[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$' });
    template.hasParameter('SageMakerProjectId', { Type: 'String', MinLength: 1, MaxLength: 16, AllowedPattern: '^[a-z0-9](-*[a-z0-9]){0,15}$' });
  });

  test('tags every taggable resource with the project name and id', () => {
    const taggable = ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::CodeCommit::Repository', 'AWS::CodeBuild::Project', 'AWS::CodePipeline::Pipeline', 'AWS::IAM::Role', 'AWS::SageMaker::ModelPackageGroup'];
    for (const type of taggable) {
      const resources = template.findResources(type);
      expect(Object.keys(resources).length).toBeGreaterThan(0);
      for (const [id, resource] of Object.entries<any>(resources)) {
        const tags = resource.Properties.Tags;
        expect({ id, tags }).toEqual({
          id,
          tags: expect.arrayContaining([
            { Key: 'sagemaker:project-name', Value: { Ref: 'SageMakerProjectName' } },
            { Key: 'sagemaker:project-id', Value: { Ref: 'SageMakerProjectId' } },
          ]),
        });
      }
    }
  });

  test('encrypts, versions, blocks public access to and requires TLS on its buckets, with the one project key', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    const key = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets).sort()).toEqual([
      expect.stringMatching(/^AccessLogsBucket/), expect.stringMatching(/^ArtifactBucket/), expect.stringMatching(/^PipelineArtifactBucket/),
    ]);
    const logsBucket = Object.keys(buckets).find(id => id.startsWith('AccessLogsBucket'))!;
    for (const [id, bucket] of Object.entries<any>(buckets)) {
      expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual(
        // S3 delivers access logs only to buckets with S3-managed keys.
        id === logsBucket ? { SSEAlgorithm: 'AES256' } : { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] } });
      if (id !== logsBucket) {
        expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
        expect(bucket.Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsBucket }, LogFilePrefix: `${id.replace(/[0-9A-F]{8}$/, '')}/` });
      }
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      });
    }
    const policies = Object.values<any>(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(3);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
        Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }));
    }
  });

  test('only the S3 logging service of this account may write access logs, under each bucket\'s prefix', () => {
    const logsPolicy = Object.values<any>(template.findResources('AWS::S3::BucketPolicy'))
      .find(p => JSON.stringify(p.Properties.Bucket).includes('AccessLogsBucket'));
    const writes = logsPolicy.Properties.PolicyDocument.Statement.filter((s: any) => s.Effect === 'Allow');
    expect(writes.map((s: any) => s.Sid)).toEqual(['S3ServerAccessLogsArtifactBucket', 'S3ServerAccessLogsPipelineArtifactBucket']);
    for (const statement of writes) {
      expect(statement.Principal).toEqual({ Service: 'logging.s3.amazonaws.com' });
      expect(statement.Action).toBe('s3:PutObject');
      expect(statement.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    }
  });

  test('retains what the project holds when it is deleted or replaced', () => {
    for (const type of ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SageMaker::ModelPackageGroup', 'AWS::CodeCommit::Repository', 'AWS::ECR::Repository']) {
      for (const resource of Object.values<any>(template.findResources(type))) {
        expect({ type, DeletionPolicy: resource.DeletionPolicy, UpdateReplacePolicy: resource.UpdateReplacePolicy })
          .toEqual({ type, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      }
    }
  });

  test('names the model package group <project-name>-<project-id>', () => {
    template.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', {
      ModelPackageGroupName: { 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-', { Ref: 'SageMakerProjectId' }]] },
    });
  });

  test('every physical name stays inside its AWS limit for the longest project name and id', () => {
    const limits: [string, string, number][] = [
      ['AWS::S3::Bucket', 'BucketName', 63],
      ['AWS::IAM::Role', 'RoleName', 64],
      ['AWS::CodePipeline::Pipeline', 'Name', 100],
      ['AWS::CodeBuild::Project', 'Name', 255],
      ['AWS::ECR::Repository', 'RepositoryName', 256],
      ['AWS::KMS::Alias', 'AliasName', 256],
      ['AWS::CodeCommit::Repository', 'RepositoryName', 100],
      ['AWS::SageMaker::ModelPackageGroup', 'ModelPackageGroupName', 63],
      ['AWS::SSM::Parameter', 'Name', 2048],
    ];
    let measured = 0;
    for (const [type, property, limit] of limits) {
      for (const resource of Object.values<any>(template.findResources(type))) {
        const name = resource.Properties[property];
        if (name === undefined) continue;
        const longest = evaluate(name, LONGEST);
        expect({ type, longest, length: longest.length <= limit }).toEqual({ type, longest, length: true });
        measured++;
      }
    }
    expect(measured).toBeGreaterThanOrEqual(8);
  });

  test('two projects never collide: every fixed name includes the project name or id', () => {
    const named: [string, string][] = [
      ['AWS::S3::Bucket', 'BucketName'], ['AWS::CodePipeline::Pipeline', 'Name'], ['AWS::CodeCommit::Repository', 'RepositoryName'],
      ['AWS::ECR::Repository', 'RepositoryName'], ['AWS::KMS::Alias', 'AliasName'], ['AWS::SSM::Parameter', 'Name'],
      ['AWS::CodeBuild::Project', 'Name'], ['AWS::IAM::Role', 'RoleName'],
    ];
    for (const [type, property] of named) {
      for (const resource of Object.values<any>(template.findResources(type))) {
        const name = resource.Properties[property];
        if (name === undefined) continue;
        expect({ type, name, unique: refersTo(name, ['SageMakerProjectName', 'SageMakerProjectId']) }).toEqual({ type, name, unique: true });
      }
    }
    // S3 names are global: they carry the id, account and region.
    for (const bucket of Object.values<any>(template.findResources('AWS::S3::Bucket'))) {
      expect(refersTo(bucket.Properties.BucketName, ['SageMakerProjectId', 'AWS::AccountId', 'AWS::Region'])).toBe(true);
      const text = JSON.stringify(bucket.Properties.BucketName);
      for (const ref of ['SageMakerProjectId', 'AWS::AccountId', 'AWS::Region']) expect(text).toContain(ref);
    }
  });

  test('puts every role under the library\'s path, where the launch role may pass it', () => {
    for (const role of Object.values<any>(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.Path).toBe('/sagemaker-project-templates/');
    }
  });

  test('composes a build and a deploy pipeline that share the pipeline artifact bucket', () => {
    const pipelines = Object.values<any>(template.findResources('AWS::CodePipeline::Pipeline'));
    expect(pipelines).toHaveLength(2);
    const stores = pipelines.map(p => JSON.stringify(p.Properties.ArtifactStore.Location));
    expect(stores[0]).toBe(stores[1]);
    expect(stores[0]).toContain('PipelineArtifactBucket');
    for (const pipeline of pipelines) expect(pipeline.Properties.PipelineType).toBe('V2');
  });
});

describe('deployment accounts', () => {
  test('basic: the fixed PREPROD and PROD accounts may read the model registry, artifacts and key', () => {
    const { template } = basic;
    template.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', {
      ModelPackageGroupPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'DeploymentAccountsUsePackages',
          Action: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'sagemaker:CreateModel'],
          Principal: {
            AWS: [
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] },
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:root']] },
            ],
          },
        })]),
      },
    });
    const fixedAccounts = {
      AWS: [
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:root']] },
      ],
    };
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'DeploymentAccountsRead',
          Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:GetBucketLocation'],
          Principal: fixedAccounts,
        })]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'DeploymentAccounts',
          Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'],
          Principal: fixedAccounts,
        })]),
      },
    });
    expect(template.findParameters('PreProdAccount')).toEqual({});
    // Two different literal accounts need no condition to stay distinct.
    expect(Object.keys(template.toJSON().Conditions ?? {}).filter(name => /^(PreProd|Prod)AccountIsDistinct$/.test(name))).toEqual([]);
  });

  test('dynamic accounts: PreProdAccount, ProdAccount (12 digits) and DeploymentRegion are entered at creation', () => {
    const { template } = dynamic;
    for (const name of ['PreProdAccount', 'ProdAccount']) {
      template.hasParameter(name, { Type: 'String', AllowedPattern: '^\\d{12}$' });
    }
    template.hasParameter('DeploymentRegion', { Type: 'String', AllowedPattern: '^[a-z]{2,4}(-[a-z]+)+-\\d{1,2}$' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'DeploymentAccountsRead',
          Principal: {
            AWS: [
              { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'PreProdAccount' }, ':root']] },
              // Listed only when it is not PreProdAccount.
              { 'Fn::If': ['ProdAccountIsDistinct', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'ProdAccount' }, ':root']] }, { Ref: 'AWS::NoValue' }] },
            ],
          },
        })]),
      },
    });
  });

  test('the parameter constraints accept real values and reject malformed ones', () => {
    const params = dynamic.template.toJSON().Parameters;
    const accept = (name: string, value: string) => new RegExp(params[name].AllowedPattern).test(value);
    expect(accept('PreProdAccount', '123456789012')).toBe(true);
    expect(accept('PreProdAccount', '12345678901')).toBe(false);
    expect(accept('DeploymentRegion', 'eu-west-1')).toBe(true);
    expect(accept('DeploymentRegion', 'us-gov-west-1')).toBe(true);
    expect(accept('DeploymentRegion', 'Europe')).toBe(false);
    expect(accept('SageMakerProjectName', 'churn-model-2')).toBe(true);
    expect(accept('SageMakerProjectName', 'churn_model')).toBe(false);
    expect(accept('SageMakerProjectName', 'a'.repeat(33))).toBe(false);
    expect(accept('SageMakerProjectId', 'p-abcdefgh1234')).toBe(true);
    expect(accept('SageMakerProjectId', 'P-ABC')).toBe(false);
  });
});

describe('stage accounts that turn out the same when the project is created', () => {
  const OWN = '111111111111';
  /** Values a creator may enter, and the account the project is created in. */
  const scenarios: Array<[string, { PreProdAccount: string; ProdAccount: string }]> = [
    ['all distinct', { PreProdAccount: '222222222222', ProdAccount: '333333333333' }],
    ['PreProd is Prod', { PreProdAccount: '222222222222', ProdAccount: '222222222222' }],
    ['PreProd is the project account', { PreProdAccount: OWN, ProdAccount: '333333333333' }],
    ['Prod is the project account', { PreProdAccount: '222222222222', ProdAccount: OWN }],
    ['one account for everything', { PreProdAccount: OWN, ProdAccount: OWN }],
  ];
  const root = (account: string) => `arn:aws:iam::${account}:root`;
  const bootstrapRoles = (account: string) => ['deploy-role', 'cfn-exec-role'].map(kind => `arn:aws:iam::${account}:role/cdk-hnb659fds-${kind}-${account}-eu-west-1`);

  /** Every resource policy of the template as created, with its statements. */
  function resourcePolicies(template: Template, accounts: { PreProdAccount: string; ProdAccount: string }): Array<{ id: string; statements: any[] }> {
    const resources = evaluateTemplate(template.toJSON(), {
      ...accounts,
      'SageMakerProjectName': 'churn',
      'SageMakerProjectId': 'p-1a2b3c4d5e6f',
      'DeploymentRegion': 'eu-west-1',
      'AWS::AccountId': OWN,
      'AWS::Region': 'eu-west-1',
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': 'SC-111111111111-pp-abcdefghijklm',
    });
    return Object.entries<any>(resources).flatMap(([id, resource]) => {
      const p = resource.Properties;
      const document = p.KeyPolicy ?? (resource.Type === 'AWS::S3::BucketPolicy' ? p.PolicyDocument : undefined) ?? p.ModelPackageGroupPolicy ?? p.RepositoryPolicyText;
      return document ? [{ id, statements: document.Statement }] : [];
    });
  }
  const principalList = (statement: any): string[] => [statement.Principal?.AWS ?? []].flat();
  const principalsOf = (policies: Array<{ statements: any[] }>, sid: RegExp) => policies
    .flatMap(policy => policy.statements.filter(statement => sid.test(statement.Sid ?? '')).map(principalList));

  describe.each([['dynamic accounts', dynamic], ['BYOC', byoc]])('%s template', (_name, { template }) => {
    test.each(scenarios)('%s: no principal list repeats a principal, and each lists every account once', (_scenario, accounts) => {
      const policies = resourcePolicies(template, accounts);
      expect(policies.map(policy => policy.id).sort()).toEqual(expect.arrayContaining([
        expect.stringMatching(/^ProjectKey/), expect.stringMatching(/^ArtifactBucketPolicy/), 'ModelPackageGroup', expect.stringMatching(/^PipelineArtifactBucketPolicy/),
      ]));
      for (const { id, statements } of policies) {
        for (const statement of statements) {
          const list = principalList(statement);
          expect({ id, sid: statement.Sid, principals: list }).toEqual({ id, sid: statement.Sid, principals: [...new Set(list)] });
        }
      }

      // The deployment accounts: the key, the artifact bucket, the model registry and, for BYOC, the repository.
      const deploymentAccounts = [...new Set([accounts.PreProdAccount, accounts.ProdAccount])].map(root);
      const accountLists = principalsOf(policies, /^DeploymentAccounts/);
      // Key, bucket, the registry's two statements, and the repository of BYOC.
      expect(accountLists.length).toBe(4 + Object.keys(template.findResources('AWS::ECR::Repository')).length);
      for (const list of accountLists) expect(list.sort()).toEqual([...deploymentAccounts].sort());

      // The stage roles that read pipeline artifacts: the dev roles only. The stages of the entered
      // region are deployed by the stage deployment build, which hands their templates over itself.
      const stageRoles = bootstrapRoles(OWN);
      const roleLists = principalsOf(policies, /^DeploymentStageRoles/);
      expect(roleLists.length).toBe(2);
      for (const list of roleLists) expect(list.sort()).toEqual([...stageRoles].sort());
    });
  });

  test('the model registry policy is valid JSON for SageMaker: only accounts, each once', () => {
    const policies = resourcePolicies(dynamic.template, { PreProdAccount: '222222222222', ProdAccount: '222222222222' });
    const group = policies.find(policy => policy.id === 'ModelPackageGroup')!;
    expect(group.statements.map(statement => [statement.Sid, statement.Principal])).toEqual([
      ['DeploymentAccountsReadGroup', { AWS: [root('222222222222')] }],
      ['DeploymentAccountsUsePackages', { AWS: [root('222222222222')] }],
    ]);
  });

  test('literal accounts equal to each other are listed once without any condition', () => {
    const { template } = synthTemplate(p => new MLOpsProjectTemplate(p, 'SameFixed', {
      stages: [{ name: 'dev' }, { name: 'preprod', account: '222222222222' }, { name: 'prod', account: '222222222222' }],
    }));
    const policies = resourcePolicies(template, { PreProdAccount: 'unused', ProdAccount: 'unused' });
    for (const list of principalsOf(policies, /^DeploymentAccounts/)) expect(list).toEqual([root('222222222222')]);
    expect(Object.keys(template.toJSON().Conditions ?? {}).filter(name => !name.startsWith('DeployPipeline'))).toEqual([]);
  });
});

describe('stage regions', () => {
  test('a region entered at creation is deployed there (issue 18): no rule, a deployment build for its stages', () => {
    expect(dynamic.template.toJSON().Rules).toBeUndefined();
    const stages = Object.values<any>(dynamic.template.findResources('AWS::CodePipeline::Pipeline'))
      .find(p => JSON.stringify(p).includes('DeployPreProd')).Properties.Stages;
    for (const name of ['DeployPreProd', 'DeployProd']) {
      const deploy = stages.find((stage: any) => stage.Name === name).Actions.find((a: any) => a.Name.startsWith('Deploy_CFN_'));
      expect(deploy.ActionTypeId.Provider).toBe('CodeBuild');
      expect(JSON.stringify(deploy.Configuration)).toContain('"Ref":"DeploymentRegion"');
    }
    expect(Object.keys(dynamic.construct.deployPipeline.stageDeploymentProjects)).toEqual(['preprod', 'prod']);
  });

  test('a fixed region that is the portfolio\'s keeps the CloudFormation action, and a rule (the product may be launched elsewhere)', () => {
    expect(basic.template.toJSON().Rules).toEqual({
      PreProdStageRegionIsProjectRegion: {
        Assertions: [{
          Assert: { 'Fn::Equals': ['eu-west-1', { Ref: 'AWS::Region' }] },
          AssertDescription: "Stages 'preprod' and 'prod' of this project deploy to region eu-west-1 by a CloudFormation action of the project's region, "
            + "so the project must be created in eu-west-1: create it there, or leave the stage's region out (the project's own).",
        }],
      },
    });
  });

  test('stages in the project\'s own region need no rule', () => {
    const { template } = synthTemplate(p => new MLOpsProjectTemplate(p, 'Here', { stages: [{ name: 'dev' }, { name: 'prod', account: '333333333333' }] }));
    expect(template.toJSON().Rules).toBeUndefined();
  });

  test('a fixed region other than the portfolio\'s is deployed there (issue 18): no rule, a deployment build, no artifact reads', () => {
    const { template, construct } = synthTemplate(p => new BasicProjectTemplate(p, 'Elsewhere', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'us-east-1' }));
    expect(template.toJSON().Rules).toBeUndefined();
    const stages = Object.values<any>(template.findResources('AWS::CodePipeline::Pipeline'))
      .find(p => JSON.stringify(p).includes('DeployPreProd')).Properties.Stages;
    for (const name of ['DeployPreProd', 'DeployProd']) {
      const deploy = stages.find((stage: any) => stage.Name === name).Actions.find((a: any) => a.Name.startsWith('Deploy_CFN_'));
      expect(deploy.ActionTypeId.Provider).toBe('CodeBuild');
      expect(JSON.stringify(deploy.Configuration)).toContain('-us-east-1');
    }
    expect(Object.keys(construct.deployPipeline.stageDeploymentProjects)).toEqual(['preprod', 'prod']);
    // The SSM parameters the deploy app reads keep their names and hold the stage's region.
    template.hasResourceProperties('AWS::SSM::Parameter', { Value: 'us-east-1' });
  });
});

describe('BYOC', () => {
  test('an ECR repository named after the project id, scanned on push, pullable by the deployment accounts', () => {
    const { template } = byoc;
    template.hasResource('AWS::ECR::Repository', {
      Properties: Match.objectLike({
        RepositoryName: { 'Fn::Join': ['', ['mlops-', { Ref: 'SageMakerProjectId' }]] },
        ImageScanningConfiguration: { ScanOnPush: true },
        RepositoryPolicyText: {
          Statement: Match.arrayWith([Match.objectLike({
            Sid: 'DeploymentAccountsPull',
            Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
            Principal: {
              AWS: [
                { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'PreProdAccount' }, ':root']] },
                { 'Fn::If': ['ProdAccountIsDistinct', { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'ProdAccount' }, ':root']] }, { Ref: 'AWS::NoValue' }] },
              ],
            },
          })]),
        },
      }),
      DeletionPolicy: 'Retain',
    });
  });

  test('builds the container before the SageMaker pipeline runs', () => {
    const pipeline = Object.values<any>(byoc.template.findResources('AWS::CodePipeline::Pipeline'))
      .find(p => JSON.stringify(p.Properties.Stages).includes('SMPipeline'));
    const build = pipeline.Properties.Stages.find((s: any) => s.Name === 'Build');
    expect(build.Actions.map((a: any) => [a.Name, a.RunOrder])).toEqual([['DockerBuild', 1], ['SMPipeline', 2]]);
  });

  test('only BYOC has a container repository', () => {
    basic.template.resourceCountIs('AWS::ECR::Repository', 0);
    dynamic.template.resourceCountIs('AWS::ECR::Repository', 0);
  });
});

describe('MLOpsProjectTemplate options', () => {
  test('removal can be opted into', () => {
    const { template } = synthTemplate(p => new MLOpsProjectTemplate(p, 'Disposable', { stages: [{ name: 'dev' }], removalPolicy: RemovalPolicy.DESTROY }));
    for (const type of ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SageMaker::ModelPackageGroup', 'AWS::CodeCommit::Repository']) {
      for (const resource of Object.values<any>(template.findResources(type))) {
        expect({ type, policy: resource.DeletionPolicy }).toEqual({ type, policy: 'Delete' });
      }
    }
  });

  test('any number of stages, with SSM parameters for each', () => {
    const { template } = synthTemplate(p => new MLOpsProjectTemplate(p, 'Four', {
      stages: [{ name: 'dev' }, { name: 'qa', account: '444444444444' }, { name: 'preprod', account: '222222222222' }, { name: 'prod', account: '333333333333', region: 'eu-west-1' }],
    }));
    for (const stage of ['dev', 'qa', 'preprod', 'prod']) {
      for (const leaf of ['account_id', 'region']) {
        template.hasResourceProperties('AWS::SSM::Parameter', {
          Name: { 'Fn::Join': ['', ['/mlops/', { Ref: 'SageMakerProjectName' }, `/${stage}/${leaf}`]] },
        });
      }
    }
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: { 'Fn::Join': ['', ['/mlops/', { Ref: 'SageMakerProjectName' }, '/prod/region']] },
      Value: 'eu-west-1',
    });
  });

  test('the product name defaults to the construct id', () => {
    const { construct } = synthTemplate(p => new MLOpsProjectTemplate(p, 'MyTemplate', { stages: [{ name: 'dev' }] }));
    expect(construct.productName).toBe('MyTemplate');
  });
});

describe('the full resource set and the wiring of a built-in template', () => {
  const common = {
    'AWS::CodeCommit::Repository': 2,
    'AWS::CodePipeline::Pipeline': 2,
    'AWS::Events::Rule': 3,
    'AWS::KMS::Alias': 1,
    'AWS::KMS::Key': 1,
    'AWS::S3::Bucket': 3,
    'AWS::S3::BucketPolicy': 3,
    'AWS::SSM::Parameter': 6,
    'AWS::SageMaker::ModelPackageGroup': 1,
  };
  const expected: [string, Template, Record<string, number>][] = [
    ['basic', basic.template, { ...common, 'AWS::CodeBuild::Project': 3, 'AWS::IAM::Policy': 13, 'AWS::IAM::Role': 15 }],
    // The region entered at creation: a deployment build per stage, with its role, and the two deploy actions' roles.
    ['dynamic accounts', dynamic.template, { ...common, 'AWS::CodeBuild::Project': 5, 'AWS::IAM::Policy': 17, 'AWS::IAM::Role': 19 }],
    ['BYOC', byoc.template, { ...common, 'AWS::CodeBuild::Project': 6, 'AWS::IAM::Policy': 19, 'AWS::IAM::Role': 21, 'AWS::ECR::Repository': 1 }],
  ];
  test.each(expected)('%s: exactly these resources', (_name, template, counts) => {
    const actual: Record<string, number> = {};
    for (const resource of Object.values<any>(template.toJSON().Resources)) actual[resource.Type] = (actual[resource.Type] ?? 0) + 1;
    expect(actual).toEqual(counts);
  });

  const { template } = dynamic;
  const logicalId = (type: string, prefix: string) => {
    const id = Object.keys(template.findResources(type)).find(k => k.startsWith(prefix));
    expect(id).toBeDefined();
    return id!;
  };
  const groupName = { 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-', { Ref: 'SageMakerProjectId' }]] };

  test('the model build runs the SageMaker pipeline as its execution role, on the project\'s bucket, key and group', () => {
    const executionRole = logicalId('AWS::IAM::Role', 'BuildPipelineSageMakerExecutionRole');
    const project = Object.values<any>(template.findResources('AWS::CodeBuild::Project'))
      .find(p => JSON.stringify(p.Properties.Environment.EnvironmentVariables).includes('SAGEMAKER_PIPELINE_ROLE_ARN'));
    const env = Object.fromEntries(project.Properties.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Value]));
    expect(env.SAGEMAKER_PIPELINE_ROLE_ARN).toEqual({ 'Fn::GetAtt': [executionRole, 'Arn'] });
    expect(env.ARTIFACT_BUCKET).toEqual({ Ref: logicalId('AWS::S3::Bucket', 'ArtifactBucket') });
    expect(env.ARTIFACT_BUCKET_KMS_ID).toEqual({ 'Fn::GetAtt': [logicalId('AWS::KMS::Key', 'ProjectKey'), 'Arn'] });
    expect(env.MODEL_PACKAGE_GROUP_NAME).toEqual(groupName);
    expect(env.SAGEMAKER_PROJECT_NAME).toEqual({ Ref: 'SageMakerProjectName' });
    expect(env.SAGEMAKER_PROJECT_ID).toEqual({ Ref: 'SageMakerProjectId' });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] },
    });
  });

  test('the SageMaker execution role may write the artifact bucket and use the key, and register in the project\'s group only', () => {
    const executionRole = logicalId('AWS::IAM::Role', 'BuildPipelineSageMakerExecutionRole');
    const statements = Object.values<any>(template.findResources('AWS::IAM::Policy'))
      .filter(p => JSON.stringify(p.Properties.Roles).includes(executionRole))
      .flatMap(p => p.Properties.PolicyDocument.Statement);
    const text = JSON.stringify(statements);
    expect(text).toContain(logicalId('AWS::S3::Bucket', 'ArtifactBucket'));
    expect(text).toContain(logicalId('AWS::KMS::Key', 'ProjectKey'));
    const register = statements.find((s: any) => [s.Action].flat().includes('sagemaker:CreateModelPackage'));
    expect(JSON.stringify(register.Resource)).toContain('model-package/');
    expect(JSON.stringify(register.Resource)).toContain('SageMakerProjectName');
  });

  test('an approval event of the project\'s group starts the deploy pipeline', () => {
    const deployPipeline = Object.entries<any>(template.findResources('AWS::CodePipeline::Pipeline'))
      .find(([, p]) => JSON.stringify(p.Properties.Stages).includes('DeployDev'))![0];
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.sagemaker'],
        'detail-type': ['SageMaker Model Package State Change'],
        'detail': { ModelPackageGroupName: [groupName], ModelApprovalStatus: ['Approved', 'Rejected'] },
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: deployPipeline }])] },
      })],
    });
  });

  test('the stage parameters feed the deploy app and name the stacks after the project', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: { 'Fn::Join': ['', ['/mlops/', { Ref: 'SageMakerProjectName' }, '/preprod/account_id']] },
      Value: { Ref: 'PreProdAccount' },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: { 'Fn::Join': ['', ['/mlops/', { Ref: 'SageMakerProjectName' }, '/prod/region']] },
      Value: { Ref: 'DeploymentRegion' },
    });
    const deploy = Object.values<any>(template.findResources('AWS::CodePipeline::Pipeline'))
      .find(p => JSON.stringify(p.Properties.Stages).includes('DeployDev'));
    expect(deploy.Properties.Stages.map((s: any) => s.Name)).toEqual(['Source', 'Build', 'DeployDev', 'DeployPreProd', 'DeployProd']);
    const prod = deploy.Properties.Stages.find((s: any) => s.Name === 'DeployProd');
    expect(prod.Actions.map((a: any) => a.Name)).toEqual(['Approve_Prod', 'Deploy_CFN_Prod']);
    // Deployed by the stage deployment build (the region is entered): the stack name is one of its variables.
    const variables = JSON.parse(JSON.stringify(prod.Actions[1].Configuration.EnvironmentVariables));
    expect(variables['Fn::Join'][1]).toEqual(expect.arrayContaining([{ Ref: 'SageMakerProjectName' }]));
    expect(JSON.stringify(variables)).toMatch(/STACK_NAME.*"Ref":"SageMakerProjectName"\},"-deploy-prod/);
  });
});

describe('an organisation customises both pipelines through the template', () => {
  const { template, construct } = synthTemplate(p => new MLOpsProjectTemplate(p, 'Custom', {
    stages: [{ name: 'dev' }, { name: 'prod', account: '333333333333' }],
    branch: 'develop',
    buildPipelineOptions: {
      buildImage: codebuild.LinuxBuildImage.STANDARD_7_0,
      computeType: codebuild.ComputeType.LARGE,
      timeout: Duration.hours(3),
      environmentVariables: { TEAM: 'churn', SAGEMAKER_PIPELINE_DESCRIPTION: 'Churn model build' },
    },
    deployPipelineOptions: {
      branch: 'release',
      bootstrapQualifier: 'orgboot01',
      modelApprovalStatuses: ['Approved'],
      securityScan: false,
    },
  }));
  const projects = Object.values<any>(template.findResources('AWS::CodeBuild::Project'));
  const smPipeline = projects.find(p => JSON.stringify(p.Properties.Environment.EnvironmentVariables).includes('SAGEMAKER_PIPELINE_ROLE_ARN'));
  const env = Object.fromEntries(smPipeline.Properties.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Value]));

  test('the build: compute type, timeout and environment variables, over the defaults', () => {
    expect(smPipeline.Properties.Environment.ComputeType).toBe('BUILD_GENERAL1_LARGE');
    expect(smPipeline.Properties.TimeoutInMinutes).toBe(180);
    expect(env.TEAM).toBe('churn');
    expect(env.SAGEMAKER_PIPELINE_DESCRIPTION).toBe('Churn model build');
    expect(env.SAGEMAKER_PROJECT_NAME).toEqual({ Ref: 'SageMakerProjectName' });
  });

  test('the branch of both repositories, one overridden', () => {
    const branches = Object.values<any>(template.findResources('AWS::CodeCommit::Repository')).map(r => r.Properties.Code.BranchName).sort();
    expect(branches).toEqual(['develop', 'release']);
  });

  test('the deploy: qualifier of the bootstrap roles, the statuses that start it, no scan', () => {
    expect(JSON.stringify(template.toJSON())).toContain('cdk-orgboot01-deploy-role-333333333333');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: Match.objectLike({ ModelApprovalStatus: ['Approved'] }) }),
    });
    expect(construct.deployPipeline.securityScanProject).toBeUndefined();
    expect(projects).toHaveLength(2);
  });
});

describe('what deployment accounts may do in the project (issue 15)', () => {
  const OWN = '111111111111';
  const REFS = {
    'SageMakerProjectName': 'churn',
    'SageMakerProjectId': 'p-1a2b3c4d5e6f',
    'PreProdAccount': '222222222222',
    'ProdAccount': '333333333333',
    'DeploymentRegion': 'eu-west-1',
    'AWS::AccountId': OWN,
    'AWS::Region': 'eu-west-1',
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'SC-111111111111-pp-abcdefghijklm',
  };
  const BUCKET = `arn:aws:s3:::mlops-p-1a2b3c4d5e6f-${OWN}-eu-west-1`;
  const glob = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map(p => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);
  const list = (value: any): any[] => value === undefined ? [] : [value].flat();

  /** The artifact bucket's policy as created, and whether it lets `account` do `action` on `resource`. */
  function artifactBucketAllows(template: Template, account: string, action: string, resource: string): boolean {
    const resources = evaluateTemplate(template.toJSON(), REFS);
    const [, policy] = Object.entries<any>(resources).find(([id]) => id.startsWith('ArtifactBucketPolicy'))!;
    // The bucket's ARN is a reference to it (<ArtifactBucket....Arn>) in the evaluated template.
    const arnOf = (r: string) => r.replace(/^<ArtifactBucket[A-Za-z0-9]*\.Arn>/, BUCKET);
    return policy.Properties.PolicyDocument.Statement.some((s: any) => s.Effect === 'Allow'
      && list(s.Principal?.AWS).includes(`arn:aws:iam::${account}:root`)
      && list(s.Action).some((a: string) => glob(a, action)) && list(s.Resource).some((r: string) => glob(arnOf(r), resource)));
  }

  test('deployment accounts read the artifact bucket and write only their own stage\'s data capture prefix', () => {
    for (const { template } of [dynamic, byoc]) {
      const cases: Array<[string, string, string, boolean]> = [
        ['222222222222', 's3:GetObject', `${BUCKET}/churn/pipelines-abc/model.tar.gz`, true],
        ['333333333333', 's3:GetObject', `${BUCKET}/churn/pipelines-abc/model.tar.gz`, true],
        ['222222222222', 's3:PutObject', `${BUCKET}/churn/pipelines-abc/model.tar.gz`, false],
        ['222222222222', 's3:PutObject', `${BUCKET}/datacapture/churn-preprod/AllTraffic/2024/05/01/12/capture.jsonl`, true],
        ['222222222222', 's3:PutObject', `${BUCKET}/datacapture/churn-prod/AllTraffic/2024/05/01/12/capture.jsonl`, false],
        ['333333333333', 's3:PutObject', `${BUCKET}/datacapture/churn-prod/AllTraffic/2024/05/01/12/capture.jsonl`, true],
        ['333333333333', 's3:DeleteObject', `${BUCKET}/datacapture/churn-prod/x`, false],
        ['444444444444', 's3:GetObject', `${BUCKET}/churn/model.tar.gz`, false],
      ];
      for (const [account, action, resource, expected] of cases) {
        const allowed = artifactBucketAllows(template, account, action, resource);
        expect({ account, action, resource, allowed }).toEqual({ account, action, resource, allowed: expected });
      }
    }
  });

  test('the prefix is the one the bundled deploy app captures data under', () => {
    const stack = fs.readFileSync(path.join(__dirname, '..', 'seed_code', 'deploy_app', 'deploy_endpoint', 'endpoint_stack.py'), 'utf-8');
    expect(stack).toContain('DATA_CAPTURE_PREFIX = "datacapture/"');
    expect(stack).toContain('self.endpoint_name = f"{project.project_name}-{stage}"');
    expect(stack).toContain('capture_prefix = f"{DATA_CAPTURE_PREFIX}{self.endpoint_name}"');
  });

  test('the key lets deployment accounts decrypt and encrypt new data, not re-encrypt', () => {
    const key = Object.values<any>(dynamic.template.findResources('AWS::KMS::Key')).find(k => JSON.stringify(k).includes('DeploymentAccounts'));
    const statement = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'DeploymentAccounts');
    expect(statement.Action).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey']);
  });

  function warnings(construct: MLOpsProjectTemplate): string[] {
    return construct.node.metadata.filter(m => m.type === 'aws:cdk:warning').map(m => String(m.data));
  }

  test('a template whose accounts are entered at launch, without an allow-list or organization, warns', () => {
    expect(warnings(dynamic.construct)).toEqual([expect.stringMatching(
      /^Any AWS account can be entered as a deployment account: the accounts entered as PreProdAccount, ProdAccount get read access .*Set allowedDeploymentAccounts .* and\/or organizationId .* \[ack: cdk-sagemaker-project-templates:deploymentAccountsUnrestricted\]$/)]);
    expect(warnings(byoc.construct)).toHaveLength(1);
    // Fixed accounts were chosen by the platform team.
    expect(warnings(basic.construct)).toEqual([]);
  });

  describe('allowedDeploymentAccounts', () => {
    const allowed = ['222222222222', '333333333333', OWN];
    const { template, construct } = synthTemplate(p => new DynamicAccountsProjectTemplate(p, 'Allowed', { allowedDeploymentAccounts: allowed }));

    test('account parameters accept only the listed accounts; no warning', () => {
      for (const name of ['PreProdAccount', 'ProdAccount']) {
        template.hasParameter(name, { Type: 'String', AllowedPattern: '^\\d{12}$', AllowedValues: allowed });
      }
      template.hasParameter('SageMakerProjectName', Match.not(Match.objectLike({ AllowedValues: Match.anyValue() })));
      expect(warnings(construct)).toEqual([]);
    });

    test('a fixed stage account outside the list is refused at synth time, also through a preset template', () => {
      expect(() => synthTemplate(p => new BasicProjectTemplate(p, 'Outside', {
        preProdAccount: '222222222222', prodAccount: '444444444444', deploymentRegion: 'eu-west-1', allowedDeploymentAccounts: allowed,
      }))).toThrow("MLOpsProjectTemplate Outside: stages[2].account '444444444444' (stage 'prod') is not in allowedDeploymentAccounts (222222222222, 333333333333, 111111111111); add it there or deploy the stage to one of those accounts");
      expect(() => synthTemplate(p => new BasicProjectTemplate(p, 'Inside', {
        preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-west-1', allowedDeploymentAccounts: allowed,
      }))).not.toThrow();
    });

    test('a stage account given as another token gets a template rule', () => {
      const { template: ruled } = synthTemplate(p => new MLOpsProjectTemplate(p, 'Imported', {
        stages: [{ name: 'dev' }, { name: 'prod', account: Fn.importValue('ProdAccountId') }],
        allowedDeploymentAccounts: ['333333333333'],
      }));
      expect(ruled.toJSON().Rules.ProdAccountIsAllowed).toEqual({
        Assertions: [{
          Assert: { 'Fn::Contains': [['333333333333'], { 'Fn::ImportValue': 'ProdAccountId' }] },
          AssertDescription: "Stage 'prod' deploys to an account that is not one of the allowed deployment accounts (333333333333).",
        }],
      });
    });
  });

  describe('organizationId', () => {
    const { template, construct } = synthTemplate(p => new ByocProjectTemplate(p, 'Org', { organizationId: 'o-abcdef1234' }));
    const condition = { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } };

    test('every key, bucket and repository statement that names stage accounts or their roles requires the organization', () => {
      const named = Object.entries<any>(template.toJSON().Resources).flatMap(([id, r]) => {
        const p = r.Properties ?? {};
        const document = p.KeyPolicy ?? (r.Type === 'AWS::S3::BucketPolicy' ? p.PolicyDocument : undefined) ?? p.RepositoryPolicyText;
        return document ? document.Statement.filter((s: any) => /^DeploymentAccount|^DeploymentStageRoles/.test(s.Sid ?? '')).map((s: any) => ({ id, sid: s.Sid, condition: s.Condition })) : [];
      });
      expect(named.map(n => n.sid).sort()).toEqual([
        'DeploymentAccountWritesDataCapturePreProd', 'DeploymentAccountWritesDataCaptureProd', 'DeploymentAccounts', 'DeploymentAccountsPull',
        'DeploymentAccountsRead', 'DeploymentStageRolesDecryptArtifacts', 'DeploymentStageRolesReadArtifacts',
      ]);
      for (const n of named) expect(n).toEqual({ ...n, condition });
      expect(warnings(construct)).toEqual([]);
    });

    test('the model package group policy, which SageMaker evaluates, is left without it', () => {
      const group = Object.values<any>(template.findResources('AWS::SageMaker::ModelPackageGroup'))[0];
      for (const statement of group.Properties.ModelPackageGroupPolicy.Statement) expect(statement.Condition).toBeUndefined();
    });
  });

  test.each([
    [{ allowedDeploymentAccounts: [] }, 'allowedDeploymentAccounts is empty; list the 12-digit accounts that stages may deploy to, or leave it unset'],
    [{ allowedDeploymentAccounts: ['22222222222'] }, "allowedDeploymentAccounts[0] '22222222222' is not an AWS account id; use exactly 12 digits"],
    [{ allowedDeploymentAccounts: ['222222222222', '222222222222'] }, "allowedDeploymentAccounts[1] '222222222222' is listed twice; list each account once"],
    [{ organizationId: 'o-abc' }, "organizationId 'o-abc' is not an AWS Organizations id; use the form o-xxxxxxxxxx ('o-' and 10-32 lowercase letters or digits)"],
    [{ organizationId: 'r-ab12' }, "organizationId 'r-ab12' is not an AWS Organizations id"],
  ])('refuses %j', (props, message) => {
    expect(() => synthTemplate(p => new DynamicAccountsProjectTemplate(p, 'Bad', props))).toThrow(`MLOpsProjectTemplate Bad: ${message}`);
  });

  test('refuses an allow-list entry that is a token', () => {
    expect(() => synthTemplate(p => new DynamicAccountsProjectTemplate(p, 'Token', { allowedDeploymentAccounts: [Fn.importValue('Accounts')] })))
      .toThrow('MLOpsProjectTemplate Token: allowedDeploymentAccounts[0] is a token; list literal 12-digit account ids');
  });
});

describe('templates by composition (issue 16)', () => {
  test('the deprecated presets are MLOpsProjectTemplate with DeploymentStages: the same product template', () => {
    const names = { productName: basic.construct.productName, description: basic.construct.productDescription };
    const composed = synthTemplate(p => new MLOpsProjectTemplate(p, 'Basic', {
      ...names,
      stages: DeploymentStages.fixedAccounts({ preProdAccount: '222222222222', prodAccount: '333333333333', region: 'eu-west-1' }),
    }));
    expect(composed.template.toJSON()).toEqual(basic.template.toJSON());
    const plain = synthTemplate(p => new MLOpsProjectTemplate(p, 'Dynamic', {
      productName: dynamic.construct.productName, description: dynamic.construct.productDescription,
    }));
    expect(plain.template.toJSON()).toEqual(dynamic.template.toJSON());
  });

  test('DeploymentStages: dev here, then preprod and prod, each account and the region fixed or entered at creation', () => {
    expect(DeploymentStages.enteredAtCreation()).toEqual([
      { name: 'dev' },
      { name: 'preprod', accountParameterName: 'PreProdAccount', regionParameterName: 'DeploymentRegion' },
      { name: 'prod', accountParameterName: 'ProdAccount', regionParameterName: 'DeploymentRegion' },
    ]);
    expect(DeploymentStages.devPreProdProd({ prodAccount: '333333333333', region: 'eu-west-1' })).toEqual([
      { name: 'dev' },
      { name: 'preprod', accountParameterName: 'PreProdAccount', region: 'eu-west-1' },
      { name: 'prod', account: '333333333333', region: 'eu-west-1' },
    ]);
    expect(() => DeploymentStages.fixedAccounts({ preProdAccount: '2222', prodAccount: '333333333333', region: 'eu-west-1' }))
      .toThrow(/DeploymentStages\.fixedAccounts: preProdAccount '2222' is not an AWS account id; use exactly 12 digits/);
    expect(() => DeploymentStages.devPreProdProd({ region: 'europe' }))
      .toThrow(/DeploymentStages\.devPreProdProd: region 'europe' is not an AWS region name; use a name such as 'eu-west-1'/);
  });

  test('a publisher given explicitly: its asset bucket and permissions boundary, as if created inside it', () => {
    const app = testApp();
    const stack = new Stack(app, 'Portfolio', { env: ENV });
    const portfolio = new ProjectPortfolio(stack, 'Portfolio', { permissionsBoundaryPolicyName: 'MlBoundary' });
    const outside = new MLOpsProjectTemplate(stack, 'Outside', { publisher: portfolio });
    const inside = new MLOpsProjectTemplate(portfolio, 'Inside');
    expect(outside.publisher).toBe(portfolio);
    expect(inside.publisher).toBe(portfolio);
    expect(outside.fileAssetBucket).toBe(portfolio.assetBucket);
    portfolio.addTemplate(outside, { snapshotDirectory: tempDir('snap') });
    const roles = Object.values(productTemplate(outside).findResources('AWS::IAM::Role'));
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) expect(JSON.stringify(role.Properties.PermissionsBoundary)).toContain('policy/MlBoundary');
  });

  test('a template with file assets and no publisher or asset bucket is refused before any asset is made', () => {
    const stack = new Stack(testApp(), 'Plain', { env: ENV });
    expect(() => new MLOpsProjectTemplate(stack, 'Loose'))
      .toThrow(/MLOpsProjectTemplate Loose: its seed code \(or the git provider handler\) is a file asset, which a Service Catalog product stack keeps in an asset bucket, and it has none; create the template inside a ProjectPortfolio or ProjectTemplateBucket/);
    expect(() => new MLOpsProjectTemplate(stack, 'FromS3', {
      buildSeedCode: SeedCode.fromBucket('seed-bucket', 'build.zip'),
      deploySeedCode: SeedCode.fromBucket('seed-bucket', 'deploy.zip'),
    })).not.toThrow();
  });

  test('usesGitProviderConnection: whether a pipeline reads through a connection (the launch role then gets the git provider policy)', () => {
    const withConnection = synthTemplate(p => new MLOpsProjectTemplate(p, 'GitHub', {
      sourceRepository: SourceRepository.codeConnection({ createRepository: false, owner: 'acme' }),
    }));
    expect(withConnection.construct.usesGitProviderConnection).toBe(true);
    expect(withConnection.construct.buildPipeline.sourceConnectionRole).toBeDefined();
    expect(basic.construct.usesGitProviderConnection).toBe(false);
    expect(basic.construct.deployPipeline.sourceConnectionRole).toBeUndefined();
    const portfolioPolicies = (construct: MLOpsProjectTemplate) => Template.fromStack(Stack.of(construct.node.scope!)).findResources('AWS::IAM::Policy');
    expect(Object.keys(portfolioPolicies(withConnection.construct)).some(id => id.includes('GitProviderPolicy'))).toBe(true);
    expect(Object.keys(portfolioPolicies(basic.construct)).some(id => id.includes('GitProviderPolicy'))).toBe(false);
  });
});

describe('modelMonitoring (issue 19)', () => {
  const monitored = synthTemplate(p => new MLOpsProjectTemplate(p, 'Monitored', {
    modelMonitoring: true,
    stages: [{ name: 'dev' }, { name: 'prod', account: '333333333333' }],
    deployPipelineOptions: { environmentVariables: { EXTRA: 'x' } },
  }));
  const environmentOf = (template: Template, description: RegExp) => Object.values<any>(template.findResources('AWS::CodeBuild::Project'))
    .find(project => description.test(project.Properties.Description)).Properties.Environment.EnvironmentVariables;

  test('both builds get MODEL_MONITORING=true, beside the variables given', () => {
    expect(environmentOf(monitored.template, /SageMaker pipeline/)).toContainEqual({ Name: 'MODEL_MONITORING', Type: 'PLAINTEXT', Value: 'true' });
    const synth = environmentOf(monitored.template, /Synthesizes the deploy app/);
    expect(synth).toContainEqual({ Name: 'MODEL_MONITORING', Type: 'PLAINTEXT', Value: 'true' });
    expect(synth).toContainEqual({ Name: 'EXTRA', Type: 'PLAINTEXT', Value: 'x' });
    expect(JSON.stringify(environmentOf(dynamic.template, /Synthesizes the deploy app/))).not.toContain('MODEL_MONITORING');
  });

  test('each other stage account may write its own monitoring reports, and let its jobs use the key for their volumes', () => {
    const bucketStatements = Object.values<any>(monitored.template.findResources('AWS::S3::BucketPolicy'))
      .flatMap(policy => policy.Properties.PolicyDocument.Statement);
    const reports = bucketStatements.find(statement => statement.Sid === 'DeploymentAccountWritesMonitoringProd');
    expect(reports.Action).toBe('s3:PutObject');
    expect(JSON.stringify(reports.Principal)).toContain('333333333333');
    expect(JSON.stringify(reports.Resource)).toContain('/monitoring/');
    expect(JSON.stringify(reports.Resource)).toContain('-prod/*');
    expect(bucketStatements.some(statement => statement.Sid === 'DeploymentAccountWritesMonitoringDev')).toBe(false);
    const keyStatements = Object.values<any>(monitored.template.findResources('AWS::KMS::Key'))
      .flatMap(key => key.Properties.KeyPolicy.Statement);
    expect(keyStatements.find(statement => statement.Sid === 'DeploymentAccountsGrantForJobVolumes')).toMatchObject({
      Action: 'kms:CreateGrant',
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
    const dynamicKey = Object.values<any>(dynamic.template.findResources('AWS::KMS::Key')).flatMap(key => key.Properties.KeyPolicy.Statement);
    expect(dynamicKey.some(statement => statement.Sid === 'DeploymentAccountsGrantForJobVolumes')).toBe(false);
  });
});
