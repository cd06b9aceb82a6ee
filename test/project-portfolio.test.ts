import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BundledSeedApp, DynamicAccountsProjectTemplate, MLOpsProjectTemplate, ProjectPortfolio, SeedCode } from '../src';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf-8')).version;

function tmpSnapshots(): string {
  return tempDir('snapshots');
}

function newStack(): Stack {
  return new Stack(testApp(), 'Portfolio', { env: ENV });
}

/** A light template: seed code from SSM keeps the parent stack free of asset copies. */
function lightTemplate(portfolio: ProjectPortfolio, id: string): MLOpsProjectTemplate {
  return new MLOpsProjectTemplate(portfolio, id, {
    productName: `Template ${id}`,
    stages: [{ name: 'dev' }],
    buildSeedCode: SeedCode.fromSsmParameters('/mlops/code/build'),
    deploySeedCode: SeedCode.fromSsmParameters('/mlops/code/deploy'),
  });
}

describe('ProjectPortfolio with defaults', () => {
  const stack = newStack();
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const snapshotDirectory = tmpSnapshots();
  const template = new DynamicAccountsProjectTemplate(portfolio, 'Dynamic');
  portfolio.addTemplate(template, {
    supportEmail: 'ml-platform@example.com',
    supportUrl: 'https://wiki.example.com/ml',
    supportDescription: 'Ask the ML platform team',
    distributor: 'Platform',
    snapshotDirectory,
  });
  const t = Template.fromStack(stack);

  test('has the original system\'s portfolio name and provider', () => {
    t.hasResourceProperties('AWS::ServiceCatalog::Portfolio', {
      DisplayName: 'SageMaker Organization Templates',
      ProviderName: 'administrator',
    });
  });

  test('gives access to the role in the SSM parameter /mlops/role/lead through ExecutionRoleArn', () => {
    t.hasParameter('ExecutionRoleArn', { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/mlops/role/lead' });
    t.hasResourceProperties('AWS::ServiceCatalog::PortfolioPrincipalAssociation', {
      PortfolioId: { Ref: Match.stringLikeRegexp('Portfolio') },
      PrincipalARN: { Ref: 'ExecutionRoleArn' },
      PrincipalType: 'IAM',
    });
  });

  test('makes a product visible in SageMaker Studio with its support details and version', () => {
    t.hasResourceProperties('AWS::ServiceCatalog::CloudFormationProduct', {
      Name: 'Dynamic Accounts MLOps template for real-time deployment',
      Owner: 'administrator',
      Distributor: 'Platform',
      SupportEmail: 'ml-platform@example.com',
      SupportUrl: 'https://wiki.example.com/ml',
      SupportDescription: 'Ask the ML platform team',
      ProvisioningArtifactParameters: [Match.objectLike({ Name: `v${VERSION}` })],
      Tags: Match.arrayWith([{ Key: 'sagemaker:studio-visibility', Value: 'true' }]),
    });
  });

  test('associates the product with the portfolio under a launch role constraint', () => {
    const products = t.findResources('AWS::ServiceCatalog::CloudFormationProduct');
    const productId = Object.keys(products)[0];
    t.hasResourceProperties('AWS::ServiceCatalog::PortfolioProductAssociation', { ProductId: { Ref: productId } });
    t.hasResourceProperties('AWS::ServiceCatalog::LaunchRoleConstraint', {
      ProductId: { Ref: productId },
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('LaunchRole'), 'Arn'] },
    });
  });

  test('the launch role is for Service Catalog, under /service-role/, with no managed policy', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      Path: '/service-role/',
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'servicecatalog.amazonaws.com' } }] },
      ManagedPolicyArns: Match.absent(),
    });
  });

  test('the launch role passes and manages only the roles under the library\'s path', () => {
    const statements = launchRoleStatements(t);
    const pass = statements.find(s => s.Sid === 'PassProjectRoles');
    expect(pass.Action).toBe('iam:PassRole');
    expect(JSON.stringify(pass.Resource)).toContain(':role/sagemaker-project-templates/*');
    expect(pass.Condition.StringEquals['iam:PassedToService']).toEqual(
      ['codebuild.amazonaws.com', 'codepipeline.amazonaws.com', 'events.amazonaws.com', 'sagemaker.amazonaws.com']);
    const roles = statements.find(s => s.Sid === 'ProjectRoles');
    expect(JSON.stringify(roles.Resource)).toContain(':role/sagemaker-project-templates/*');
    expect(roles.Action).not.toContain('iam:AttachRolePolicy');
  });

  test('the launch role has no wildcard action and uses * only where AWS takes no resource', () => {
    const statements = launchRoleStatements(t);
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) {
        expect(action).not.toMatch(/\*/);
      }
      if (statement.Resource === '*') {
        expect([statement.Action].flat().sort()).toEqual(
          ({
            CreateProjectKey: ['kms:CreateKey'],
            ListRepositories: ['codecommit:ListRepositories'],
            // SNS subscriptions: IAM's reference lists no resource type for these.
            ProjectNotificationSubscriptions: ['sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes', 'sns:Unsubscribe'],
          } as any)[statement.Sid]
            ?? ['cloudformation:GetTemplateSummary', 'cloudformation:ValidateTemplate']);
      }
    }
    expect(statements.map(s => s.Sid)).toEqual([
      'ProductStacks', 'ValidateTemplates', 'ReadTemplatesAndSeedCode', 'ProjectRoles', 'PassProjectRoles', 'ProjectBuckets',
      'CreateProjectKey', 'CreateProjectKeysAndRepositories', 'ProjectKeysAndRepositories', 'ReadKeysManageAliases', 'ListRepositories',
      'ProjectBuilds', 'ProjectPipelines', 'ProjectEventRules', 'ProjectParameters', 'KeepPlatformParameters', 'ProjectModelRegistry',
      'ProjectNotificationTopics', 'ProjectNotificationSubscriptions', 'ProjectContainerRepositories',
    ]);
    const buckets = statements.find(s => s.Sid === 'ProjectBuckets');
    expect(JSON.stringify(buckets.Resource)).toContain(':s3:::mlops-*');
  });

  test('the launch role\'s policy is exactly this', () => {
    const readable = (r: any) => (typeof r === 'string' ? r : r['Fn::Join'][1].map((part: any) =>
      (typeof part === 'string' ? part : part.Ref ? `<${part.Ref.replace('AWS::', '')}>` : `<${part['Fn::GetAtt'].join('.')}>`)).join(''));
    const exact = Object.fromEntries(launchRoleStatements(t).map(s => [s.Sid, {
      actions: [s.Action].flat(),
      resources: [s.Resource].flat().map(readable),
    }]));
    const own = (service: string, resource: string) => `arn:<Partition>:${service}:<Region>:<AccountId>:${resource}`;
    const projectRoles = ['arn:<Partition>:iam::<AccountId>:role/sagemaker-project-templates/*'];
    expect(exact).toEqual({
      ProductStacks: {
        actions: ['cloudformation:CreateStack', 'cloudformation:DeleteStack', 'cloudformation:UpdateStack', 'cloudformation:DescribeStacks',
          'cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResource', 'cloudformation:DescribeStackResources',
          'cloudformation:GetTemplate', 'cloudformation:SetStackPolicy', 'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet',
          'cloudformation:ExecuteChangeSet', 'cloudformation:DeleteChangeSet', 'cloudformation:ListChangeSets',
          'cloudformation:ContinueUpdateRollback', 'cloudformation:TagResource', 'cloudformation:UntagResource'],
        resources: [own('cloudformation', 'stack/SC-*'), own('cloudformation', 'changeSet/*')],
      },
      ValidateTemplates: { actions: ['cloudformation:GetTemplateSummary', 'cloudformation:ValidateTemplate'], resources: ['*'] },
      ReadTemplatesAndSeedCode: {
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [expect.stringMatching(/^<PortfolioAssetBucket[0-9A-F]{8}\.Arn>\/\*$/), 'arn:<Partition>:s3:::cdk-*-assets-<AccountId>-<Region>/*'],
      },
      ProjectRoles: {
        actions: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary',
          'iam:DeleteRolePermissionsBoundary', 'iam:DeleteRole', 'iam:GetRole', 'iam:UpdateRole', 'iam:UpdateRoleDescription',
          'iam:UpdateAssumeRolePolicy', 'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies',
          'iam:DetachRolePolicy', 'iam:TagRole', 'iam:UntagRole', 'iam:ListRoleTags'],
        resources: projectRoles,
      },
      PassProjectRoles: { actions: ['iam:PassRole'], resources: projectRoles },
      ProjectBuckets: {
        actions: ['s3:CreateBucket', 's3:DeleteBucket', 's3:GetBucketLocation', 's3:ListBucket', 's3:GetBucketPolicy', 's3:PutBucketPolicy',
          's3:DeleteBucketPolicy', 's3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration', 's3:GetBucketVersioning',
          's3:PutBucketVersioning', 's3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock', 's3:GetBucketOwnershipControls',
          's3:PutBucketOwnershipControls', 's3:GetBucketTagging', 's3:PutBucketTagging', 's3:GetLifecycleConfiguration',
          's3:PutLifecycleConfiguration', 's3:GetBucketLogging', 's3:PutBucketLogging', 's3:TagResource', 's3:UntagResource'],
        resources: ['arn:<Partition>:s3:::mlops-*-<AccountId>-<Region>'],
      },
      CreateProjectKey: { actions: ['kms:CreateKey'], resources: ['*'] },
      CreateProjectKeysAndRepositories: {
        actions: ['kms:TagResource', 'codecommit:CreateRepository', 'codecommit:TagResource'],
        resources: [own('kms', 'key/*'), own('codecommit', '*')],
      },
      ProjectKeysAndRepositories: {
        actions: ['kms:PutKeyPolicy', 'kms:DisableKeyRotation', 'kms:EnableKey', 'kms:DisableKey', 'kms:UpdateKeyDescription',
          'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'codecommit:DeleteRepository', 'codecommit:GetRepository',
          'codecommit:UpdateRepositoryDescription', 'codecommit:UpdateRepositoryName', 'codecommit:TagResource',
          'codecommit:UntagResource', 'codecommit:ListTagsForResource', 'codecommit:CreateCommit'],
        resources: [own('kms', 'key/*'), own('codecommit', '*')],
      },
      ReadKeysManageAliases: {
        actions: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags', 'kms:EnableKeyRotation',
          'kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias'],
        resources: [own('kms', 'key/*'), own('kms', 'alias/mlops/*')],
      },
      ListRepositories: { actions: ['codecommit:ListRepositories'], resources: ['*'] },
      ProjectBuilds: {
        actions: ['codebuild:CreateProject', 'codebuild:DeleteProject', 'codebuild:UpdateProject', 'codebuild:BatchGetProjects'],
        resources: [own('codebuild', 'project/*')],
      },
      ProjectPipelines: {
        actions: ['codepipeline:CreatePipeline', 'codepipeline:DeletePipeline', 'codepipeline:UpdatePipeline', 'codepipeline:GetPipeline',
          'codepipeline:GetPipelineState', 'codepipeline:TagResource', 'codepipeline:UntagResource', 'codepipeline:ListTagsForResource',
          'codepipeline:StartPipelineExecution'],
        resources: [own('codepipeline', '*')],
      },
      ProjectEventRules: {
        actions: ['events:PutRule', 'events:DeleteRule', 'events:DescribeRule', 'events:EnableRule', 'events:DisableRule', 'events:PutTargets',
          'events:RemoveTargets', 'events:ListTargetsByRule', 'events:TagResource', 'events:UntagResource', 'events:ListTagsForResource'],
        resources: [own('events', 'rule/*')],
      },
      ProjectParameters: {
        actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:GetParameter', 'ssm:GetParameters', 'ssm:AddTagsToResource',
          'ssm:RemoveTagsFromResource', 'ssm:ListTagsForResource'],
        resources: [own('ssm', 'parameter/mlops/*')],
      },
      KeepPlatformParameters: {
        actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource'],
        resources: ['code', 'role'].flatMap(segment => [own('ssm', `parameter/mlops/${segment}`), own('ssm', `parameter/mlops/${segment}/*`)]),
      },
      ProjectModelRegistry: {
        actions: ['sagemaker:CreateModelPackageGroup', 'sagemaker:DeleteModelPackageGroup', 'sagemaker:DescribeModelPackageGroup',
          'sagemaker:PutModelPackageGroupPolicy', 'sagemaker:GetModelPackageGroupPolicy', 'sagemaker:DeleteModelPackageGroupPolicy',
          'sagemaker:AddTags', 'sagemaker:DeleteTags', 'sagemaker:ListTags'],
        resources: [own('sagemaker', 'model-package-group/*')],
      },
      ProjectNotificationTopics: {
        actions: ['sns:CreateTopic', 'sns:DeleteTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes',
          'sns:GetDataProtectionPolicy', 'sns:PutDataProtectionPolicy', 'sns:Subscribe', 'sns:ListSubscriptionsByTopic',
          'sns:TagResource', 'sns:UntagResource', 'sns:ListTagsForResource'],
        resources: [own('sns', 'mlops-*')],
      },
      ProjectNotificationSubscriptions: { actions: ['sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes'], resources: ['*'] },
      ProjectContainerRepositories: {
        actions: ['ecr:CreateRepository', 'ecr:DeleteRepository', 'ecr:DescribeRepositories', 'ecr:SetRepositoryPolicy',
          'ecr:GetRepositoryPolicy', 'ecr:DeleteRepositoryPolicy', 'ecr:PutImageScanningConfiguration', 'ecr:PutImageTagMutability',
          'ecr:PutLifecyclePolicy', 'ecr:GetLifecyclePolicy', 'ecr:DeleteLifecyclePolicy', 'ecr:TagResource', 'ecr:UntagResource',
          'ecr:ListTagsForResource'],
        resources: [own('ecr', 'repository/mlops-*')],
      },
    });
  });

  test('the launch role changes only keys and repositories of projects, and never the platform\'s parameters', () => {
    const bySid = Object.fromEntries(launchRoleStatements(t).map(s => [s.Sid, s]));
    const onProject = { Null: { 'aws:ResourceTag/sagemaker:project-id': 'false' } };
    const creatingProject = { Null: { 'aws:RequestTag/sagemaker:project-id': 'false' } };
    const tagConditions = Object.entries<any>(bySid)
      .filter(([, s]) => s.Condition && !s.Condition.StringEquals)
      .map(([sid, s]) => [sid, s.Condition]);
    expect(Object.fromEntries(tagConditions)).toEqual({
      CreateProjectKey: creatingProject,
      CreateProjectKeysAndRepositories: creatingProject,
      ProjectKeysAndRepositories: onProject,
    });
    expect(bySid.KeepPlatformParameters.Effect).toBe('Deny');
    // No data actions and no grants on keys.
    const kms = launchRoleStatements(t).flatMap(s => [s.Action].flat()).filter((a: string) => a.startsWith('kms:'));
    expect(kms.filter((a: string) => /Decrypt|Encrypt|GenerateDataKey|CreateGrant/.test(a))).toEqual([]);
  });

  test('keeps seed code in a retained, encrypted asset bucket named after account and region', () => {
    t.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        BucketName: 'sagemaker-project-templates-111111111111-eu-west-1',
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('writes a snapshot of the current version', () => {
    expect(fs.readdirSync(snapshotDirectory).filter(f => f.endsWith(`.v${VERSION}.product.template.json`))).toHaveLength(1);
  });
});

function launchRoleStatements(t: Template): any[] {
  const policies = t.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('LaunchRole') }] },
  });
  return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('ProjectPortfolio access', () => {
  test('roles, users, groups and ARNs replace the default SSM parameter', () => {
    const stack = newStack();
    new ProjectPortfolio(stack, 'Portfolio', {
      roles: [iam.Role.fromRoleArn(stack, 'Lead', 'arn:aws:iam::111111111111:role/lead')],
      users: [new iam.User(stack, 'Alice')],
      groups: [new iam.Group(stack, 'DataScientists')],
      principalArns: ['arn:aws:iam::111111111111:role/other'],
    });
    const t = Template.fromStack(stack);
    expect(t.findParameters('ExecutionRoleArn')).toEqual({});
    t.resourceCountIs('AWS::ServiceCatalog::PortfolioPrincipalAssociation', 4);
    t.hasResourceProperties('AWS::ServiceCatalog::PortfolioPrincipalAssociation', { PrincipalARN: 'arn:aws:iam::111111111111:role/other' });
    t.hasResourceProperties('AWS::ServiceCatalog::PortfolioPrincipalAssociation', { PrincipalARN: 'arn:aws:iam::111111111111:role/lead' });
  });

  test('an SSM parameter name of the user\'s choice', () => {
    const stack = newStack();
    new ProjectPortfolio(stack, 'Portfolio', { executionRoleParameterName: '/org/studio/role' });
    Template.fromStack(stack).hasParameter('ExecutionRoleArn', { Default: '/org/studio/role' });
  });

  test('shares with accounts and offers TagOptions', () => {
    const stack = newStack();
    new ProjectPortfolio(stack, 'Portfolio', {
      shareWithAccounts: ['222222222222'],
      tagOptions: { 'cost-center': ['ml-1', 'ml-2'] },
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::ServiceCatalog::PortfolioShare', { AccountId: '222222222222' });
    t.resourceCountIs('AWS::ServiceCatalog::TagOption', 2);
    t.hasResourceProperties('AWS::ServiceCatalog::TagOption', { Key: 'cost-center', Value: 'ml-1' });
    t.resourceCountIs('AWS::ServiceCatalog::TagOptionAssociation', 2);
  });

  test('a launch role name makes the constraints name a local role, for shared accounts', () => {
    const stack = newStack();
    const portfolio = new ProjectPortfolio(stack, 'Portfolio', { launchRoleName: 'SageMakerProjectsLaunch', shareWithAccounts: ['222222222222'] });
    portfolio.addTemplate(lightTemplate(portfolio, 'A'), { snapshotDirectory: tmpSnapshots() });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::IAM::Role', { RoleName: 'SageMakerProjectsLaunch', Path: '/service-role/' });
    t.hasResourceProperties('AWS::ServiceCatalog::LaunchRoleConstraint', { LocalRoleName: { Ref: Match.stringLikeRegexp('^PortfolioLaunchRole') }, RoleArn: Match.absent() });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] } },
        })]),
      },
    });
  });

  test('uses a launch role the user supplies instead of creating one', () => {
    const stack = newStack();
    const launchRole = iam.Role.fromRoleArn(stack, 'Launch', 'arn:aws:iam::111111111111:role/service-role/org-launch');
    const portfolio = new ProjectPortfolio(stack, 'Portfolio', { launchRole });
    portfolio.addTemplate(lightTemplate(portfolio, 'A'), { snapshotDirectory: tmpSnapshots() });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::IAM::Role', 0);
    t.hasResourceProperties('AWS::ServiceCatalog::LaunchRoleConstraint', { RoleArn: 'arn:aws:iam::111111111111:role/service-role/org-launch' });
  });

  test('a permissions boundary applies to the launch role and every role of the templates', () => {
    const stack = newStack();
    const portfolio = new ProjectPortfolio(stack, 'Portfolio', { permissionsBoundaryPolicyName: 'org-boundary' });
    const template = lightTemplate(portfolio, 'A');
    portfolio.addTemplate(template, { snapshotDirectory: tmpSnapshots() });
    const boundary = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:policy/org-boundary']] };
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', { Path: '/service-role/', PermissionsBoundary: boundary });
    const launchStatements = launchRoleStatements(Template.fromStack(stack));
    const boundaryCondition = {
      StringEquals: {
        'iam:PermissionsBoundary': {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':policy/org-boundary']],
        },
      },
    };
    // Only the actions whose requests carry iam:PermissionsBoundary are conditioned on it.
    const permissions = launchStatements.find(s => s.Sid === 'ProjectRolePermissions');
    expect(permissions).toMatchObject({
      Effect: 'Allow',
      Action: ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary'],
      Condition: boundaryCondition,
    });
    const maintenance = launchStatements.find(s => s.Sid === 'ProjectRoles');
    expect(maintenance.Condition).toBeUndefined();
    expect(maintenance.Action).toEqual(expect.arrayContaining(['iam:GetRole', 'iam:DeleteRole', 'iam:TagRole', 'iam:UntagRole']));
    expect(maintenance.Action).not.toContain('iam:CreateRole');
    expect(maintenance.Action).not.toContain('iam:PutRolePolicy');
    expect(maintenance.Action).not.toContain('iam:DeleteRolePermissionsBoundary');
    // The launch role cannot take the boundary off a project role.
    expect(launchStatements.find(s => s.Sid === 'KeepPermissionsBoundary')).toMatchObject({
      Effect: 'Deny', Action: 'iam:DeleteRolePermissionsBoundary',
    });
    const roles = productTemplate(template).findResources('AWS::IAM::Role');
    expect(Object.keys(roles).length).toBeGreaterThan(0);
    for (const role of Object.values<any>(roles)) {
      expect(role.Properties.PermissionsBoundary).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':policy/org-boundary']] });
      expect(role.Properties.Path).toBe('/sagemaker-project-templates/');
    }
  });
});

describe('ProjectPortfolio products and versions', () => {
  test('grows by three resources per product (product, association, launch constraint)', () => {
    const counts = [1, 2, 3].map(n => {
      const stack = newStack();
      const portfolio = new ProjectPortfolio(stack, 'Portfolio');
      for (let i = 0; i < n; i++) portfolio.addTemplate(lightTemplate(portfolio, `T${i}`), { snapshotDirectory: tmpSnapshots() });
      return Object.keys(Template.fromStack(stack).toJSON().Resources).length;
    });
    expect(counts[1] - counts[0]).toBe(3);
    expect(counts[2] - counts[1]).toBe(3);
  });

  test('many templates share one seed code copy into the asset bucket', () => {
    const stack = newStack();
    const portfolio = new ProjectPortfolio(stack, 'Portfolio');
    for (const id of ['A', 'B']) {
      portfolio.addTemplate(new MLOpsProjectTemplate(portfolio, id, { stages: [{ name: 'dev' }], buildSeedCode: SeedCode.fromBundledApp(BundledSeedApp.BUILD_APP) }), { snapshotDirectory: tmpSnapshots() });
    }
    Template.fromStack(stack).resourceCountIs('Custom::CDKBucketDeployment', 1);
    expect(portfolio.products).toHaveLength(2);
  });

  test('keeps every earlier version found in the snapshot directory, and the current one last', () => {
    const snapshotDirectory = tmpSnapshots();
    const make = (versionName: string) => {
      const stack = newStack();
      const portfolio = new ProjectPortfolio(stack, 'Portfolio');
      portfolio.addTemplate(lightTemplate(portfolio, 'A'), { versionName, snapshotDirectory });
      return stack;
    };
    (make('v1.0.0').node.root as App).synth();
    (make('v1.2.0').node.root as App).synth();
    const t = Template.fromStack(make('v1.10.0'));
    t.hasResourceProperties('AWS::ServiceCatalog::CloudFormationProduct', {
      ProvisioningArtifactParameters: [
        Match.objectLike({ Name: 'v1.0.0' }),
        Match.objectLike({ Name: 'v1.2.0' }),
        Match.objectLike({ Name: 'v1.10.0' }),
      ],
    });
  });

  test('a changed template under an existing version name is refused', () => {
    const snapshotDirectory = tmpSnapshots();
    const first = newStack();
    const p1 = new ProjectPortfolio(first, 'Portfolio');
    p1.addTemplate(lightTemplate(p1, 'A'), { versionName: 'v1', snapshotDirectory });
    (first.node.root as App).synth();
    const second = newStack();
    const p2 = new ProjectPortfolio(second, 'Portfolio');
    const changed = new MLOpsProjectTemplate(p2, 'A', {
      productName: 'Template A',
      stages: [{ name: 'dev' }, { name: 'qa' }],
      buildSeedCode: SeedCode.fromSsmParameters('/mlops/code/build'),
      deploySeedCode: SeedCode.fromSsmParameters('/mlops/code/deploy'),
    });
    p2.addTemplate(changed, { versionName: 'v1', snapshotDirectory });
    expect(() => (second.node.root as App).synth()).toThrow(/Template has changed for ProductStack Version v1/);
  });
});

describe('ProjectPortfolio rejects bad input', () => {
  const cases: [string, () => void, RegExp][] = [
    ['providerName too long', () => new ProjectPortfolio(newStack(), 'P', { providerName: 'x'.repeat(51) }), /providerName 'x{51}' has 51 characters; use 1-50/],
    ['share account malformed', () => new ProjectPortfolio(newStack(), 'P', { shareWithAccounts: ['12345'] }), /shareWithAccounts contains '12345'.*12 digits/],
    ['support email', () => {
      const p = new ProjectPortfolio(newStack(), 'P');
      p.addTemplate(lightTemplate(p, 'A'), { supportEmail: 'not-an-email' });
    }, /supportEmail 'not-an-email' is not an email address/],
    ['support url', () => {
      const p = new ProjectPortfolio(newStack(), 'P');
      p.addTemplate(lightTemplate(p, 'A'), { supportUrl: 'wiki/ml' });
    }, /supportUrl 'wiki\/ml' is not a URL/],
    ['version name', () => {
      const p = new ProjectPortfolio(newStack(), 'P');
      p.addTemplate(lightTemplate(p, 'A'), { versionName: 'v 1' });
    }, /versionName 'v 1' is invalid/],
  ];
  test.each(cases)('%s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});

describe('sharing with organizational units', () => {
  const stack = newStack();
  const portfolio = new ProjectPortfolio(stack, 'Portfolio', {
    shareWithOrganizationalUnits: ['ou-ab12-cdef3456', 'r-ab12'],
    organizationId: 'o-abcdef1234',
    launchRoleName: 'SageMakerProjectsLaunch',
  });
  portfolio.addTemplate(lightTemplate(portfolio, 'A'), { snapshotDirectory: tmpSnapshots() });
  const t = Template.fromStack(stack);

  test('shares with each node through Service Catalog\'s API, and unshares on delete', () => {
    const shares = Object.values<any>(t.findResources('Custom::AWS'));
    expect(shares).toHaveLength(2);
    const create = JSON.stringify(shares[0].Properties.Create);
    expect(create).toContain('createPortfolioShare');
    expect(create).toContain('ORGANIZATIONAL_UNIT');
    expect(create).toContain('ou-ab12-cdef3456');
    expect(JSON.stringify(shares[0].Properties.Delete)).toContain('deletePortfolioShare');
    expect(JSON.stringify(shares[1].Properties.Create).replace(/\\/g, '')).toContain('"Type":"ORGANIZATION","Value":"o-abcdef1234"');
  });

  test('the share function may share this portfolio only', () => {
    const statements = Object.values<any>(t.findResources('AWS::IAM::Policy'))
      .flatMap(p => p.Properties.PolicyDocument.Statement)
      .filter(s => [s.Action].flat().includes('servicecatalog:CreatePortfolioShare'));
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(JSON.stringify(statement.Resource)).toContain(':portfolio/');
    }
  });

  test('accounts of the organization may read the seed code', () => {
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'OrganizationReadsSeedCode',
          Action: 's3:GetObject',
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdef1234' } },
        })]),
      },
    });
  });

  test('a shared portfolio without a local launch role name is warned about', () => {
    const shared = newStack();
    new ProjectPortfolio(shared, 'Portfolio', { shareWithAccounts: ['222222222222'] });
    Annotations.fromStack(shared).hasWarning('/Portfolio/Portfolio', Match.stringLikeRegexp('set launchRoleName'));
  });

  test.each([
    [{ shareWithOrganizationalUnits: ['ou-1'], organizationId: 'o-abcdef1234' }, /shareWithOrganizationalUnits contains 'ou-1', which is neither/],
    [{ shareWithOrganizationalUnits: ['ou-ab12-cdef3456'] }, /shareWithOrganizationalUnits needs organizationId/],
    [{ shareWithOrganizationalUnits: ['ou-ab12-cdef3456'], organizationId: 'org-1' }, /organizationId 'org-1' is not an organization id/],
  ])('bad organization settings are refused: %j', (props, message) => {
    expect(() => new ProjectPortfolio(newStack(), 'P', props)).toThrow(message);
  });
});

describe('ProjectPortfolio: two in one stack, one per team', () => {
  const stack = newStack();
  const teams = ['TeamA', 'TeamB'].map(team => {
    const portfolio = new ProjectPortfolio(stack, team, { permissionsBoundaryPolicyName: 'org-boundary' });
    portfolio.addTemplate(new DynamicAccountsProjectTemplate(portfolio, 'Dynamic'), { snapshotDirectory: tmpSnapshots() });
    return portfolio;
  });
  const t = Template.fromStack(stack);

  test('each gets its own access parameter; the first keeps the name ExecutionRoleArn', () => {
    const parameters = Object.keys(t.toJSON().Parameters).filter(name => name.endsWith('ExecutionRoleArn'));
    expect(parameters).toEqual(['ExecutionRoleArn', expect.stringMatching(/^PortfolioTeamB[0-9A-F]{8}ExecutionRoleArn$/)]);
    const associations = Object.values<any>(t.findResources('AWS::ServiceCatalog::PortfolioPrincipalAssociation'));
    expect(associations.map(a => a.Properties.PrincipalARN.Ref).sort()).toEqual([...parameters].sort());
  });

  test('each keeps seed code in a bucket of its own', () => {
    const names = teams.map(team => t.toJSON().Resources[stack.getLogicalId(team.assetBucket.node.defaultChild as any)].Properties.BucketName);
    expect(names[0]).toBe('sagemaker-project-templates-111111111111-eu-west-1');
    expect(names[1]).toMatch(/^sagemaker-project-templates-111111111111-eu-west-1-[0-9a-f]{8}$/);
  });

  test('aws-cdk-lib\'s helper roles get the boundary and the suppressions once', () => {
    const helperRoles = Object.entries<any>(t.findResources('AWS::IAM::Role')).filter(([id]) => id.startsWith('CustomCDKBucketDeployment'));
    expect(helperRoles).toHaveLength(1);
    expect(JSON.stringify(helperRoles[0][1].Properties.PermissionsBoundary)).toContain(':policy/org-boundary');
    const rules = helperRoles[0][1].Metadata.cdk_nag.rules_to_suppress.map((r: any) => r.id);
    expect(rules).toEqual([...new Set(rules)]);
  });

  test('portfolios of one stack must agree on the boundary of the helpers they share', () => {
    const other = newStack();
    new ProjectPortfolio(other, 'TeamA', { permissionsBoundaryPolicyName: 'org-boundary' });
    expect(() => new ProjectPortfolio(other, 'TeamB')).toThrow(
      "ProjectPortfolio TeamB: permissionsBoundaryPolicyName none differs from 'org-boundary' of ProjectPortfolio TeamA in the same stack");
  });
});

describe('ProjectPortfolio: permissions boundary names', () => {
  test.each([
    ['', /permissionsBoundaryPolicyName '' is not a customer managed policy name; use 1-128 letters/],
    ['arn:aws:iam::111111111111:policy/org-boundary', /give the policy name after 'policy\/', not the ARN/],
    ['org boundary', /'org boundary' is not a customer managed policy name/],
    ['boundaries//x', /'boundaries\/\/x' is not a customer managed policy name/],
  ])('%j is refused, by the portfolio and by a template', (name, message) => {
    expect(() => new ProjectPortfolio(newStack(), 'P', { permissionsBoundaryPolicyName: name })).toThrow(message);
    const portfolio = new ProjectPortfolio(newStack(), 'P');
    expect(() => new MLOpsProjectTemplate(portfolio, 'T', { permissionsBoundaryPolicyName: name, stages: [{ name: 'dev' }] })).toThrow(message);
  });

  test('a name under a path is accepted', () => {
    const stack = newStack();
    new ProjectPortfolio(stack, 'P', { permissionsBoundaryPolicyName: 'boundaries/ml-projects' });
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Role', {
      PermissionsBoundary: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:policy/boundaries/ml-projects']] },
    });
  });
});
