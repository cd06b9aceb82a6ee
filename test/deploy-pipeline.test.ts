import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CfnParameter, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import { ManualApprovalAction } from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { DeployPipeline, DeployPipelineProps } from '../src/deploy-pipeline';
import { SecurityScan } from '../src/security-scan';
import { evaluateTemplate } from './util/cfn-eval';
import {
  actionsOnAnyResource,
  DEPLOY_SEED,
  environmentNames,
  environmentValue,
  iamStatements,
  logicalId,
  overlyBroadStatements,
  productStack,
  productTemplate,
  projectArtifactBucket,
  projectStack,
  propertiesOf,
  stageLayout,
} from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

const SYNTH_ENVIRONMENT = [
  'ARTIFACT_BUCKET',
  'ARTIFACT_BUCKET_KMS_ID',
  'AWS_REGION',
  // Added to the original variables: names the staging bucket of a stage in another region.
  'BOOTSTRAP_QUALIFIER',
  'DEPLOYMENT_STAGES',
  'MODEL_PACKAGE_GROUP_NAME',
  'PROJECT_ID',
  'PROJECT_NAME',
];

/**
 * `arn:${Partition}:iam::<account>:role/cdk-<qualifier>-<kind>-<account>-<region>` as the template
 * renders it: an `Fn::Sub` (which cfn-lint accepts for an action's `RoleArn`), pseudo parameters
 * inline, other parameters as variables.
 */
function bootstrapRole(kind: 'deploy-role' | 'cfn-exec-role' | 'file-publishing-role', account: string | { Ref: string }, qualifier = 'hnb659fds', region: string | { Ref: string } = { Ref: 'AWS::Region' }) {
  const variables: Record<string, { Ref: string }> = {};
  const part = (name: string, value: string | { Ref: string }) => {
    if (typeof value === 'string') return value;
    if (value.Ref.startsWith('AWS::')) return `\${${value.Ref}}`;
    variables[name] = value;
    return `\${${name}}`;
  };
  const accountPart = part('Account', account);
  const body = `arn:\${AWS::Partition}:iam::${accountPart}:role/cdk-${qualifier}-${kind}-${accountPart}-${part('Region', region)}`;
  return { 'Fn::Sub': Object.keys(variables).length > 0 ? [body, variables] : body };
}

function resourcePolicyStatements(template: Template, type: 'AWS::S3::BucketPolicy' | 'AWS::KMS::Key'): any[] {
  return Object.values(template.findResources(type))
    .flatMap((resource: any) => (resource.Properties.PolicyDocument ?? resource.Properties.KeyPolicy).Statement);
}

/** Whether some statement of the bucket policies (or key policies) lets `principal` do `action`. */
function resourcePolicyAllows(template: Template, type: 'AWS::S3::BucketPolicy' | 'AWS::KMS::Key', principal: unknown, action: string): boolean {
  return resourcePolicyStatements(template, type).some(statement =>
    statement.Effect === 'Allow'
    && [statement.Action].flat().includes(action)
    && JSON.stringify([statement.Principal.AWS].flat()).includes(JSON.stringify(principal)));
}

/** A deploy pipeline of project churn (p-1a2b3c4d5e6f) in a stack of its own; `props` replace the defaults. */
function newDeployPipeline(props: Partial<DeployPipelineProps> = {}, stackId?: string): { stack: Stack; deploy: DeployPipeline } {
  const { stack, artifactBucket } = projectStack(stackId);
  const deploy = new DeployPipeline(stack, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-1a2b3c4d5e6f',
    modelPackageGroupName: 'churn-p-1a2b3c4d5e6f',
    artifactBucket,
    seedCode: DEPLOY_SEED,
    stages: [{ name: 'dev' }, { name: 'prod', account: '333333333333' }],
    ...props,
  });
  return { stack, deploy };
}

describe('DeployPipeline with the original three stages', () => {
  const { stack, artifactBucket } = projectStack();
  const prodAccount = new CfnParameter(stack, 'ProdAccount', { type: 'String' }).valueAsString;
  const deploy = new DeployPipeline(stack, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-1a2b3c4d5e6f',
    modelPackageGroupName: 'churn-p-1a2b3c4d5e6f',
    artifactBucket,
    seedCode: DEPLOY_SEED,
    stages: [{ name: 'dev' }, { name: 'preprod', account: '222222222222', region: 'eu-central-1' }, { name: 'prod', account: prodAccount }],
  });
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, deploy.pipeline);
  const action = (stage: string, name: string) => pipeline.Stages.find((s: any) => s.Name === stage).Actions.find((a: any) => a.Name === name);

  test('stages and actions in order: approvals before PreProd and Prod', () => {
    expect(pipeline.PipelineType).toBe('V2');
    expect(pipeline.Name).toBe('churn-deploy');
    expect(stageLayout(pipeline)).toEqual([
      ['Source', [['CodeCommit', 1]]],
      ['Build', [['Synth', 1], ['SecurityScan', 2]]],
      ['DeployDev', [['Deploy_CFN_Dev', 1]]],
      ['DeployPreProd', [['Approve_PreProd', 1], ['Deploy_CFN_PreProd', 2]]],
      ['DeployProd', [['Approve_Prod', 1], ['Deploy_CFN_Prod', 2]]],
    ]);
    expect(deploy.deployStages.map(stage => stage.stageName)).toEqual(['DeployDev', 'DeployPreProd', 'DeployProd']);
    expect(action('DeployProd', 'Approve_Prod').ActionTypeId).toMatchObject({ Category: 'Approval', Provider: 'Manual' });
  });

  test('the repository is seeded on main and kept when the project is deleted', () => {
    template.hasResource('AWS::CodeCommit::Repository', {
      Properties: { RepositoryName: 'churn-deploy', Code: { BranchName: 'main', S3: { Bucket: 'seed-bucket', Key: 'deploy_app.zip' } } },
      DeletionPolicy: 'Retain',
    });
    expect(action('Source', 'CodeCommit').Configuration).toMatchObject({ BranchName: 'main', PollForSourceChanges: false });
  });

  test('each stage deploys <stage>.template.json of SynthOutput as <project>-deploy-<stage> with the bootstrap roles', () => {
    const expectations: Array<[string, string, string | { Ref: string }]> = [
      ['DeployDev', 'dev', { Ref: 'AWS::AccountId' }],
      ['DeployPreProd', 'preprod', '222222222222'],
      ['DeployProd', 'prod', { Ref: 'ProdAccount' }],
    ];
    for (const [stageName, stage, account] of expectations) {
      const region = { Ref: 'AWS::Region' };
      const pascal = stageName.replace('Deploy', '');
      const deployAction = action(stageName, `Deploy_CFN_${pascal}`);
      if (stage === 'preprod') {
        // A fixed region, the pipeline's unknown: deployed there by the stage deployment project (below).
        expect(deployAction.ActionTypeId).toMatchObject({ Category: 'Build', Provider: 'CodeBuild' });
        continue;
      }
      expect(deployAction.ActionTypeId).toMatchObject({ Category: 'Deploy', Provider: 'CloudFormation' });
      expect(deployAction.InputArtifacts).toEqual([{ Name: 'SynthOutput' }]);
      expect(deployAction.Configuration).toEqual({
        StackName: `churn-deploy-${stage}`,
        ActionMode: 'CREATE_UPDATE',
        TemplatePath: `SynthOutput::${stage}.template.json`,
        Capabilities: 'CAPABILITY_AUTO_EXPAND,CAPABILITY_NAMED_IAM',
        RoleArn: bootstrapRole('cfn-exec-role', account, 'hnb659fds', region),
      });
      expect(deployAction.RoleArn).toEqual(bootstrapRole('deploy-role', account, 'hnb659fds', region));
      // Every stage is deployed from the pipeline's own region (see the `stages` doc comment).
      expect(deployAction.Region).toBeUndefined();
    }
  });

  test('the pipeline role may assume each stage\'s action role', () => {
    const assumable = iamStatements(template)
      .filter(statement => statement.Action === 'sts:AssumeRole')
      .map(statement => statement.Resource);
    for (const account of [{ Ref: 'AWS::AccountId' }, { Ref: 'ProdAccount' }]) {
      expect(assumable).toContainEqual(bootstrapRole('deploy-role', account));
    }
    // The stage in another region: its deploy role and its file publishing role, by the stage deployment build.
    expect(assumable).toContainEqual([
      bootstrapRole('deploy-role', '222222222222', 'hnb659fds', 'eu-central-1'),
      bootstrapRole('file-publishing-role', '222222222222', 'hnb659fds', 'eu-central-1'),
    ]);
  });

  test('the stage roles may read the artifacts and decrypt them, also when the account is a parameter', () => {
    const artifactBucketId = logicalId(deploy.pipeline.artifactBucket);
    expect(pipeline.ArtifactStore).toMatchObject({
      Location: { Ref: artifactBucketId },
      EncryptionKey: { Type: 'KMS', Id: { 'Fn::GetAtt': [logicalId(deploy.pipeline.artifactBucket.encryptionKey!), 'Arn'] } },
    });
    for (const account of [{ Ref: 'AWS::AccountId' }, { Ref: 'ProdAccount' }]) {
      for (const kind of ['deploy-role', 'cfn-exec-role'] as const) {
        const principal = bootstrapRole(kind, account);
        expect(resourcePolicyAllows(template, 'AWS::S3::BucketPolicy', principal, 's3:GetObject*')).toBe(true);
        expect(resourcePolicyAllows(template, 'AWS::KMS::Key', principal, 'kms:Decrypt')).toBe(true);
      }
    }
    // The stage in another region reads nothing: the deployment project hands it the template.
    for (const kind of ['deploy-role', 'cfn-exec-role'] as const) {
      const preProd = bootstrapRole(kind, '222222222222', 'hnb659fds', 'eu-central-1');
      expect(resourcePolicyAllows(template, 'AWS::S3::BucketPolicy', preProd, 's3:GetObject*')).toBe(false);
      expect(resourcePolicyAllows(template, 'AWS::KMS::Key', preProd, 'kms:Decrypt')).toBe(false);
    }
    // Only read: the stages write nothing back.
    for (const statement of resourcePolicyStatements(template, 'AWS::S3::BucketPolicy').filter(s => s.Effect === 'Allow')) {
      expect([statement.Action].flat().filter((a: string) => a.startsWith('s3:Put') || a.startsWith('s3:Delete'))).toEqual([]);
    }
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.resourceCountIs('AWS::KMS::Alias', 0);
  });

  test('the synth build runs buildspec.yml with exactly the original variables, and outputs SynthOutput', () => {
    const synth = propertiesOf(template, deploy.synthProject);
    expect(synth.Source).toEqual({ Type: 'CODEPIPELINE', BuildSpec: 'buildspec.yml' });
    expect(environmentNames(synth)).toEqual(SYNTH_ENVIRONMENT);
    expect(environmentValue(synth, 'DEPLOYMENT_STAGES')).toBe('dev,preprod,prod');
    expect(environmentValue(synth, 'PROJECT_NAME')).toBe('churn');
    expect(environmentValue(synth, 'PROJECT_ID')).toBe('p-1a2b3c4d5e6f');
    expect(environmentValue(synth, 'MODEL_PACKAGE_GROUP_NAME')).toBe('churn-p-1a2b3c4d5e6f');
    expect(environmentValue(synth, 'AWS_REGION')).toEqual({ Ref: 'AWS::Region' });
    expect(environmentValue(synth, 'ARTIFACT_BUCKET')).toEqual({ Ref: logicalId(artifactBucket) });
    expect(environmentValue(synth, 'ARTIFACT_BUCKET_KMS_ID')).toEqual({ 'Fn::GetAtt': [logicalId(artifactBucket.encryptionKey!), 'Arn'] });
    expect(action('Build', 'Synth').OutputArtifacts).toEqual([{ Name: 'SynthOutput' }]);
    expect(deploy.synthOutput.artifactName).toBe('SynthOutput');
  });

  test('the synth build may read the project\'s parameters and the group\'s model packages only', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalId(deploy.synthProject.role!) }] } });
    const statements = iamStatements(template).filter(statement => statement.policy in policies);
    const ssmArn = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter/${name}`]] });
    const sageMakerArn = (name: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${name}`]] });
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
      Resource: [ssmArn('mlops/churn'), ssmArn('mlops/churn/*')],
    }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sagemaker:DescribeModelPackage', Resource: sageMakerArn('model-package/churn-p-1a2b3c4d5e6f/*') }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sagemaker:DescribeModelPackageGroup', Resource: sageMakerArn('model-package-group/churn-p-1a2b3c4d5e6f') }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sagemaker:ListModelPackages', Resource: '*' }));
  });

  test('the security scan installs a pinned checkov and fails on findings in *.template.json', () => {
    const scan = propertiesOf(template, deploy.securityScanProject!);
    expect(action('Build', 'SecurityScan').InputArtifacts).toEqual([{ Name: 'SynthOutput' }]);
    const spec = JSON.parse(scan.Source.BuildSpec);
    expect(spec.phases.install.commands.join('\n')).toMatch(/pip install --quiet 'checkov==\d+\.\d+\.\d+'/);
    const build = spec.phases.build.commands.join('\n');
    expect(build).toContain('*.template.json');
    expect(build).toContain('checkov --framework cloudformation');
    expect(build).not.toMatch(/soft-fail/);
    // The buildspec is valid bash.
    expect(spec.env.shell).toBe('bash');
  });

  test('stage parameters hold each stage\'s account and region, and exist before the pipeline first runs', () => {
    const expected: Array<[string, unknown]> = [
      ['/mlops/churn/dev/account_id', { Ref: 'AWS::AccountId' }],
      ['/mlops/churn/dev/region', { Ref: 'AWS::Region' }],
      ['/mlops/churn/preprod/account_id', '222222222222'],
      ['/mlops/churn/preprod/region', 'eu-central-1'],
      ['/mlops/churn/prod/account_id', { Ref: 'ProdAccount' }],
      ['/mlops/churn/prod/region', { Ref: 'AWS::Region' }],
    ];
    const parameters = template.findResources('AWS::SSM::Parameter');
    expect(Object.values(parameters).map((p: any) => [p.Properties.Name, p.Properties.Value])).toEqual(expected);
    expect(Object.values(parameters).every((p: any) => p.Properties.Type === 'String')).toBe(true);
    expect(deploy.stageParameters).toHaveLength(6);
    const dependsOn = template.toJSON().Resources[logicalId(deploy.pipeline)].DependsOn;
    expect(dependsOn).toEqual(expect.arrayContaining(deploy.stageParameters.map(p => logicalId(p))));
  });

  test('model package approval events of the group start the pipeline', () => {
    const rule = propertiesOf(template, deploy.modelApprovalRule);
    expect(rule.EventPattern).toEqual({
      'source': ['aws.sagemaker'],
      'detail-type': ['SageMaker Model Package State Change'],
      'detail': { ModelPackageGroupName: ['churn-p-1a2b3c4d5e6f'], ModelApprovalStatus: ['Approved', 'Rejected'] },
    });
    expect(rule.Targets).toHaveLength(1);
    expect(JSON.stringify(rule.Targets[0].Arn)).toContain(logicalId(deploy.pipeline));
    const eventsRole = rule.Targets[0].RoleArn['Fn::GetAtt'][0];
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: eventsRole }] } });
    expect(iamStatements(template).filter(s => s.policy in policies)).toEqual([
      expect.objectContaining({ Action: 'codepipeline:StartPipelineExecution', Resource: rule.Targets[0].Arn }),
    ]);
  });

  test('no statement allows every action or passes any role; "*" resources only where AWS has no resource', () => {
    expect(overlyBroadStatements(template)).toEqual([]);
    expect(actionsOnAnyResource(template)).toEqual(['sagemaker:ListModelPackages']);
  });
});

describe('DeployPipeline customised: own roles per stage, an added stage, options', () => {
  const { stack, artifactBucket } = projectStack();
  const deploy = new DeployPipeline(stack, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-1',
    modelPackageGroupName: 'churn-p-1',
    artifactBucket,
    seedCode: DEPLOY_SEED,
    bootstrapQualifier: 'custom1',
    modelApprovalStatuses: ['Approved'],
    securityScan: false,
    publishStageParameters: false,
    repositoryName: 'churn-deploy-code',
    pipelineName: 'churn-cd',
    branch: 'deploy',
    buildImage: codebuild.LinuxBuildImage.STANDARD_6_0,
    environmentVariables: { CDK_DEBUG: 'true' },
    stages: [
      { name: 'dev' },
      {
        name: 'preprod',
        account: '222222222222',
        // DEVELOPER_GUIDE.md: replace the cross-account roles with the organisation's own.
        actionRoleArn: 'arn:aws:iam::222222222222:role/org-deploy-action',
        deploymentRoleArn: 'arn:aws:iam::222222222222:role/org-cfn-exec',
      },
      { name: 'prod', account: '333333333333', requireApproval: false },
      { name: 'eu-prod', account: '444444444444', region: 'eu-west-1' },
    ],
  });
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, deploy.pipeline);

  test('an added stage gets its own pipeline stage; approval follows requireApproval; no scan', () => {
    expect(stageLayout(pipeline)).toEqual([
      ['Source', [['CodeCommit', 1]]],
      ['Build', [['Synth', 1]]],
      ['DeployDev', [['Deploy_CFN_Dev', 1]]],
      ['DeployPreProd', [['Approve_PreProd', 1], ['Deploy_CFN_PreProd', 2]]],
      ['DeployProd', [['Deploy_CFN_Prod', 1]]],
      ['DeployEuProd', [['Approve_EuProd', 1], ['Deploy_CFN_EuProd', 2]]],
    ]);
    expect(deploy.securityScanProject).toBeUndefined();
    expect(pipeline.Name).toBe('churn-cd');
    template.hasResourceProperties('AWS::CodeCommit::Repository', { RepositoryName: 'churn-deploy-code', Code: Match.objectLike({ BranchName: 'deploy' }) });
  });

  test('the replaced roles are used and may read the artifacts; other stages use the qualifier', () => {
    const preProd = pipeline.Stages[3].Actions[1];
    expect(preProd.RoleArn).toBe('arn:aws:iam::222222222222:role/org-deploy-action');
    expect(preProd.Configuration.RoleArn).toBe('arn:aws:iam::222222222222:role/org-cfn-exec');
    for (const role of ['arn:aws:iam::222222222222:role/org-deploy-action', 'arn:aws:iam::222222222222:role/org-cfn-exec']) {
      expect(resourcePolicyAllows(template, 'AWS::S3::BucketPolicy', role, 's3:GetObject*')).toBe(true);
      expect(resourcePolicyAllows(template, 'AWS::KMS::Key', role, 'kms:Decrypt')).toBe(true);
    }
    expect(JSON.stringify(template.toJSON())).not.toContain('cdk-hnb659fds-deploy-role-222222222222');
    expect(pipeline.Stages[4].Actions[0].RoleArn).toEqual(bootstrapRole('deploy-role', '333333333333', 'custom1'));
    // A fixed region, the pipeline's unknown: deployed there through that region's roles of the qualifier.
    const euProd = JSON.stringify(pipeline.Stages[5].Actions[1].Configuration.EnvironmentVariables);
    expect(euProd).toContain('arn:${AWS::Partition}:iam::444444444444:role/cdk-custom1-deploy-role-444444444444-eu-west-1');
    expect(euProd).toContain('churn-deploy-eu-prod');
  });

  test('approval statuses, stage list, extra variables; no stage parameters', () => {
    expect(propertiesOf(template, deploy.modelApprovalRule).EventPattern.detail.ModelApprovalStatus).toEqual(['Approved']);
    const synth = propertiesOf(template, deploy.synthProject);
    expect(environmentValue(synth, 'DEPLOYMENT_STAGES')).toBe('dev,preprod,prod,eu-prod');
    expect(environmentNames(synth)).toEqual([...SYNTH_ENVIRONMENT, 'CDK_DEBUG'].sort());
    expect(synth.Environment.Image).toBe('aws/codebuild/standard:6.0');
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    expect(deploy.stageParameters).toEqual([]);
    expect(overlyBroadStatements(template)).toEqual([]);
  });
});

describe('DeployPipeline in a Service Catalog product stack', () => {
  const { product, artifactBucket, projectName, projectId } = productStack();
  const prodAccount = new CfnParameter(product, 'ProdAccount', { type: 'String', allowedPattern: '^\\d{12}$' }).valueAsString;
  const deploy = new DeployPipeline(product, 'Deploy', {
    projectName,
    projectId,
    modelPackageGroupName: `${projectName}-${projectId}`,
    artifactBucket,
    seedCode: DEPLOY_SEED,
    stages: [{ name: 'dev' }, { name: 'prod', account: prodAccount }],
  });
  const template = productTemplate(product);
  const pipeline = template.findResources('AWS::CodePipeline::Pipeline');
  const stages = (Object.values(pipeline)[0] as any).Properties.Stages;

  test('names come from the project parameters', () => {
    expect(stages[3].Actions[1].Configuration.StackName).toEqual({ 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-deploy-prod']] });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: { 'Fn::Join': ['', ['/mlops/', { Ref: 'SageMakerProjectName' }, '/prod/account_id']] },
      Value: { Ref: 'ProdAccount' },
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: { 'Fn::Join': ['', ['/mlops/', { Ref: 'SageMakerProjectName' }, '/prod/region']] },
      Value: { Ref: 'AWS::Region' },
    });
    expect(deploy.deployStages).toHaveLength(2);
  });

  test('the parameter account\'s roles are assumed and may read the artifacts', () => {
    const actionRole = bootstrapRole('deploy-role', { Ref: 'ProdAccount' });
    const deploymentRole = bootstrapRole('cfn-exec-role', { Ref: 'ProdAccount' });
    expect(stages[3].Actions[1].RoleArn).toEqual(actionRole);
    expect(stages[3].Actions[1].Configuration.RoleArn).toEqual(deploymentRole);
    for (const role of [actionRole, deploymentRole]) {
      expect(resourcePolicyAllows(template, 'AWS::S3::BucketPolicy', role, 's3:GetObject*')).toBe(true);
      expect(resourcePolicyAllows(template, 'AWS::KMS::Key', role, 'kms:Decrypt')).toBe(true);
    }
    expect(overlyBroadStatements(template)).toEqual([]);
  });
});

describe('DeployPipeline whose stage accounts may be the same when the project is created', () => {
  const { product, artifactBucket, projectName, projectId } = productStack();
  const accountParameter = (name: string) => new CfnParameter(product, name, { type: 'String', allowedPattern: '^\\d{12}$' }).valueAsString;
  new DeployPipeline(product, 'Deploy', {
    projectName,
    projectId,
    modelPackageGroupName: `${projectName}-${projectId}`,
    artifactBucket,
    seedCode: DEPLOY_SEED,
    stages: [
      { name: 'dev' },
      { name: 'qa', account: '222222222222' },
      { name: 'preprod', account: accountParameter('PreProdAccount') },
      { name: 'prod', account: accountParameter('ProdAccount') },
    ],
  });
  const template = productTemplate(product).toJSON();
  const OWN = '111111111111';
  const evaluated = (accounts: { PreProdAccount: string; ProdAccount: string }) => evaluateTemplate(template, {
    ...accounts,
    'SageMakerProjectName': 'churn',
    'SageMakerProjectId': 'p-1',
    'AWS::AccountId': OWN,
    'AWS::Region': 'eu-west-1',
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  });
  const roles = (account: string) => ['deploy-role', 'cfn-exec-role'].map(kind => `arn:aws:iam::${account}:role/cdk-hnb659fds-${kind}-${account}-eu-west-1`);

  test.each([
    ['all distinct', { PreProdAccount: '444444444444', ProdAccount: '555555555555' }],
    ['PreProd is Prod', { PreProdAccount: '444444444444', ProdAccount: '444444444444' }],
    ['PreProd is the project account', { PreProdAccount: OWN, ProdAccount: '555555555555' }],
    ['Prod is the fixed QA account', { PreProdAccount: '444444444444', ProdAccount: '222222222222' }],
    ['one account for everything', { PreProdAccount: OWN, ProdAccount: OWN }],
  ])('%s: the artifact bucket and key list each stage role once', (_scenario, accounts) => {
    const resources = evaluated(accounts);
    const expected = [...new Set([OWN, '222222222222', accounts.PreProdAccount, accounts.ProdAccount])].flatMap(roles).sort();
    const statements = Object.values<any>(resources)
      .flatMap(resource => (resource.Properties.PolicyDocument ?? resource.Properties.KeyPolicy)?.Statement ?? [])
      .filter((statement: any) => /^DeploymentStageRoles/.test(statement.Sid ?? ''));
    expect(statements.map((statement: any) => statement.Sid).sort()).toEqual(['DeploymentStageRolesDecryptArtifacts', 'DeploymentStageRolesReadArtifacts']);
    for (const statement of statements) {
      expect([statement.Principal.AWS].flat().sort()).toEqual(expected);
    }
  });

  test('the deploy actions assume the stage roles, rendered so that cfn-lint can check them', () => {
    const resources = evaluated({ PreProdAccount: '444444444444', ProdAccount: '555555555555' });
    const pipeline = Object.values<any>(resources).find(resource => resource.Type === 'AWS::CodePipeline::Pipeline');
    const deployActions = pipeline.Properties.Stages.slice(2).map((stage: any) => stage.Actions.find((action: any) => action.ActionTypeId.Category === 'Deploy'));
    expect(deployActions.map((action: any) => [action.RoleArn, action.Configuration.RoleArn])).toEqual(
      [OWN, '222222222222', '444444444444', '555555555555'].map(roles));
    const rendered = Object.values<any>(template.Resources).find(resource => resource.Type === 'AWS::CodePipeline::Pipeline');
    for (const stage of rendered.Properties.Stages.slice(2)) {
      const action = stage.Actions.find((a: any) => a.ActionTypeId.Category === 'Deploy');
      expect(Object.keys(action.RoleArn)).toEqual(['Fn::Sub']);
      expect(Object.keys(action.Configuration.RoleArn)).toEqual(['Fn::Sub']);
    }
  });

  test('no template rule: every stage deploys in the project\'s region', () => {
    expect(template.Rules).toBeUndefined();
  });
});

describe('DeployPipeline with a stage in another region (issue 18)', () => {
  const app = testApp();
  const stack = new Stack(app, 'Project', { env: { account: '111111111111', region: 'eu-west-1' } });
  const artifactBucket = projectArtifactBucket(stack);
  const deploy = new DeployPipeline(stack, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-1',
    modelPackageGroupName: 'churn-p-1',
    artifactBucket,
    seedCode: DEPLOY_SEED,
    stages: [{ name: 'dev' }, { name: 'local', account: '222222222222', region: 'eu-west-1' }, { name: 'dr', account: '222222222222', region: 'us-east-1' }],
  });
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, deploy.pipeline);
  const action = (stage: string, name: string) => pipeline.Stages.find((s: any) => s.Name === stage).Actions.find((a: any) => a.Name === name);

  test('stages in the pipeline\'s region keep the CloudFormation action; the other region\'s is a CodeBuild deployment there', () => {
    expect(action('DeployLocal', 'Deploy_CFN_Local').ActionTypeId).toMatchObject({ Category: 'Deploy', Provider: 'CloudFormation' });
    const dr = action('DeployDr', 'Deploy_CFN_Dr');
    expect(dr.ActionTypeId).toMatchObject({ Category: 'Build', Provider: 'CodeBuild' });
    expect(dr.InputArtifacts).toEqual([{ Name: 'SynthOutput' }]);
    expect(dr.Region).toBeUndefined();
    expect(dr.Configuration.ProjectName).toEqual({ Ref: logicalId(deploy.stageDeploymentProjects.dr) });
    const variables = JSON.stringify(dr.Configuration.EnvironmentVariables);
    for (const expected of ['STAGE_NAME', '\\"dr\\"', 'STAGE_REGION', '\\"us-east-1\\"', 'STACK_NAME', 'churn-deploy-dr',
      'arn:${AWS::Partition}:iam::222222222222:role/cdk-hnb659fds-deploy-role-222222222222-us-east-1',
      'arn:${AWS::Partition}:iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-us-east-1']) {
      expect(variables).toContain(expected);
    }
  });

  test('the deployment publishes the stage\'s file assets with the pinned cdk-assets, then deploys with the stage region\'s roles', () => {
    const project = propertiesOf(template, deploy.stageDeploymentProjects.dr);
    const spec = JSON.parse(project.Source.BuildSpec);
    expect(spec.phases.install['runtime-versions']).toEqual({ nodejs: 20 });
    const commands: string = spec.phases.build.commands.join('\n');
    const publish = 'if [ -f "$assets" ]; then npx --yes cdk-assets@4.7.3 --path "$assets" publish; fi';
    const assume = 'aws sts assume-role --role-arn "$ACTION_ROLE_ARN"';
    const deployCommand = 'aws cloudformation deploy --region "$STAGE_REGION" --stack-name "$STACK_NAME" --template-file "$template" --role-arn "$DEPLOYMENT_ROLE_ARN"';
    expect(commands).toContain('assets="${STAGE_NAME}.assets.json"');
    // Published with the build's own credentials (the asset commands read the project's artifacts), before the deploy role is assumed.
    expect(commands.indexOf(publish)).toBeGreaterThan(0);
    expect(commands.indexOf(publish)).toBeLessThan(commands.indexOf(assume));
    expect(commands.indexOf(assume)).toBeLessThan(commands.indexOf(deployCommand));
    expect(commands).toContain('51200');
    expect(commands).not.toMatch(/pip install|npm install/);
  });

  describe('its commands, run with stub aws and npx commands that record their calls', () => {
    const spec = JSON.parse(propertiesOf(template, deploy.stageDeploymentProjects.dr).Source.BuildSpec);
    const variables = { STAGE_NAME: 'dr', STAGE_REGION: 'us-east-1', STACK_NAME: 'churn-deploy-dr', ACTION_ROLE_ARN: 'arn:aws:iam::222222222222:role/deploy', DEPLOYMENT_ROLE_ARN: 'arn:aws:iam::222222222222:role/exec' };
    /** Each call: the command, its arguments, and the access key it ran with. */
    const STUB = '#!/usr/bin/env bash\nprintf \'%s\\t%s\\t%s\\n\' "$(basename "$0")" "$*" "${AWS_ACCESS_KEY_ID:-build role}" >> "$CALLS"\n'
      + 'if [ "$1 $2" = "sts assume-role" ]; then printf \'AKIA\\tsecret\\ttoken\\n\'; fi\n';
    function run(files: Record<string, string>): { status: number | null; stderr: string; calls: string[][] } {
      const dir = tempDir('stage-deployment');
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      for (const command of ['aws', 'npx']) fs.writeFileSync(path.join(bin, command), STUB, { mode: 0o755 });
      const work = path.join(dir, 'artifact');
      fs.mkdirSync(work);
      for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(work, name), content);
      const calls = path.join(dir, 'calls.tsv');
      // stdin not a socket (Node's default pipe), which bash would take for a remote shell and read ~/.bashrc.
      const result = spawnSync('bash', ['-c', spec.phases.build.commands.join('\n')], {
        cwd: work,
        encoding: 'utf-8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, CALLS: calls, ...variables },
      });
      const recorded = fs.existsSync(calls) ? fs.readFileSync(calls, 'utf-8').trim().split('\n').map(line => line.split('\t')) : [];
      return { status: result.status, stderr: result.stderr, calls: recorded };
    }

    test('with an asset manifest: publish with the build\'s role, then deploy with the stage\'s deploy role', () => {
      const { status, stderr, calls } = run({ 'dr.template.json': '{"Resources":{}}', 'dr.assets.json': '{"version":"54.0.0","files":{}}' });
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
      expect(calls).toEqual([
        ['npx', '--yes cdk-assets@4.7.3 --path dr.assets.json publish', 'build role'],
        ['aws', 'sts assume-role --role-arn arn:aws:iam::222222222222:role/deploy --role-session-name deploy-dr --query Credentials.[AccessKeyId,SecretAccessKey,SessionToken] --output text', 'build role'],
        ['aws', 'cloudformation deploy --region us-east-1 --stack-name churn-deploy-dr --template-file dr.template.json --role-arn arn:aws:iam::222222222222:role/exec '
          + '--capabilities CAPABILITY_AUTO_EXPAND CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset', 'AKIA'],
      ]);
    });

    test('without one (a stage the deploy app synthesizes without assets): nothing is published', () => {
      const { status, calls } = run({ 'dr.template.json': '{"Resources":{}}' });
      expect(status).toBe(0);
      expect(calls.map(call => call[1].split(' ').slice(0, 2).join(' '))).toEqual(['sts assume-role', 'cloudformation deploy']);
    });

    test('a template over CloudFormation\'s 51,200 bytes for a body stops the build before anything is published or deployed', () => {
      const { status, stderr, calls } = run({ 'dr.template.json': `{"Description":"${'x'.repeat(51200)}"}`, 'dr.assets.json': '{}' });
      expect(status).toBe(1);
      expect(stderr).toContain('dr.template.json has 51218 bytes; a stage deployed by this build takes a template of at most 51,200 bytes');
      expect(stderr).toContain('split the stage\'s stack or make it smaller, or deploy the stage in the project\'s region (leave its region out)');
      expect(calls).toEqual([]);
    });

    test('a failed publication stops the build before the deployment', () => {
      const failing = path.join(tempDir('failing-npx'), 'npx');
      fs.writeFileSync(failing, '#!/usr/bin/env bash\nexit 3\n', { mode: 0o755 });
      const dir = path.dirname(failing);
      const work = tempDir('artifact');
      fs.writeFileSync(path.join(work, 'dr.template.json'), '{}');
      fs.writeFileSync(path.join(work, 'dr.assets.json'), '{}');
      const aws = path.join(dir, 'aws');
      fs.writeFileSync(aws, '#!/usr/bin/env bash\necho called >> "$CALLS"\n', { mode: 0o755 });
      const calls = path.join(dir, 'calls');
      const result = spawnSync('bash', ['-c', spec.phases.build.commands.join('\n')], {
        cwd: work, encoding: 'utf-8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, CALLS: calls, ...variables },
      });
      expect(result.status).toBe(3);
      expect(fs.existsSync(calls)).toBe(false);
    });
  });

  test('the build may assume exactly that stage\'s deploy and file publishing roles, and read and decrypt the model artifacts', () => {
    const assume = iamStatements(template).filter(s => s.Action === 'sts:AssumeRole' && s.policy.includes('StageDeploymentProject'));
    expect(assume.map(s => s.Resource)).toEqual([[
      bootstrapRole('deploy-role', '222222222222', 'hnb659fds', 'us-east-1'),
      bootstrapRole('file-publishing-role', '222222222222', 'hnb659fds', 'us-east-1'),
    ]]);
    const reads = iamStatements(template).filter(s => s.policy.includes('StageDeploymentProject') && ['s3:GetObject', 'kms:Decrypt'].includes(String(s.Action)));
    expect(reads.map(s => [s.Action, s.Resource])).toEqual([
      ['s3:GetObject', { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(artifactBucket), 'Arn'] }, '/*']] }],
      ['kms:Decrypt', { 'Fn::GetAtt': [logicalId(artifactBucket.encryptionKey!), 'Arn'] }],
    ]);
    expect(overlyBroadStatements(template)).toEqual([]);
  });

  test('the synth build learns the bootstrap qualifier that names the staging bucket and roles', () => {
    expect(environmentValue(propertiesOf(template, deploy.synthProject), 'BOOTSTRAP_QUALIFIER')).toBe('hnb659fds');
  });

  test('only the pipeline region\'s stage roles read the pipeline artifacts; no template rule pins a fixed region', () => {
    expect(resourcePolicyAllows(template, 'AWS::S3::BucketPolicy', bootstrapRole('cfn-exec-role', '222222222222', 'hnb659fds', 'eu-west-1'), 's3:GetObject*')).toBe(true);
    expect(resourcePolicyAllows(template, 'AWS::S3::BucketPolicy', bootstrapRole('cfn-exec-role', '222222222222', 'hnb659fds', 'us-east-1'), 's3:GetObject*')).toBe(false);
    // The stage in the pipeline's known region keeps a rule (a product may be launched elsewhere); the other none.
    const { CheckBootstrapVersion: _stackOwnRule, ...rules } = template.toJSON().Rules;
    expect(rules).toEqual({
      LocalStageRegionIsProjectRegion: {
        Assertions: [{
          Assert: { 'Fn::Equals': ['eu-west-1', { Ref: 'AWS::Region' }] },
          AssertDescription: "Stage 'local' of this project deploys to region eu-west-1 by a CloudFormation action of the project's region, "
            + "so the project must be created in eu-west-1: create it there, or leave the stage's region out (the project's own).",
        }],
      },
    });
  });

  test('no warning: the bundled deploy apps deploy such a stage', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('InAnotherRegion'))).toHaveLength(0);
  });
});

describe('DeployPipeline with two stages in other regions: one deployment build each', () => {
  const app = testApp();
  const stack = new Stack(app, 'Project', { env: { account: '111111111111', region: 'eu-west-1' } });
  const deploy = new DeployPipeline(stack, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-1',
    modelPackageGroupName: 'churn-p-1',
    artifactBucket: projectArtifactBucket(stack),
    seedCode: DEPLOY_SEED,
    stages: [
      { name: 'dev' },
      { name: 'preprod', account: '222222222222', region: 'us-east-1' },
      { name: 'prod', account: '333333333333', region: 'us-east-1' },
    ],
  });
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, deploy.pipeline);

  test('each stage\'s action runs its own project', () => {
    expect(Object.keys(deploy.stageDeploymentProjects)).toEqual(['preprod', 'prod']);
    for (const [stage, name] of [['DeployPreProd', 'preprod'], ['DeployProd', 'prod']]) {
      const action = pipeline.Stages.find((s: any) => s.Name === stage).Actions.find((a: any) => a.Name.startsWith('Deploy_CFN_'));
      expect(action.Configuration.ProjectName).toEqual({ Ref: logicalId(deploy.stageDeploymentProjects[name]) });
    }
    // The deprecated single project is the first stage's.
    expect(deploy.stageDeploymentProject).toBe(deploy.stageDeploymentProjects.preprod);
  });

  test('what runs in PREPROD\'s deployment (the deploy repository\'s asset commands) cannot assume PROD\'s roles, which only follow PROD\'s approval', () => {
    const assumable = (stage: string) => iamStatements(template)
      .filter(s => s.Action === 'sts:AssumeRole' && s.policy.startsWith(`DeployStageDeploymentProject${stage}`))
      .map(s => s.Resource);
    expect(assumable('PreProd')).toEqual([[
      bootstrapRole('deploy-role', '222222222222', 'hnb659fds', 'us-east-1'),
      bootstrapRole('file-publishing-role', '222222222222', 'hnb659fds', 'us-east-1'),
    ]]);
    expect(assumable('Prod')).toEqual([[
      bootstrapRole('deploy-role', '333333333333', 'hnb659fds', 'us-east-1'),
      bootstrapRole('file-publishing-role', '333333333333', 'hnb659fds', 'us-east-1'),
    ]]);
    const prodAction = pipeline.Stages.find((s: any) => s.Name === 'DeployProd').Actions;
    expect(prodAction.map((a: any) => [a.Name, a.RunOrder])).toEqual([['Approve_Prod', 1], ['Deploy_CFN_Prod', 2]]);
  });
});

describe('DeployPipeline with a stage region entered at project creation (issue 18)', () => {
  const { product, artifactBucket, projectName, projectId } = productStack();
  const deploy = new DeployPipeline(product, 'Deploy', {
    projectName,
    projectId,
    modelPackageGroupName: `${projectName}-${projectId}`,
    artifactBucket,
    seedCode: DEPLOY_SEED,
    bootstrapQualifier: 'mlops',
    stages: [{ name: 'dev' }, { name: 'prod', accountParameterName: 'ProdAccount', regionParameterName: 'DeploymentRegion' }],
  });
  const template = productTemplate(product);
  const pipeline = (Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any).Properties;
  const prod = pipeline.Stages.find((s: any) => s.Name === 'DeployProd').Actions.find((a: any) => a.Name === 'Deploy_CFN_Prod');

  test('is deployed by the stage deployment build in the region entered, whichever it is: no template rule', () => {
    template.hasParameter('DeploymentRegion', Match.objectLike({ Type: 'String' }));
    expect(prod.ActionTypeId).toMatchObject({ Category: 'Build', Provider: 'CodeBuild' });
    expect(prod.Configuration.ProjectName).toEqual({ Ref: logicalId(deploy.stageDeploymentProjects.prod) });
    const variables = JSON.parse(JSON.stringify(prod.Configuration.EnvironmentVariables));
    const rendered = JSON.stringify(variables);
    expect(rendered).toContain('{\\"name\\":\\"STAGE_REGION\\",\\"type\\":\\"PLAINTEXT\\",\\"value\\":\\"');
    expect(rendered).toContain('"Ref":"DeploymentRegion"');
    expect(rendered).toContain('"Ref":"SageMakerProjectName"');
    expect(template.toJSON().Rules).toBeUndefined();
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: { 'Fn::Join': ['', ['/mlops/', { Ref: 'SageMakerProjectName' }, '/prod/region']] },
      Value: { Ref: 'DeploymentRegion' },
    });
  });

  test('through the entered account\'s bootstrap roles of the entered region, of the given qualifier', () => {
    const region = { Ref: 'DeploymentRegion' };
    const account = { Ref: 'ProdAccount' };
    const assume = iamStatements(template).filter(s => s.Action === 'sts:AssumeRole' && s.policy.includes('StageDeploymentProject'));
    expect(assume.map(s => s.Resource)).toEqual([[
      bootstrapRole('deploy-role', account, 'mlops', region),
      bootstrapRole('file-publishing-role', account, 'mlops', region),
    ]]);
    // Those roles read nothing of the pipeline's: the build hands the template over.
    expect(resourcePolicyAllows(template, 'AWS::S3::BucketPolicy', bootstrapRole('cfn-exec-role', account, 'mlops', region), 's3:GetObject*')).toBe(false);
    expect(environmentValue(propertiesOf(template, deploy.synthProject), 'BOOTSTRAP_QUALIFIER')).toBe('mlops');
  });
});

describe('DeployPipeline rejects bad input', () => {
  const make = (props: Partial<DeployPipelineProps>) => {
    const { stack, artifactBucket } = projectStack();
    return () => new DeployPipeline(stack, 'Deploy', {
      projectName: 'churn',
      projectId: 'p-1',
      modelPackageGroupName: 'churn-p-1',
      artifactBucket,
      seedCode: DEPLOY_SEED,
      stages: [{ name: 'dev' }],
      ...props,
    });
  };

  test('an invalid bootstrap qualifier', () => {
    expect(make({ bootstrapQualifier: 'much-too-long' })).toThrow("bootstrapQualifier 'much-too-long' is invalid; use 1-10 letters, digits, '_' or '-'");
    expect(make({ bootstrapQualifier: 'a.b' })).toThrow("bootstrapQualifier 'a.b' is invalid");
  });

  test('an unknown model approval status', () => {
    expect(make({ modelApprovalStatuses: ['Approved', 'approved'] }))
      .toThrow("modelApprovalStatuses[1] 'approved' is not a model approval status; use Approved, Rejected, PendingManualApproval");
    expect(make({ modelApprovalStatuses: [] })).toThrow('modelApprovalStatuses is empty; give one or more of Approved, Rejected, PendingManualApproval');
  });

  test('no stages, duplicate stages, stages that give the same pipeline stage', () => {
    expect(make({ stages: [] })).toThrow('DeployPipeline: stages is empty; give at least one deployment stage');
    expect(make({ stages: [{ name: 'dev' }, { name: 'dev' }] })).toThrow("stages[1].name 'dev' is used twice; stage names must be unique");
    expect(make({ stages: [{ name: 'dev-1' }, { name: 'dev1' }] }))
      .toThrow("stages 'dev-1' and 'dev1' both become pipeline stage 'DeployDev1'; rename one so that their names differ other than in '-'");
  });

  test('an invalid branch', () => {
    expect(make({ branch: 'a b' })).toThrow("branch 'a b' is not a valid git branch name");
  });

  test('an imported pipeline artifact bucket is accepted (its policies are then the caller\'s to set)', () => {
    const { stack, artifactBucket } = projectStack('Imported');
    const imported = s3.Bucket.fromBucketName(stack, 'Imported', 'pipeline-artifacts');
    expect(() => new DeployPipeline(stack, 'Deploy', {
      projectName: 'churn',
      projectId: 'p-1',
      modelPackageGroupName: 'g',
      artifactBucket,
      seedCode: DEPLOY_SEED,
      stages: [{ name: 'dev' }],
      pipelineArtifactBucket: imported,
    })).not.toThrow();
  });
});

describe('the security scan ignores what the deploy repository could use to silence it', () => {
  /** The scan's install and build commands, run in `dir` with a recording stand-in for checkov (python3 runs the stripper). */
  function runScan(dir: string, skipChecks?: string[]): { status: number | null; stderr: string; record: any } {
    const { stack, artifactBucket } = projectStack();
    const deploy = new DeployPipeline(stack, 'Deploy', {
      projectName: 'churn',
      projectId: 'p-1',
      modelPackageGroupName: 'churn-p-1',
      artifactBucket,
      seedCode: DEPLOY_SEED,
      stages: [{ name: 'dev' }],
      securityScanSkipChecks: skipChecks,
    });
    const spec = JSON.parse(propertiesOf(Template.fromStack(stack), deploy.securityScanProject!).Source.BuildSpec);
    const bin = tempDir('scan-bin');
    fs.writeFileSync(path.join(bin, 'checkov'), [
      '#!/usr/bin/env bash',
      `python3 -c 'import json, os, sys; files = {f: open(f).read() for f in os.listdir(".")}; json.dump({"cwd": os.getcwd(), "args": sys.argv[1:], "files": files}, open("${bin}/record.json", "w"))' "$@"`,
    ].join('\n'), { mode: 0o755 });
    const local = (command: string) => command
      .replace(/\/tmp\/strip_suppressions\.py/g, path.join(bin, 'strip.py'))
      .replace(/\/tmp\/checkov\/bin\/python/g, 'python3')
      .replace(/\/tmp\/checkov\/bin\/checkov/g, path.join(bin, 'checkov'));
    const install = spec.phases.install.commands.filter((c: string) => c.startsWith('printf')).map(local);
    const result = spawnSync('bash', ['-c', [...install, ...spec.phases.build.commands.map(local)].join('\n')], { cwd: dir, encoding: 'utf-8' });
    const recorded = path.join(bin, 'record.json');
    return { status: result.status, stderr: result.stderr, record: fs.existsSync(recorded) ? JSON.parse(fs.readFileSync(recorded, 'utf-8')) : undefined };
  }

  const suppressed = {
    Resources: {
      Model: {
        Type: 'AWS::SageMaker::Model',
        Metadata: { checkov: { skip: [{ id: 'CKV_AWS_370', comment: 'no isolation' }] }, bridgecrew: { skip: [{ id: 'BC_AWS_GENERAL_1' }] }, other: 'kept' },
        Properties: { ExecutionRoleArn: 'arn:aws:iam::111111111111:role/r', Description: 'checkov:skip=CKV_AWS_370: hidden in a string' },
      },
    },
  };

  test('suppressions in the templates are removed, a .checkov.yaml of the synth output is not read', () => {
    const dir = tempDir('synth-output');
    fs.writeFileSync(path.join(dir, 'dev.template.json'), JSON.stringify(suppressed));
    fs.writeFileSync(path.join(dir, '.checkov.yaml'), 'skip-check:\n  - CKV_AWS_370\nsoft-fail: true\n');
    const { status, record, stderr } = runScan(dir);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(record.cwd).not.toBe(fs.realpathSync(dir));
    expect(Object.keys(record.files)).toEqual(['dev.template.json']);
    expect(record.args).toEqual(['--framework', 'cloudformation', '--compact', '--quiet', '--file', 'dev.template.json']);
    const scanned = JSON.parse(record.files['dev.template.json']);
    expect(scanned.Resources.Model.Metadata).toEqual({ other: 'kept' });
    expect(scanned.Resources.Model.Properties.Description).toBe('checkov-skip-ignored=CKV_AWS_370: hidden in a string');
    expect(JSON.stringify(scanned)).not.toMatch(/(checkov|bridgecrew|cortex):skip=/i);
  });

  test('a template that is not JSON fails the scan (CloudFormation would take YAML, with its comments)', () => {
    const dir = tempDir('synth-output');
    fs.writeFileSync(path.join(dir, 'dev.template.json'), 'Resources:\n  Model:  # checkov:skip=CKV_AWS_370\n    Type: AWS::SageMaker::Model\n');
    const { status, record } = runScan(dir);
    expect(status).not.toBe(0);
    expect(record).toBeUndefined();
  });

  test('the platform team skips checks with securityScanSkipChecks', () => {
    const dir = tempDir('synth-output');
    fs.writeFileSync(path.join(dir, 'dev.template.json'), JSON.stringify(suppressed));
    const { status, record } = runScan(dir, ['CKV_AWS_370', 'CKV2_AWS_5']);
    expect(status).toBe(0);
    expect(record.args).toEqual(['--framework', 'cloudformation', '--compact', '--quiet', '--skip-check', 'CKV_AWS_370,CKV2_AWS_5', '--file', 'dev.template.json']);
  });

  test('the stripper holds no single quote, so that printf writes it whole', () => {
    const { stack, artifactBucket } = projectStack();
    const deploy = new DeployPipeline(stack, 'Deploy', { projectName: 'churn', projectId: 'p-1', modelPackageGroupName: 'g', artifactBucket, seedCode: DEPLOY_SEED, stages: [{ name: 'dev' }] });
    const spec = JSON.parse(propertiesOf(Template.fromStack(stack), deploy.securityScanProject!).Source.BuildSpec);
    const printf = spec.phases.install.commands.find((c: string) => c.startsWith('printf'));
    expect(printf).toMatch(/^printf '%s\\n' ('[^']*' )+> \/tmp\/strip_suppressions\.py$/);
  });

  test.each([
    [['ckv_aws_1'], "securityScanSkipChecks[0] 'ckv_aws_1' is not a checkov check id; use ids such as CKV_AWS_123 or CKV2_AWS_5"],
    [['CKV_AWS_1', 'CKV_AWS_1; curl evil'], "securityScanSkipChecks[1] 'CKV_AWS_1; curl evil' is not a checkov check id"],
  ])('refuses securityScanSkipChecks %j', (skipChecks, message) => {
    const { stack, artifactBucket } = projectStack();
    expect(() => new DeployPipeline(stack, 'Deploy', {
      projectName: 'churn', projectId: 'p-1', modelPackageGroupName: 'g', artifactBucket, seedCode: DEPLOY_SEED, stages: [{ name: 'dev' }], securityScanSkipChecks: skipChecks,
    })).toThrow(message);
  });

  test('an organization id that is not one is refused', () => {
    const { stack, artifactBucket } = projectStack();
    expect(() => new DeployPipeline(stack, 'Deploy', {
      projectName: 'churn', projectId: 'p-1', modelPackageGroupName: 'g', artifactBucket, seedCode: DEPLOY_SEED, stages: [{ name: 'dev' }], organizationId: 'o-123',
    })).toThrow("organizationId 'o-123' is not an AWS Organizations id; use the form o-xxxxxxxxxx ('o-' and 10-32 lowercase letters or digits)");
  });
});

describe('a stage that deploys without approval through the default CDK bootstrap', () => {
  const warningsOf = (props: Partial<DeployPipelineProps>) => {
    const { stack, artifactBucket } = projectStack();
    const deploy = new DeployPipeline(stack, 'Deploy', {
      projectName: 'churn',
      projectId: 'p-1',
      modelPackageGroupName: 'g',
      artifactBucket,
      seedCode: DEPLOY_SEED,
      stages: [{ name: 'dev' }, { name: 'prod', account: '333333333333' }],
      ...props,
    });
    return deploy.node.metadata.filter(m => m.type === 'aws:cdk:warning').map(m => String(m.data));
  };

  test('warns: a push to the deploy repository would be an administrator of that account', () => {
    expect(warningsOf({})).toEqual([expect.stringMatching(
      /^Stage 'dev' deploys what the deploy repository synthesizes without approval, through the execution role of the default CDK bootstrap \(qualifier hnb659fds\), which a plain `cdk bootstrap` gives AdministratorAccess\. .*DeploymentTargetPolicy.* \[ack: cdk-sagemaker-project-templates:unapprovedDeploymentWithDefaultBootstrap\]$/)]);
  });

  test.each([
    ['a bootstrap qualifier of its own', { bootstrapQualifier: 'mlops' }],
    ['an approval before every stage', { stages: [{ name: 'dev', requireApproval: true }, { name: 'prod', account: '333333333333' }] }],
    ['an execution role of its own', { stages: [{ name: 'dev', deploymentRoleArn: 'arn:aws:iam::111111111111:role/ml-deploy' }, { name: 'prod', account: '333333333333' }] }],
  ])('no warning with %s', (_name, props) => {
    expect(warningsOf(props as Partial<DeployPipelineProps>)).toEqual([]);
  });
});

describe('DeployPipeline extension points', () => {
  function deployWith(props: Partial<DeployPipelineProps>, extend: (deploy: DeployPipeline) => void = () => {}) {
    const { stack, deploy } = newDeployPipeline(props);
    extend(deploy);
    const template = Template.fromStack(stack);
    return { deploy, template, layout: stageLayout(propertiesOf(template, deploy.pipeline)) };
  }
  const approval = (name: string) => new ManualApprovalAction({ actionName: name, runOrder: 9 });

  test('actions before and after a deployment: after its approval, around its deployment, in call order', () => {
    const { layout } = deployWith({}, deploy => {
      deploy.addActionAfterDeployment('dev', approval('Tests_Dev'));
      deploy.addActionBeforeDeployment('prod', approval('ChangeReport_Prod'));
      deploy.addActionAfterDeployment('prod', approval('Tests_Prod'));
      deploy.addActionAfterDeployment('prod', approval('Announce_Prod'));
    });
    expect(layout).toEqual([
      ['Source', [['CodeCommit', 1]]],
      ['Build', [['Synth', 1], ['SecurityScan', 2]]],
      ['DeployDev', [['Deploy_CFN_Dev', 1], ['Tests_Dev', 2]]],
      ['DeployProd', [['Approve_Prod', 1], ['Deploy_CFN_Prod', 3], ['ChangeReport_Prod', 2], ['Tests_Prod', 4], ['Announce_Prod', 5]]],
    ]);
  });

  test('the deploy repository\'s code is exposed for actions that test with it', () => {
    const { deploy, template } = deployWith({}, d => d.addActionAfterDeployment('dev', new actions.CodeBuildAction({
      actionName: 'Tests_Dev',
      project: new codebuild.PipelineProject(d, 'Tests'),
      input: d.sourceOutput,
    })));
    const dev = propertiesOf(template, deploy.pipeline).Stages.find((s: any) => s.Name === 'DeployDev');
    expect(dev.Actions[1].InputArtifacts).toEqual([{ Name: 'SourceOutput' }]);
  });

  test('an unknown stage name is refused, naming the stages there are', () => {
    expect(() => deployWith({}, d => d.addActionAfterDeployment('staging', approval('X'))))
      .toThrow(/DeployPipeline Project\/Deploy: addActionAfterDeployment: stageName 'staging' is not a deployment stage of the pipeline; use one of 'dev', 'prod'/);
    expect(() => deployWith({}, d => d.addActionBeforeDeployment('Prod', approval('X'))))
      .toThrow(/addActionBeforeDeployment: stageName 'Prod' is not a deployment stage/);
  });

  test('securityScanner: checkov with skipped checks, a build spec of one\'s own, or none', () => {
    const checkov = deployWith({ securityScanner: SecurityScan.checkov({ skipChecks: ['CKV_AWS_117'] }) });
    expect(JSON.stringify(propertiesOf(checkov.template, checkov.deploy.securityScanProject!).Source.BuildSpec)).toContain('--skip-check CKV_AWS_117');

    const own = deployWith({ securityScanner: SecurityScan.fromBuildSpec(codebuild.BuildSpec.fromObject({ version: '0.2', phases: { build: { commands: ['cfn-guard validate'] } } })) });
    const ownProject = propertiesOf(own.template, own.deploy.securityScanProject!);
    expect(JSON.parse(ownProject.Source.BuildSpec).phases.build.commands).toEqual(['cfn-guard validate']);
    expect(ownProject.Description).toBe('Scans the synthesized CloudFormation templates');
    expect(own.layout[1]).toEqual(['Build', [['Synth', 1], ['SecurityScan', 2]]]);

    const none = deployWith({ securityScanner: SecurityScan.none() });
    expect(none.deploy.securityScanProject).toBeUndefined();
    expect(none.layout[1]).toEqual(['Build', [['Synth', 1]]]);
  });

  test('securityScanner together with the deprecated securityScan or securityScanSkipChecks is refused', () => {
    expect(() => deployWith({ securityScanner: SecurityScan.none(), securityScan: true }))
      .toThrow(/securityScanner is given together with securityScan 'true', which it replaces; give the scan once/);
    expect(() => deployWith({ securityScanner: SecurityScan.none(), securityScanSkipChecks: ['CKV_AWS_1'] }))
      .toThrow(/securityScanner is given together with securityScanSkipChecks, which it replaces/);
    expect(() => SecurityScan.checkov({ skipChecks: ['no-such-check'] }))
      .toThrow(/SecurityScan\.checkov: skipChecks\[0\] 'no-such-check' is not a checkov check id; use ids such as CKV_AWS_123/);
  });
});

describe('DeployPipeline testEachStage (a test gate after each deployment)', () => {
  const { stack, deploy } = newDeployPipeline({ testEachStage: true });
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, deploy.pipeline);

  test('a Test_<Stage> action follows each deployment, before the next approval', () => {
    expect(stageLayout(pipeline).slice(2)).toEqual([
      ['DeployDev', [['Deploy_CFN_Dev', 1], ['Test_Dev', 2]]],
      ['DeployProd', [['Approve_Prod', 1], ['Deploy_CFN_Prod', 2], ['Test_Prod', 3]]],
    ]);
  });

  test('the tests run buildspec-test.yml of the deploy repository with the stage, its account, region and test role', () => {
    const project = propertiesOf(template, deploy.stageTestProject!);
    expect(project.Source.BuildSpec).toBe('buildspec-test.yml');
    const prod = pipeline.Stages.find((s: any) => s.Name === 'DeployProd').Actions.find((a: any) => a.Name === 'Test_Prod');
    expect(prod.InputArtifacts).toEqual([{ Name: 'SourceOutput' }]);
    const rendered = JSON.stringify(prod.Configuration.EnvironmentVariables);
    for (const name of ['STAGE_NAME', 'STAGE_ACCOUNT_ID', 'STAGE_REGION', 'STAGE_TEST_ROLE_ARN']) expect(rendered).toContain(`\\"name\\":\\"${name}\\"`);
    expect(rendered).toContain('\\"value\\":\\"prod\\"');
    expect(rendered).toContain('\\"value\\":\\"333333333333\\"');
    expect(rendered).toContain(':iam::333333333333:role/mlops-deployment/mlops-p-1a2b3c4d5e6f-prod-tests');
  });

  test('the test project may assume the stages\' test roles and nothing else in their accounts; the synth build learns its role', () => {
    const assume = iamStatements(template).filter(s => [s.Action].flat().includes('sts:AssumeRole') && JSON.stringify(s.Resource).includes('-tests'));
    expect(assume).toHaveLength(1);
    expect(JSON.stringify(assume[0].Resource)).toContain('role/mlops-deployment/mlops-p-1a2b3c4d5e6f-dev-tests');
    expect(JSON.stringify(assume[0].Resource)).toContain('333333333333:role/mlops-deployment/mlops-p-1a2b3c4d5e6f-prod-tests');
    expect(environmentNames(propertiesOf(template, deploy.synthProject))).toContain('STAGE_TEST_PRINCIPAL_ARN');
  });

  test('off by default: no test project, no test actions, the synth build unchanged', () => {
    const { stack: plainStack, deploy: plain } = newDeployPipeline({ stages: [{ name: 'dev' }] }, 'Plain');
    expect(plain.stageTestProject).toBeUndefined();
    expect(environmentNames(propertiesOf(Template.fromStack(plainStack), plain.synthProject))).toEqual(SYNTH_ENVIRONMENT);
  });
});

describe('DeployPipeline stage networks (issue 19)', () => {
  test('STAGE_NETWORKS tells the synth build each stage\'s subnets and security groups, or the SSM parameters of its account', () => {
    const { stack, deploy } = newDeployPipeline({
      stages: [
        { name: 'dev', network: { subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] } },
        { name: 'prod', account: '333333333333', network: { subnetIdsParameterName: '/mlops/network/prod_subnets' } },
        { name: 'dr', account: '333333333333' },
      ],
    });
    const value = environmentValue(propertiesOf(Template.fromStack(stack), deploy.synthProject), 'STAGE_NETWORKS') as string;
    expect(JSON.parse(value)).toEqual({
      dev: { subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] },
      prod: { subnetIdsParameter: '/mlops/network/prod_subnets', securityGroupIdsParameter: '/mlops/network/security_group_ids' },
    });
  });

  test('bad stage networks are refused', () => {
    const make = (network: object) => () => newDeployPipeline({ stages: [{ name: 'dev', network }] });
    expect(make({ subnetIds: ['subnet-xyz'] })).toThrow("DeployPipeline: stages[0].network.subnetIds[0] 'subnet-xyz' is not a subnet id; use subnet- followed by 8 or 17 hexadecimal digits");
    expect(make({ subnetIdsParameterName: '/platform/subnets' })).toThrow(
      "DeployPipeline: stages[0].network.subnetIdsParameterName '/platform/subnets' is not under /mlops/network/: the stage's CloudFormation execution role (DeploymentTargetPolicy) reads SSM parameters under /mlops/network/ only");
    expect(make({ securityGroupIds: [] })).toThrow('stages[0].network.securityGroupIds has 0 entries; give 1-5');
    expect(make({ subnetIds: ['subnet-0a1b2c3d'], subnetIdsParameterName: '/mlops/network/x' })).toThrow('stages[0].network.subnetIds is given together with subnetIdsParameterName');
  });
});
