import * as fs from 'fs';
import * as path from 'path';
import { Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DeploymentTargetPolicy, DeploymentTargetPolicyProps } from '../src';
import { evaluate, evaluateTemplate } from './util/cfn-eval';
import { testApp } from './util/temp-dir';

const ACCOUNT = '222222222222';
const REFS = { 'AWS::AccountId': ACCOUNT, 'AWS::Region': 'eu-west-1', 'AWS::Partition': 'aws' };

/** What the bundled deploy app's stage templates hold (its tests check the app against it). */
const DEPLOY_APP = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'seed_code', 'deploy_app', 'tests', 'target_account_permissions.json'), 'utf-8'));
/** The same for the bundled batch inference app. */
const BATCH_APP = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'seed_code', 'batch_inference_app', 'tests', 'target_account_permissions.json'), 'utf-8'));

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

interface Synthesized { template: Template; construct: DeploymentTargetPolicy; policies: Record<string, Statement[]> }

function synth(props: DeploymentTargetPolicyProps = {}): Synthesized {
  const stack = new Stack(testApp(), 'Target', { env: { account: ACCOUNT, region: 'eu-west-1' } });
  const construct = new DeploymentTargetPolicy(stack, 'DeploymentTarget', props);
  const template = Template.fromStack(stack);
  const policies: Record<string, Statement[]> = {};
  for (const resource of Object.values<any>(template.findResources('AWS::IAM::ManagedPolicy'))) {
    const resolve = (value: any): any => Array.isArray(value) ? value.map(resolve)
      : typeof value === 'object' && value !== null && !('Fn::Join' in value) && !('Ref' in value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)])) : typeof value === 'string' ? value : evaluate(value, REFS);
    policies[resource.Properties.ManagedPolicyName] = resolve(resource.Properties.PolicyDocument.Statement);
  }
  return { template, construct, policies };
}

const list = (value: string | string[] | undefined): string[] => value === undefined ? [] : [value].flat();
const glob = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map(p => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

/** IAM's answer for an identity policy alone (StringEquals and Bool conditions; a key not in the request fails them). */
function allows(statements: Statement[], action: string, resource: string, context: Record<string, string> = {}): boolean {
  const matches = (s: Statement) => list(s.Action).some(a => glob(a, action)) && list(s.Resource).some(r => glob(r, resource))
    && Object.entries(s.Condition ?? {}).every(([operator, pairs]) => ['StringEquals', 'Bool'].includes(operator)
      && Object.entries(pairs).every(([key, expected]) => context[key] !== undefined && list(expected).includes(context[key])));
  return !statements.some(s => s.Effect === 'Deny' && matches(s)) && statements.some(s => s.Effect === 'Allow' && matches(s));
}

describe('DeploymentTargetPolicy with its defaults', () => {
  const { construct, policies } = synth();
  const execution = policies['mlops-deployment-eu-west-1'];
  const boundary = policies['mlops-deployment-eu-west-1-boundary'];
  const boundaryArn = `arn:aws:iam::${ACCOUNT}:policy/mlops-deployment-eu-west-1-boundary`;
  const role = `arn:aws:iam::${ACCOUNT}:role/mlops-deployment/my-project-deploy-prod-ModelExecutionRole-A1B2C3`;

  test('two named managed policies: the execution policy for cdk bootstrap, and the boundary of the roles it creates', () => {
    expect(Object.keys(policies).sort()).toEqual(['mlops-deployment-eu-west-1', 'mlops-deployment-eu-west-1-boundary']);
    expect(construct.policyName).toBe('mlops-deployment-eu-west-1');
    expect(construct.rolePath).toBe('/mlops-deployment/');
    expect(construct.boundaryPolicy).toBeDefined();
    expect(evaluate(Stack.of(construct).resolve(construct.permissionsBoundaryArn), REFS)).toBe(boundaryArn);
    expect(Stack.of(construct).resolve(construct.policyArn)).toEqual({ Ref: expect.stringMatching(/^DeploymentTargetPolicy/) });
  });

  test('the deploy app creates its roles under the default path', () => {
    expect(DeploymentTargetPolicy.DEFAULT_ROLE_PATH).toBe(DEPLOY_APP.rolePath);
  });

  test('CloudFormation may create and change roles under the path only with the boundary, and never remove it', () => {
    for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary']) {
      expect({ action, bounded: allows(execution, action, role, { 'iam:PermissionsBoundary': boundaryArn }) }).toEqual({ action, bounded: true });
      expect({ action, unbounded: allows(execution, action, role) }).toEqual({ action, unbounded: false });
      expect({ action, other: allows(execution, action, role, { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/Admin` }) }).toEqual({ action, other: false });
    }
    expect(allows(execution, 'iam:DeleteRolePermissionsBoundary', role, { 'iam:PermissionsBoundary': boundaryArn })).toBe(false);
    expect(allows(execution, 'iam:AttachRolePolicy', role, { 'iam:PermissionsBoundary': boundaryArn })).toBe(false);
    expect(allows(execution, 'iam:DeleteRole', role)).toBe(true);
  });

  test('roles outside the path, the project roles among them, are out of reach', () => {
    for (const other of [`arn:aws:iam::${ACCOUNT}:role/admin`, `arn:aws:iam::${ACCOUNT}:role/sagemaker-project-templates/SC-build`, `arn:aws:iam::${ACCOUNT}:role/service-role/launch`]) {
      for (const action of ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRole', 'iam:UpdateAssumeRolePolicy', 'iam:PassRole']) {
        expect({ other, action, allowed: allows(execution, action, other, { 'iam:PermissionsBoundary': boundaryArn, 'iam:PassedToService': 'sagemaker.amazonaws.com' }) })
          .toEqual({ other, action, allowed: false });
      }
    }
  });

  test('iam:PassRole only to SageMaker and EventBridge (the batch app\'s schedule rules)', () => {
    expect(allows(execution, 'iam:PassRole', role, { 'iam:PassedToService': 'sagemaker.amazonaws.com' })).toBe(true);
    expect(allows(execution, 'iam:PassRole', role, { 'iam:PassedToService': 'events.amazonaws.com' })).toBe(true);
    for (const service of ['lambda.amazonaws.com', 'ec2.amazonaws.com', 'cloudformation.amazonaws.com']) {
      expect({ service, allowed: allows(execution, 'iam:PassRole', role, { 'iam:PassedToService': service }) }).toEqual({ service, allowed: false });
    }
    const passes = execution.filter(s => s.Effect === 'Allow' && list(s.Action).some(a => glob(a, 'iam:PassRole')));
    expect(passes.map(s => s.Condition)).toEqual([
      { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      { StringEquals: { 'iam:PassedToService': 'events.amazonaws.com' } },
    ]);
    expect([...BATCH_APP.passRoleServices].sort()).toEqual(['events.amazonaws.com', 'sagemaker.amazonaws.com']);
  });

  test('endpoints, their auto scaling, batch pipelines and schedules, and nothing else: no wildcard action, no other service', () => {
    const actions = execution.filter(s => s.Effect === 'Allow').flatMap(s => list(s.Action));
    expect(actions.filter(a => a.includes('*'))).toEqual([]);
    expect([...new Set(actions.map(a => a.split(':')[0]))].sort()).toEqual(['application-autoscaling', 'cloudwatch', 'events', 'iam', 'kms', 'sagemaker', 'ssm']);
    // SSM: only the network parameters a stage's template reads at deployment.
    expect(allows(execution, 'ssm:GetParameters', `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/mlops/network/subnet_ids`)).toBe(true);
    expect(allows(execution, 'ssm:GetParameters', `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/mlops/code/build`)).toBe(false);
    expect(actions.filter(a => a.startsWith('kms:'))).toEqual(['kms:DescribeKey']);
    for (const [action, resource] of [
      ['sagemaker:CreateEndpoint', `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:endpoint/churn-prod`],
      ['sagemaker:CreateModel', `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:model/model-abc`],
      ['sagemaker:DeleteEndpointConfig', `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:endpoint-config/ec-abc`],
    ]) {
      expect({ action, allowed: allows(execution, action, resource) }).toEqual({ action, allowed: true });
    }
    // Another region, another account, another kind of SageMaker resource.
    expect(allows(execution, 'sagemaker:CreateEndpoint', `arn:aws:sagemaker:us-east-1:${ACCOUNT}:endpoint/x`)).toBe(false);
    expect(allows(execution, 'sagemaker:CreateEndpoint', 'arn:aws:sagemaker:eu-west-1:333333333333:endpoint/x')).toBe(false);
    expect(allows(execution, 'sagemaker:CreateTrainingJob', `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:training-job/x`)).toBe(false);
    expect(allows(execution, 'application-autoscaling:RegisterScalableTarget', `arn:aws:application-autoscaling:eu-west-1:${ACCOUNT}:scalable-target/x`, { 'application-autoscaling:service-namespace': 'ecs' })).toBe(false);
    expect(allows(execution, 'iam:CreateServiceLinkedRole', `arn:aws:iam::${ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
      { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' })).toBe(true);
    expect(allows(execution, 'iam:CreateServiceLinkedRole', `arn:aws:iam::${ACCOUNT}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`, { 'iam:AWSServiceName': 'ecs.amazonaws.com' })).toBe(false);
  });

  test('the boundary allows every action of the deploy app\'s model role, and writes only to data capture', () => {
    const sample: Record<string, string> = {
      s3: 'arn:aws:s3:::mlops-p-abc123-111111111111-eu-west-1/datacapture/churn-prod/AllTraffic/capture.jsonl',
      kms: 'arn:aws:kms:eu-west-1:111111111111:key/0a1b',
      ecr: 'arn:aws:ecr:eu-west-1:111111111111:repository/mlops-p-abc123',
      logs: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/sagemaker/Endpoints/churn-prod:log-stream:AllTraffic/i-1`,
    };
    for (const action of DEPLOY_APP.modelRoleActions as string[]) {
      const resource = action === 'ecr:GetAuthorizationToken' || action.startsWith('ec2:Describe') ? '*'
        : action === 's3:ListBucket' ? 'arn:aws:s3:::mlops-p-abc123-111111111111-eu-west-1'
          : action.startsWith('ec2:') ? `arn:aws:ec2:eu-west-1:${ACCOUNT}:network-interface/eni-0a1b2c3d`
            : sample[action.split(':')[0]];
      expect({ action, allowed: allows(boundary, action, resource) }).toEqual({ action, allowed: true });
    }
    expect(allows(boundary, 's3:PutObject', 'arn:aws:s3:::mlops-p-abc123-111111111111-eu-west-1/models/model.tar.gz')).toBe(false);
    expect(allows(boundary, 's3:GetObject', 'arn:aws:s3:::other-bucket/secret')).toBe(false);
    for (const action of ['iam:CreateRole', 'sts:AssumeRole', 'sagemaker:CreateEndpoint', 's3:DeleteObject', 'kms:ScheduleKeyDeletion']) {
      expect({ action, allowed: allows(boundary, action, '*') }).toEqual({ action, allowed: false });
    }
  });

  test('the batch app\'s SageMaker pipelines and schedule rules, in this account and region only', () => {
    const pipeline = `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:pipeline/churn-prod-batch`;
    for (const action of ['CreatePipeline', 'DescribePipeline', 'UpdatePipeline', 'DeletePipeline', 'AddTags', 'DeleteTags', 'ListTags']) {
      expect({ action, allowed: allows(execution, `sagemaker:${action}`, pipeline) }).toEqual({ action, allowed: true });
    }
    const rule = `arn:aws:events:eu-west-1:${ACCOUNT}:rule/churn-prod-batch`;
    for (const action of ['PutRule', 'DescribeRule', 'DeleteRule', 'PutTargets', 'RemoveTargets', 'ListTargetsByRule', 'TagResource', 'UntagResource', 'ListTagsForResource']) {
      expect({ action, allowed: allows(execution, `events:${action}`, rule) }).toEqual({ action, allowed: true });
    }
    expect(allows(execution, 'sagemaker:CreatePipeline', 'arn:aws:sagemaker:eu-west-1:333333333333:pipeline/x')).toBe(false);
    expect(allows(execution, 'events:PutRule', `arn:aws:events:us-east-1:${ACCOUNT}:rule/x`)).toBe(false);
    expect(allows(execution, 'events:PutEvents', `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/default`)).toBe(false);
    // Deployments create pipelines; only the roles the pipelines and schedules run as start or run them.
    expect(allows(execution, 'sagemaker:StartPipelineExecution', pipeline)).toBe(false);
    expect(allows(execution, 'sagemaker:CreateTransformJob', `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:transform-job/pipelines-abc`)).toBe(false);
  });

  test('the boundary allows every action of the batch app\'s roles, and writes only to batch output', () => {
    const bucket = 'arn:aws:s3:::mlops-p-abc123-111111111111-eu-west-1';
    const logs = `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/sagemaker/TransformJobs`;
    const sample: Record<string, string> = {
      's3:GetObject': `${bucket}/batch/churn-prod/input/records.csv`,
      's3:ListBucket': bucket,
      's3:PutObject': `${bucket}/batch/churn-prod/output/records.csv.out`,
      'ecr:GetAuthorizationToken': '*',
      'logs:CreateLogGroup': logs,
      'logs:DescribeLogStreams': logs,
      'logs:CreateLogStream': `${logs}:log-stream:pipelines-abc-BatchTransform-x/i-1`,
      'logs:PutLogEvents': `${logs}:log-stream:pipelines-abc-BatchTransform-x/i-1`,
      'sagemaker:CreateTransformJob': `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:transform-job/pipelines-abc-batchtransform-x`,
      'sagemaker:DescribeTransformJob': `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:transform-job/pipelines-abc-batchtransform-x`,
      'sagemaker:StopTransformJob': `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:transform-job/pipelines-abc-batchtransform-x`,
      'sagemaker:AddTags': `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:transform-job/pipelines-abc-batchtransform-x`,
      'sagemaker:StartPipelineExecution': `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:pipeline/churn-prod-batch`,
    };
    const prefixed: Record<string, string> = {
      kms: 'arn:aws:kms:eu-west-1:111111111111:key/0a1b',
      ecr: 'arn:aws:ecr:eu-west-1:111111111111:repository/mlops-p-abc123',
    };
    for (const action of BATCH_APP.modelRoleActions as string[]) {
      const resource = sample[action] ?? (action.startsWith('ec2:Describe') ? '*'
        : action.startsWith('ec2:') ? `arn:aws:ec2:eu-west-1:${ACCOUNT}:network-interface/eni-0a1b2c3d` : prefixed[action.split(':')[0]]);
      const context: Record<string, string> = action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {};
      expect({ action, allowed: allows(boundary, action, resource, context) }).toEqual({ action, allowed: true });
    }
    expect(allows(boundary, 'kms:CreateGrant', prefixed.kms)).toBe(false);
    expect(allows(boundary, 'kms:CreateGrant', prefixed.kms, { 'kms:GrantIsForAWSResource': 'false' })).toBe(false);
    expect(allows(boundary, 's3:PutObject', `${bucket}/models/model.tar.gz`)).toBe(false);
    expect(allows(boundary, 'sagemaker:CreateTransformJob', `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:transform-job/mine`)).toBe(false);
    expect(allows(boundary, 'sagemaker:CreatePipeline', `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:pipeline/x`)).toBe(false);
    expect(allows(boundary, 'logs:PutLogEvents', `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/lambda/x:log-stream:y`)).toBe(false);
  });

  test('the boundary allows the stage test roles\' calls: the endpoint, or the batch pipeline, of their stage', () => {
    for (const action of BATCH_APP.stageTestRoleActions as string[]) {
      expect({ action, allowed: allows(boundary, action, `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:pipeline/churn-prod-batch`) }).toEqual({ action, allowed: true });
    }
    for (const action of ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint']) {
      expect({ action, allowed: allows(boundary, action, `arn:aws:sagemaker:eu-west-1:${ACCOUNT}:endpoint/churn-prod`) }).toEqual({ action, allowed: true });
    }
    expect(allows(boundary, 'sagemaker:InvokeEndpoint', 'arn:aws:sagemaker:eu-west-1:333333333333:endpoint/other')).toBe(false);
  });

  test('a stage in another region than its project\'s: its roles read the model data staged in this account\'s bootstrap bucket of this region, only', () => {
    const staged = (bucket: string) => `arn:aws:s3:::${bucket}/0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0.tar.gz`;
    expect(allows(boundary, 's3:GetObject', staged(`cdk-hnb659fds-assets-${ACCOUNT}-eu-west-1`))).toBe(true);
    expect(allows(boundary, 's3:GetObject', staged(`cdk-mlops-assets-${ACCOUNT}-eu-west-1`))).toBe(true);
    // Another account's or region's bootstrap bucket, the bucket's other assets, or writing: no.
    expect(allows(boundary, 's3:GetObject', staged('cdk-hnb659fds-assets-333333333333-eu-west-1'))).toBe(false);
    expect(allows(boundary, 's3:GetObject', staged(`cdk-hnb659fds-assets-${ACCOUNT}-us-east-1`))).toBe(false);
    expect(allows(boundary, 's3:GetObject', `arn:aws:s3:::cdk-hnb659fds-assets-${ACCOUNT}-eu-west-1/0f1e2d3c.zip`)).toBe(false);
    expect(allows(boundary, 's3:PutObject', staged(`cdk-hnb659fds-assets-${ACCOUNT}-eu-west-1`))).toBe(false);
  });

  test('both policies stay within IAM\'s managed policy size (6,144 characters without white space)', () => {
    const { template } = synth();
    const longest = { ...REFS, 'AWS::Region': 'ap-southeast-5', 'AWS::Partition': 'aws-iso-b' };
    const resources = evaluateTemplate(template.toJSON(), longest);
    const sizes = Object.values<any>(resources).filter(r => r.Type === 'AWS::IAM::ManagedPolicy')
      .map(r => JSON.stringify(r.Properties.PolicyDocument).replace(/\s/g, '').length);
    expect(sizes.length).toBe(2);
    for (const size of sizes) expect(size).toBeLessThan(6144);
  });

  test('cdk-nag finds nothing its suppressions do not explain', () => {
    const app = testApp();
    const stack = new Stack(app, 'Target', { env: { account: ACCOUNT, region: 'eu-west-1' } });
    new DeploymentTargetPolicy(stack, 'DeploymentTarget');
    Aspects.of(app).add(new AwsSolutionsChecks());
    app.synth();
    const findings = app.node.findAll().flatMap(c => c.node.metadata
      .filter(m => m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning').map(m => `${c.node.path}: ${String(m.data).split('\n')[0]}`));
    expect(findings).toEqual([]);
  });

  test('the README lists each of its suppressions with its reason', () => {
    const { template } = synth();
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
    const suppressions = Object.values<any>(template.findResources('AWS::IAM::ManagedPolicy'))
      .flatMap(r => r.Metadata?.cdk_nag?.rules_to_suppress ?? []);
    expect(suppressions.length).toBe(2);
    for (const { id, reason } of suppressions) {
      expect({ id, listed: readme.includes(`| ${id} | \`DeploymentTargetPolicy/`) && readme.includes(reason) }).toEqual({ id, listed: true });
    }
  });
});

describe('DeploymentTargetPolicy options', () => {
  test('a boundary of your own: no boundary policy is created, and roles must carry yours', () => {
    const { construct, policies } = synth({ permissionsBoundaryPolicyName: 'boundaries/MlEndpoints', policyName: 'MlDeployments', rolePath: '/ml/endpoints/' });
    expect(Object.keys(policies)).toEqual(['MlDeployments']);
    expect(construct.boundaryPolicy).toBeUndefined();
    const role = `arn:aws:iam::${ACCOUNT}:role/ml/endpoints/x`;
    const yours = { 'iam:PermissionsBoundary': `arn:aws:iam::${ACCOUNT}:policy/boundaries/MlEndpoints` };
    expect(allows(policies.MlDeployments, 'iam:CreateRole', role, yours)).toBe(true);
    expect(allows(policies.MlDeployments, 'iam:CreateRole', `arn:aws:iam::${ACCOUNT}:role/mlops-deployment/x`, yours)).toBe(false);
  });

  test('a stack without a region names the policy after the region it is deployed to', () => {
    const stack = new Stack(testApp(), 'Agnostic');
    new DeploymentTargetPolicy(stack, 'DeploymentTarget');
    const names = Object.values<any>(Template.fromStack(stack).findResources('AWS::IAM::ManagedPolicy')).map(p => evaluate(p.Properties.ManagedPolicyName, REFS));
    expect(names.sort()).toEqual(['mlops-deployment-eu-west-1', 'mlops-deployment-eu-west-1-boundary']);
  });

  const owner = 'DeploymentTargetPolicy Target/DeploymentTarget';
  const allowed = "use a path such as '/mlops-deployment/': '/', then segments of printable ASCII without '*' or '?', ending in '/', other than '/sagemaker-project-templates/', '/service-role/', '/aws-service-role/', '/aws-reserved/'";
  test.each([
    [{ rolePath: '/' }, `${owner}: rolePath '/' would let deployments manage every role of the account; ${allowed}`],
    [{ rolePath: 'mlops' }, `${owner}: rolePath 'mlops' is not an IAM role path; ${allowed}`],
    [{ rolePath: '/mlops' }, `${owner}: rolePath '/mlops' is not an IAM role path; ${allowed}`],
    [{ rolePath: '/ml*/' }, `${owner}: rolePath '/ml*/' is not an IAM role path; ${allowed}`],
    [{ rolePath: '/ml ops/' }, `${owner}: rolePath '/ml ops/' is not an IAM role path; ${allowed}`],
    [{ rolePath: '/sagemaker-project-templates/' }, `${owner}: rolePath '/sagemaker-project-templates/' overlaps '/sagemaker-project-templates/', whose roles deployments must not manage; ${allowed}`],
    [{ rolePath: '/sagemaker-project-templates/deploy/' }, `${owner}: rolePath '/sagemaker-project-templates/deploy/' overlaps '/sagemaker-project-templates/', whose roles deployments must not manage; ${allowed}`],
    [{ rolePath: '/service-role/' }, `${owner}: rolePath '/service-role/' overlaps '/service-role/', whose roles deployments must not manage; ${allowed}`],
    [{ rolePath: '/aws-service-role/sagemaker/' }, `${owner}: rolePath '/aws-service-role/sagemaker/' overlaps '/aws-service-role/', whose roles deployments must not manage; ${allowed}`],
    [{ policyName: 'ml deploy' }, `${owner}: policyName 'ml deploy' is not a managed policy name; use 1-128 letters, digits or +=,.@_-`],
    [{ policyName: 'a'.repeat(129) }, `${owner}: policyName '${'a'.repeat(129)}' is not a managed policy name; use 1-128 letters, digits or +=,.@_-`],
    [{ permissionsBoundaryPolicyName: 'arn:aws:iam::222222222222:policy/B' }, "permissionsBoundaryPolicyName 'arn:aws:iam::222222222222:policy/B' is not a customer managed policy name"],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props as DeploymentTargetPolicyProps)).toThrow(message);
  });
});
