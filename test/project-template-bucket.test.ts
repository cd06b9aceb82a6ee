import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, CfnResource, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  BasicProjectTemplate, DynamicAccountsProjectTemplate, GitProvider, MLOpsProjectTemplate, ProjectPortfolio, ProjectTemplateBucket, SeedCode,
  SourceRepository,
} from '../src';
import { tempDir, testApp } from './util/temp-dir';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf-8')).version;
const DOMAIN = 'arn:aws:sagemaker:eu-west-1:111111111111:domain/d-abcdefghijkl';
const OTHER_DOMAIN = 'arn:aws:sagemaker:eu-west-1:111111111111:domain/d-mnopqrstuvwx';

function newStack(app: App = testApp(), id = 'Templates'): Stack {
  return new Stack(app, id, { env: ENV });
}

/** A light template: seed code from SSM, so no seed code copy. */
function lightTemplate(scope: ProjectTemplateBucket | ProjectPortfolio, id: string): MLOpsProjectTemplate {
  return new MLOpsProjectTemplate(scope, id, {
    productName: `Template ${id}`,
    stages: [{ name: 'dev' }],
    buildSeedCode: SeedCode.fromSsmParameters('/mlops/code/build'),
    deploySeedCode: SeedCode.fromSsmParameters('/mlops/code/deploy'),
  });
}

/** The parsed SDK calls of the AwsCustomResource with `id` in its path: create, update, delete. */
type SdkCalls = { create: any; update: any; delete: any; logicalId: string };

function sdkCalls(stack: Stack, template: Template, idPart: string): SdkCalls {
  const resources = template.findResources('Custom::AWS');
  const [logicalId, resource] = Object.entries<any>(resources).find(([id]) => id.includes(idPart))!;
  const parse = (value: any) => value === undefined ? undefined : JSON.parse(flat(stack, value));
  const { Create, Update, Delete } = resource.Properties;
  return { create: parse(Create), update: parse(Update), delete: parse(Delete), logicalId };
}

/** A CloudFormation string value with references written as <LogicalId> and <AWS::Partition>. */
function flat(stack: Stack, value: any): string {
  const resolved = stack.resolve(value);
  if (typeof resolved === 'string') return resolved;
  if (resolved.Ref) return `<${resolved.Ref}>`;
  if (resolved['Fn::GetAtt']) return `<${resolved['Fn::GetAtt'].join('.')}>`;
  if (resolved['Fn::Sub']) return resolved['Fn::Sub'];
  if (resolved['Fn::Join']) return resolved['Fn::Join'][1].map((part: any) => flat(stack, part)).join(resolved['Fn::Join'][0]);
  return JSON.stringify(resolved);
}

function policyOf(template: Template, logicalIdPart: string): any[] {
  const [, policy] = Object.entries<any>(template.findResources('AWS::IAM::Policy')).find(([id]) => id.includes(logicalIdPart))!;
  return policy.Properties.PolicyDocument.Statement;
}

function logicalIdOf(construct: { node: { defaultChild?: any } }): string {
  const cfn = construct.node.defaultChild as CfnResource;
  return Stack.of(cfn).resolve(cfn.logicalId);
}

describe('ProjectTemplateBucket with defaults', () => {
  const app = testApp();
  const stack = newStack(app);
  const templates = new ProjectTemplateBucket(stack, 'Templates');
  const dynamic = new DynamicAccountsProjectTemplate(templates, 'Dynamic');
  const published = templates.addTemplate(dynamic);
  const t = Template.fromStack(stack);
  const bucketId = logicalIdOf(templates.bucket);
  const logsId = logicalIdOf(templates.accessLogsBucket!);

  test('the bucket is versioned, S3-encrypted, private, owner-enforced, retained and named for the account and region', () => {
    t.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketName: 'sagemaker-project-templates-s3-111111111111-eu-west-1',
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(t.toJSON().Resources[bucketId].Properties.BucketName).toBe('sagemaker-project-templates-s3-111111111111-eu-west-1');
  });

  test('the bucket has the CORS rule SageMaker Studio needs, and nothing more', () => {
    expect(t.toJSON().Resources[bucketId].Properties.CorsConfiguration).toEqual({
      CorsRules: [{
        AllowedOrigins: ['https://*.sagemaker.aws'],
        AllowedMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
        AllowedHeaders: ['*'],
        ExposedHeaders: ['ETag', 'x-amz-delete-marker', 'x-amz-id-2', 'x-amz-request-id', 'x-amz-server-side-encryption', 'x-amz-version-id'],
      }],
    });
  });

  test('both buckets refuse requests without TLS', () => {
    for (const id of [bucketId, logsId]) {
      t.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  test('the bucket logs its accesses into a second bucket, which only the S3 logging service of this account writes to', () => {
    expect(t.toJSON().Resources[bucketId].Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'templates/' });
    t.hasResource('AWS::S3::Bucket', {
      Properties: {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: { Rules: [{ ExpirationInDays: 365, Status: 'Enabled' }] },
      },
      DeletionPolicy: 'Retain',
    });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Sid: 'S3ServerAccessLogs',
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Action: 's3:PutObject',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logsId, 'Arn'] }, '/templates/*']] },
          Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        }]),
      },
    });
  });

  test('the template is copied from its synthesized asset to <prefix><product name>-v<library version>.yaml, tagged visible in Studio', () => {
    const key = `templates/dynamic-accounts-mlops-template-for-real-time-deployment-v${VERSION}.yaml`;
    expect(published).toEqual({
      templateName: 'dynamic-accounts-mlops-template-for-real-time-deployment',
      versionName: `v${VERSION}`,
      objectKey: key,
      templateUrl: expect.any(String),
    });
    expect(flat(stack, published.templateUrl)).toBe(`https://<${bucketId}.RegionalDomainName>/${key}`);
    const assembly = app.synth();
    const hash = crypto.createHash('sha256').update(fs.readFileSync(path.join(assembly.directory, dynamic.templateFile))).digest('hex');
    const calls = sdkCalls(stack, t, 'Template');
    const copy = {
      service: 'S3',
      action: 'copyObject',
      parameters: {
        Bucket: `<${bucketId}>`,
        Key: key,
        CopySource: `cdk-hnb659fds-assets-111111111111-eu-west-1/${hash}.json`,
        TaggingDirective: 'REPLACE',
        Tagging: 'sagemaker:studio-visibility=true',
      },
      physicalResourceId: { id: key },
      outputPaths: ['VersionId'],
    };
    expect(calls.create).toEqual(copy);
    expect(calls.update).toEqual(copy);
    // The asset it copies is the product template file itself.
    const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf-8'));
    expect(manifest.files[hash].source.path).toBe(dynamic.templateFile);
  });

  test('the copy is allowed to read exactly that asset and to write and tag exactly that object', () => {
    const key = published.objectKey;
    const statements = policyOf(t, 'CustomResourcePolicy').map(s => ({ ...s, Resource: flat(stack, s.Resource) }));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 's3:GetObject', Resource: expect.stringMatching(/^arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-111111111111-eu-west-1\/[0-9a-f]{64}\.json$/) },
      { Effect: 'Allow', Action: ['s3:PutObject', 's3:PutObjectTagging'], Resource: `<${bucketId}.Arn>/${key}` },
    ]);
  });

  test('the template\'s seed code is copied into the bucket, and the product template reads it from there', () => {
    t.hasResourceProperties('Custom::CDKBucketDeployment', { DestinationBucketName: { Ref: bucketId } });
    const product = JSON.parse(fs.readFileSync(path.join(app.synth().directory, dynamic.templateFile), 'utf-8'));
    const repositories = Object.values<any>(product.Resources).filter(r => r.Type === 'AWS::CodeCommit::Repository');
    expect(repositories.map(r => r.Properties.Code.S3.Bucket)).toEqual(['sagemaker-project-templates-s3-111111111111-eu-west-1', 'sagemaker-project-templates-s3-111111111111-eu-west-1']);
  });

  test('the launch role is for CloudFormation, under /service-role/, with no managed policy and no boundary', () => {
    const role = t.toJSON().Resources[logicalIdOf(templates.launchRole)];
    expect(role.Properties).toEqual({
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'cloudformation.amazonaws.com' } }], Version: '2012-10-17' },
      Description: 'Creates the stacks of SageMaker projects made from S3 templates',
      Path: '/service-role/',
    });
    expect(role.Metadata['cdk-sagemaker-project-templates:S3Templates']).toEqual({ StackNamePrefix: 'SP-', Templates: [published.objectKey] });
    Annotations.fromStack(stack).hasWarning('/Templates/Templates', Match.stringLikeRegexp('no permissionsBoundaryPolicyName'));
  });

  test('an output gives the role ARN that projects are created with', () => {
    const outputs = Object.values<any>(t.toJSON().Outputs);
    expect(outputs).toContainEqual({
      Description: expect.stringContaining('Role ARN to give when creating a SageMaker project'),
      Value: { 'Fn::GetAtt': [logicalIdOf(templates.launchRole), 'Arn'] },
    });
  });

  test('without domains, an output says what to tag domains with', () => {
    const outputs = Object.values<any>(t.toJSON().Outputs);
    const location = outputs.find(o => /sagemaker:projectS3TemplatesLocation/.test(o.Description));
    expect(location.Description).toBe('Tag each SageMaker domain whose Studio should list these templates with sagemaker:projectS3TemplatesLocation = this value (aws sagemaker add-tags)');
    expect(flat(stack, location.Value)).toBe(`s3://<${bucketId}>/templates/`);
    t.resourceCountIs('Custom::AWS', 1);
  });

  test('the role in SSM /mlops/role/lead may read and list the templates, pass the launch role to CloudFormation and act on SP- stacks', () => {
    t.hasParameter('TemplateBucketExecutionRoleArn', { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/mlops/role/lead' });
    const policy = Object.values<any>(t.findResources('AWS::IAM::Policy')).find(p => p.Properties.PolicyName.startsWith('TemplatesAccessPolicy'));
    expect(policy.Properties.Roles).toEqual([{
      'Fn::Join': ['', { 'Fn::Split': ['service-role/', { 'Fn::Select': [1, { 'Fn::Split': [':role/', { Ref: 'TemplateBucketExecutionRoleArn' }] }] }] }],
    }]);
    const statements = policy.Properties.PolicyDocument.Statement.map((s: any) => ({ ...s, Resource: flat(stack, s.Resource) }));
    const stacks = 'arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/SP-*';
    expect(statements).toEqual([
      { Sid: 'ReadTemplates', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectTagging'], Resource: `<${bucketId}.Arn>/templates/*` },
      { Sid: 'ListTemplates', Effect: 'Allow', Action: 's3:ListBucket', Resource: `<${bucketId}.Arn>`, Condition: { StringLike: { 's3:prefix': ['templates/*'] } } },
      {
        Sid: 'PassLaunchRole',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: `<${logicalIdOf(templates.launchRole)}.Arn>`,
        Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      },
      {
        Sid: 'ProjectStacks',
        Effect: 'Allow',
        Resource: stacks,
        Action: ['cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DeleteStack', 'cloudformation:DescribeStacks'],
      },
      {
        Sid: 'TagProjectStacks',
        Effect: 'Allow',
        Resource: stacks,
        Action: ['cloudformation:TagResource', 'cloudformation:UntagResource'],
        Condition: { Null: { 'aws:ResourceTag/sagemaker:project-name': 'false' } },
      },
    ]);
  });
});

describe('the launch role', () => {
  test('has the statements of a portfolio\'s launch role, for stacks named SP- instead of SC-', () => {
    const stack = newStack();
    const portfolio = new ProjectPortfolio(stack, 'Portfolio');
    const templates = new ProjectTemplateBucket(stack, 'Templates');
    const t = Template.fromStack(stack);
    const portfolioStatements = JSON.stringify(policyOf(t, 'PortfolioLaunchRoleDefaultPolicy'))
      .replace(/stack\/SC-\*/g, 'stack/SP-*')
      .split(logicalIdOf(portfolio.assetBucket)).join(logicalIdOf(templates.bucket));
    expect(JSON.parse(portfolioStatements)).toEqual(policyOf(t, 'TemplatesLaunchRoleDefaultPolicy'));
    expect(JSON.stringify(policyOf(t, 'TemplatesLaunchRoleDefaultPolicy'))).not.toContain('SC-');
  });

  test('with a git provider template, may create the handler functions and log groups of SP- stacks only', () => {
    const stack = newStack();
    const templates = new ProjectTemplateBucket(stack, 'Templates');
    templates.addTemplate(new MLOpsProjectTemplate(templates, 'GitHub', {
      stages: [{ name: 'dev' }],
      sourceRepository: SourceRepository.codeConnection({
        provider: GitProvider.GITHUB,
        tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf',
      }),
    }));
    const t = Template.fromStack(stack);
    const statements = policyOf(t, 'TemplatesLaunchRoleGitProviderPolicy');
    const resources = (sid: string) => [statements.find(s => s.Sid === sid).Resource].flat().map(r => flat(stack, r));
    expect(resources('GitProviderFunctions')).toEqual(['arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:SP-*']);
    expect(resources('GitProviderLogGroups')).toEqual([
      'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:SP-*',
      'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:SP-*:*',
    ]);
  });

  test('a permissions boundary goes on the launch role, the roles of templates created inside, and aws-cdk-lib\'s helper functions', () => {
    const stack = newStack();
    const templates = new ProjectTemplateBucket(stack, 'Templates', { permissionsBoundaryPolicyName: 'MLPlatformBoundary', launchRoleName: 'SageMakerS3TemplatesLaunch' });
    const template = new DynamicAccountsProjectTemplate(templates, 'Dynamic');
    templates.addTemplate(template);
    const boundary = ':policy/MLPlatformBoundary';
    const app = stack.node.root as App;
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::IAM::Role', { RoleName: 'SageMakerS3TemplatesLaunch', Path: '/service-role/' });
    const roles = Object.entries<any>(t.findResources('AWS::IAM::Role'));
    expect(roles.map(([id]) => id)).toEqual([logicalIdOf(templates.launchRole), expect.stringMatching(/^CustomCDKBucketDeployment/), expect.stringMatching(/^AWS679f53fac/)]);
    for (const [, role] of roles) expect(flat(stack, role.Properties.PermissionsBoundary)).toMatch(/^arn:<AWS::Partition>:iam::(111111111111|<AWS::AccountId>):policy\/MLPlatformBoundary$/);
    const product = JSON.parse(fs.readFileSync(path.join(app.synth().directory, template.templateFile), 'utf-8'));
    const productRoles = Object.values<any>(product.Resources).filter(r => r.Type === 'AWS::IAM::Role');
    expect(productRoles.length).toBeGreaterThan(3);
    for (const role of productRoles) expect(JSON.stringify(role.Properties.PermissionsBoundary)).toContain(boundary);
    const permissions = policyOf(t, 'TemplatesLaunchRoleDefaultPolicy').find(s => s.Sid === 'ProjectRolePermissions');
    expect(flat(stack, permissions.Condition.StringEquals['iam:PermissionsBoundary'])).toContain(boundary);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('no permissionsBoundaryPolicyName'))).toEqual([]);
  });

  test('a given launch role is used as it is, and passed by the principals', () => {
    const stack = newStack();
    const launchRole = iam.Role.fromRoleArn(stack, 'Launch', 'arn:aws:iam::111111111111:role/service-role/my-launch-role');
    const templates = new ProjectTemplateBucket(stack, 'Templates', { launchRole });
    templates.addTemplate(lightTemplate(templates, 'Light'));
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::IAM::Role', 1); // the AwsCustomResource function's
    expect(templates.launchRole).toBe(launchRole);
    const pass = policyOf(t, 'TemplatesAccessPolicy').find(s => s.Sid === 'PassLaunchRole');
    expect(pass.Resource).toBe('arn:aws:iam::111111111111:role/service-role/my-launch-role');
  });
});

describe('principals', () => {
  test('roles, users and groups given replace the SSM parameter', () => {
    const stack = newStack();
    const role = iam.Role.fromRoleArn(stack, 'Studio', 'arn:aws:iam::111111111111:role/service-role/AmazonSageMaker-ExecutionRole-1');
    const user = iam.User.fromUserName(stack, 'User', 'alice');
    const group = iam.Group.fromGroupName(stack, 'Group', 'data-scientists');
    new ProjectTemplateBucket(stack, 'Templates', { roles: [role], users: [user], groups: [group] });
    const t = Template.fromStack(stack);
    expect(t.toJSON().Parameters.TemplateBucketExecutionRoleArn).toBeUndefined();
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('^TemplatesAccessPolicy'),
      Roles: ['AmazonSageMaker-ExecutionRole-1'],
      Users: ['alice'],
      Groups: ['data-scientists'],
    });
  });

  test('a portfolio and a template bucket in one stack have a parameter each', () => {
    const stack = newStack();
    new ProjectPortfolio(stack, 'Portfolio');
    new ProjectTemplateBucket(stack, 'Templates', { executionRoleParameterName: '/mlops/role/studio' });
    new ProjectTemplateBucket(stack, 'MoreTemplates', { bucketName: 'more-templates-111111111111' });
    const parameters = Template.fromStack(stack).toJSON().Parameters;
    expect(parameters.ExecutionRoleArn.Default).toBe('/mlops/role/lead');
    expect(parameters.TemplateBucketExecutionRoleArn.Default).toBe('/mlops/role/studio');
    expect(Object.keys(parameters)).toContainEqual(expect.stringMatching(/^TemplatesMoreTemplates[0-9A-F]{8}TemplateBucketExecutionRoleArn$/));
  });
});

describe('domains', () => {
  const stack = newStack();
  const templates = new ProjectTemplateBucket(stack, 'Templates', { domainArns: [DOMAIN, OTHER_DOMAIN], prefix: 'ml/templates' });
  const t = Template.fromStack(stack);
  const bucketId = logicalIdOf(templates.bucket);

  test('each domain is tagged with the templates\' location on create and update, and the tag removed on delete', () => {
    for (const [index, domain] of [DOMAIN, OTHER_DOMAIN].entries()) {
      const calls = sdkCalls(stack, t, `DomainTag${index}`);
      const tag = {
        service: 'SageMaker',
        action: 'addTags',
        parameters: { ResourceArn: domain, Tags: [{ Key: 'sagemaker:projectS3TemplatesLocation', Value: `s3://<${bucketId}>/ml/templates/` }] },
        physicalResourceId: { id: domain },
      };
      expect(calls.create).toEqual(tag);
      expect(calls.update).toEqual(tag);
      expect(calls.delete).toEqual({
        service: 'SageMaker',
        action: 'deleteTags',
        parameters: { ResourceArn: domain, TagKeys: ['sagemaker:projectS3TemplatesLocation'] },
        ignoreErrorCodesMatching: 'ResourceNotFound',
      });
    }
    t.hasResourceProperties('Custom::AWS', { InstallLatestAwsSdk: false });
  });

  test('the custom resources may tag exactly those domains', () => {
    for (const [index, domain] of [DOMAIN, OTHER_DOMAIN].entries()) {
      expect(policyOf(t, `DomainTag${index}CustomResourcePolicy`)).toEqual([
        { Effect: 'Allow', Action: ['sagemaker:AddTags', 'sagemaker:DeleteTags'], Resource: domain },
      ]);
    }
  });

  test('no location output when domains are tagged; the prefix gets its trailing /', () => {
    const outputs = Object.values<any>(t.toJSON().Outputs);
    expect(outputs.filter(o => /projectS3TemplatesLocation/.test(o.Description))).toEqual([]);
    expect(templates.prefix).toBe('ml/templates/');
    expect(flat(stack, templates.templatesLocation)).toBe(`s3://<${bucketId}>/ml/templates/`);
  });
});

describe('versions', () => {
  function publish(versionName: string): { stack: Stack; t: Template } {
    const stack = newStack();
    const templates = new ProjectTemplateBucket(stack, 'Templates', { domainArns: [DOMAIN] });
    templates.addTemplate(lightTemplate(templates, 'Light'), { templateName: 'light', versionName });
    return { stack, t: Template.fromStack(stack) };
  }

  test('each version is its own resource, so deploying another version deletes the one before, which hides its object from Studio', () => {
    const v1 = publish('v1');
    const v2 = publish('v2');
    const first = sdkCalls(v1.stack, v1.t, 'Templatelight');
    const second = sdkCalls(v2.stack, v2.t, 'Templatelight');
    expect(first.logicalId).not.toBe(second.logicalId);
    expect(first.logicalId).toMatch(/^TemplatesTemplatelightv1[0-9A-F]{8}$/);
    expect(Object.keys(v2.t.toJSON().Resources)).not.toContain(first.logicalId);
    expect(first.create.parameters.Key).toBe('templates/light-v1.yaml');
    expect(second.create.parameters.Key).toBe('templates/light-v2.yaml');
    // The object stays (projects made from it keep working), marked invisible to Studio.
    expect(first.delete).toEqual({
      service: 'S3',
      action: 'putObjectTagging',
      parameters: { Bucket: expect.any(String), Key: 'templates/light-v1.yaml', Tagging: { TagSet: [{ Key: 'sagemaker:studio-visibility', Value: 'false' }] } },
      ignoreErrorCodesMatching: 'NoSuchKey',
    });
  });
});

describe('a template published both ways', () => {
  test('a template of a portfolio is published from the same synthesized template, and the launch role reads the portfolio\'s seed code', () => {
    const app = testApp();
    const stack = newStack(app);
    const portfolio = new ProjectPortfolio(stack, 'Portfolio');
    const templates = new ProjectTemplateBucket(stack, 'Templates');
    const basic = new BasicProjectTemplate(portfolio, 'Basic', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-west-1' });
    portfolio.addTemplate(basic, { snapshotDirectory: tempDir('snapshots') });
    templates.addTemplate(basic);
    const t = Template.fromStack(stack);
    const product = Object.values<any>(t.findResources('AWS::ServiceCatalog::CloudFormationProduct'))[0];
    const productUrl = flat(stack, product.Properties.ProvisioningArtifactParameters[0].Info.LoadTemplateFromURL);
    const copySource = sdkCalls(stack, t, 'Template').create.parameters.CopySource;
    expect(productUrl).toBe(`https://s3.eu-west-1.\${AWS::URLSuffix}/${copySource}`);
    const read = policyOf(t, 'TemplatesLaunchRoleDefaultPolicy').find(s => s.Sid === 'ReadSeedCode1');
    expect(read.Action).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    expect(flat(stack, read.Resource)).toBe(`<${logicalIdOf(portfolio.assetBucket)}.Arn>/*`);
  });
});

describe('a bucket of the user', () => {
  test('a bucket of the app gets the CORS rule', () => {
    const stack = newStack();
    const bucket = new s3.Bucket(stack, 'Mine', { bucketName: 'my-templates-111111111111' });
    const templates = new ProjectTemplateBucket(stack, 'Templates', { bucket });
    expect(templates.bucket).toBe(bucket);
    expect(templates.accessLogsBucket).toBeUndefined();
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::S3::Bucket', 1);
    t.hasResourceProperties('AWS::S3::Bucket', { CorsConfiguration: { CorsRules: [Match.objectLike({ AllowedOrigins: ['https://*.sagemaker.aws'] })] } });
  });

  test('an imported bucket gets a warning that says which CORS rule to add', () => {
    const stack = newStack();
    new ProjectTemplateBucket(stack, 'Templates', { bucket: s3.Bucket.fromBucketName(stack, 'Imported', 'my-templates') });
    Annotations.fromStack(stack).hasWarning('/Templates/Templates', Match.stringLikeRegexp('allow origins https://\\*\\.sagemaker\\.aws'));
  });
});

describe('bad input is refused at synth time', () => {
  const cases: Array<[string, (stack: Stack) => void, RegExp]> = [
    ['an empty prefix', s => new ProjectTemplateBucket(s, 'T', { prefix: '' }), /prefix '' is empty/],
    ['a prefix of /', s => new ProjectTemplateBucket(s, 'T', { prefix: '/' }), /prefix '\/' is empty/],
    ['a leading /', s => new ProjectTemplateBucket(s, 'T', { prefix: '/templates/' }), /starts with '\/'.*'templates\/'/],
    ['a prefix with an empty folder', s => new ProjectTemplateBucket(s, 'T', { prefix: 'a//b/' }), /prefix 'a\/\/b\/' is invalid/],
    ['a domain that is no ARN', s => new ProjectTemplateBucket(s, 'T', { domainArns: ['d-abcdefghijkl'] }), /domainArns\[0\] 'd-abcdefghijkl' is not the ARN of a SageMaker domain/],
    ['a domain of another region', s => new ProjectTemplateBucket(s, 'T', { domainArns: ['arn:aws:sagemaker:us-east-1:111111111111:domain/d-abcdefghijkl'] }), /account 111111111111 in us-east-1/],
    ['a domain listed twice', s => new ProjectTemplateBucket(s, 'T', { domainArns: [DOMAIN, DOMAIN] }), /lists '.*' twice/],
    ['a malformed boundary', s => new ProjectTemplateBucket(s, 'T', { permissionsBoundaryPolicyName: 'arn:aws:iam::111111111111:policy/B' }), /not a customer managed policy name/],
    ['bucket and bucketName', s => new ProjectTemplateBucket(s, 'T', { bucket: s3.Bucket.fromBucketName(s, 'B', 'b-1'), bucketName: 'b-2' }), /bucketName 'b-2' names a bucket to create, but bucket is given too/],
    ['a bad bucketName', s => new ProjectTemplateBucket(s, 'T', { bucketName: 'My_Bucket' }), /bucketName 'My_Bucket' is not an S3 bucket name/],
    ['a bucket of the app without a name', s => new ProjectTemplateBucket(s, 'T', { bucket: new s3.Bucket(s, 'B') }), /has no bucketName known at synth time/],
    ['launchRole and launchRoleName', s => new ProjectTemplateBucket(s, 'T', { launchRole: iam.Role.fromRoleName(s, 'R', 'r'), launchRoleName: 'x' }), /launchRoleName 'x' names a role to create, but launchRole is given too/],
    ['a bad execution role parameter', s => new ProjectTemplateBucket(s, 'T', { executionRoleParameterName: 'no spaces allowed' }), /executionRoleParameterName/],
    ['a duplicate template name', s => {
      const templates = new ProjectTemplateBucket(s, 'T');
      templates.addTemplate(lightTemplate(templates, 'A'), { templateName: 'same' });
      templates.addTemplate(lightTemplate(templates, 'B'), { templateName: 'same' });
    }, /template '.*\/A' is already published as 'templates\/same-v.*\.yaml'; give one of them another templateName/],
    ['the same template twice', s => {
      const templates = new ProjectTemplateBucket(s, 'T');
      const template = lightTemplate(templates, 'A');
      templates.addTemplate(template, { versionName: 'v1' });
      templates.addTemplate(template, { versionName: 'v2' });
    }, /already published in this bucket/],
    ['a bad version name', s => {
      const templates = new ProjectTemplateBucket(s, 'T');
      templates.addTemplate(lightTemplate(templates, 'A'), { versionName: 'v 1' });
    }, /versionName 'v 1' is invalid/],
    ['a bad template name', s => {
      const templates = new ProjectTemplateBucket(s, 'T');
      templates.addTemplate(lightTemplate(templates, 'A'), { templateName: 'a/b' });
    }, /templateName 'a\/b' is invalid/],
  ];
  test.each(cases)('%s', (_, make, message) => {
    expect(() => make(newStack())).toThrow(message);
  });

  test('a stack without account and region, and no bucketName', () => {
    const stack = new Stack(testApp(), 'Agnostic');
    expect(() => new ProjectTemplateBucket(stack, 'T')).toThrow(/has no account and region.*pass bucketName/);
    expect(() => new ProjectTemplateBucket(stack, 'U', { bucketName: 'templates-bucket-1' })).not.toThrow();
  });

  test('a template added to a portfolio and to a template bucket of two different stacks', () => {
    const app = testApp();
    const portfolio = new ProjectPortfolio(newStack(app, 'Portfolio'), 'Portfolio');
    const templates = new ProjectTemplateBucket(newStack(app, 'S3Templates'), 'Templates');
    const template = lightTemplate(portfolio, 'Light');
    portfolio.addTemplate(template, { snapshotDirectory: tempDir('snapshots') });
    expect(() => templates.addTemplate(template)).toThrow(/belongs to stack 'Portfolio'.*this bucket is in stack 'S3Templates'/);
  });

  test('a template of the bucket added to a portfolio, whose launch role cannot read its seed code', () => {
    const stack = newStack();
    const portfolio = new ProjectPortfolio(stack, 'Portfolio');
    const templates = new ProjectTemplateBucket(stack, 'Templates');
    const template = new DynamicAccountsProjectTemplate(templates, 'Dynamic');
    templates.addTemplate(template);
    expect(() => portfolio.addTemplate(template, { snapshotDirectory: tempDir('snapshots') })).toThrow(/is published through 'Templates\/Templates', whose asset bucket holds its seed code/);
  });
});

describe('cdk-nag', () => {
  function nagFindings(app: App): string[] {
    Aspects.of(app).add(new AwsSolutionsChecks());
    app.synth();
    return app.node.findAll().flatMap(c => c.node.metadata
      .filter(m => (m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning') && String(m.data).startsWith('AwsSolutions-'))
      .map(m => `${c.node.path}: ${/^AwsSolutions-[A-Z0-9]+(\[[^\]]*\])?/.exec(String(m.data))?.[0]}`));
  }

  function bothWays(permissionsBoundaryPolicyName?: string): App {
    const app = new App({ outdir: tempDir('nag') });
    const stack = newStack(app);
    const portfolio = new ProjectPortfolio(stack, 'Portfolio', { permissionsBoundaryPolicyName });
    const templates = new ProjectTemplateBucket(stack, 'Templates', { domainArns: [DOMAIN], permissionsBoundaryPolicyName });
    const snapshots = { snapshotDirectory: tempDir('snapshots') };
    const dynamic = new DynamicAccountsProjectTemplate(portfolio, 'Dynamic');
    portfolio.addTemplate(dynamic, snapshots);
    templates.addTemplate(dynamic);
    templates.addTemplate(new BasicProjectTemplate(templates, 'Basic', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-west-1' }));
    templates.addTemplate(new MLOpsProjectTemplate(templates, 'GitHub', {
      sourceRepository: SourceRepository.codeConnection({
        provider: GitProvider.GITHUB,
        tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf',
      }),
    }));
    return app;
  }

  test('a template bucket next to a portfolio, publishing templates of both and a git provider template, passes AwsSolutions', () => {
    expect(nagFindings(bothWays())).toEqual([]);
    expect(nagFindings(bothWays('MLPlatformBoundary'))).toEqual([]);
  });

  test('a template bucket alone, with its own bucket and the default principal, passes AwsSolutions', () => {
    const app = new App({ outdir: tempDir('nag') });
    const stack = newStack(app);
    const templates = new ProjectTemplateBucket(stack, 'Templates');
    templates.addTemplate(new DynamicAccountsProjectTemplate(templates, 'Dynamic'));
    expect(nagFindings(app)).toEqual([]);
  });

  test('every suppression is listed, with its reason, in the README\'s cdk-nag suppressions table', () => {
    const app = bothWays();
    nagFindings(app);
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
    const table = readme.slice(readme.indexOf('### cdk-nag suppressions'), readme.indexOf('\n## ', readme.indexOf('### cdk-nag suppressions')));
    const all = app.node.findAll()
      .filter((c): c is CfnResource => c instanceof CfnResource)
      .flatMap(c => (c.getMetadata('cdk_nag')?.rules_to_suppress ?? []).map((s: any) => ({ rule: s.id, reason: s.reason })));
    expect(all.length).toBeGreaterThan(10);
    for (const { rule, reason } of all) {
      expect({ rule, reason, listed: table.includes(`| ${rule} |`) && table.includes(reason) }).toEqual({ rule, reason, listed: true });
    }
  });
});
