import { Aws, CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DATA_CAPTURE_PREFIX } from './private/deployment-accounts';
import { validatePermissionsBoundaryName } from './private/input-checks';
import { addNagSuppressions } from './private/nag-suppressions';
import { BUCKET_PREFIX, ROLE_PATH } from './private/names';

/**
 * Properties for a `DeploymentTargetPolicy`.
 */
export interface DeploymentTargetPolicyProps {
  /**
   * Name of the managed policy, to give `cdk bootstrap --cloudformation-execution-policies
   * arn:<partition>:iam::<account>:policy/<name>`. IAM names are per account, so the default
   * holds the region: one policy per target account and region.
   *
   * @default `mlops-deployment-<region>`
   */
  readonly policyName?: string;

  /**
   * Path of the roles that deployments may create, change, delete and pass (to SageMaker and
   * EventBridge only). The bundled deploy apps create their roles under the default path. It may not
   * be `/`, `/service-role/`, `/aws-service-role/...` or the path of the project roles
   * (`/sagemaker-project-templates/`), nor overlap one of them.
   *
   * @default '/mlops-deployment/'
   */
  readonly rolePath?: string;

  /**
   * Name of an existing customer managed policy (optionally under a path) that every role the
   * deployments create must carry as its permissions boundary: CloudFormation may create a role,
   * or change its inline policies or boundary, only with exactly this boundary, and may never
   * remove it. Give your own when your deploy app's roles need more than the default allows.
   *
   * @default - a boundary policy this construct creates, named `<policyName>-boundary`, that
   * allows what the roles of the bundled deploy apps do: read `mlops-*` buckets, write their
   * `datacapture/` and `batch/` prefixes, use KMS keys (and grant them to AWS resources) and pull
   * ECR images of this region, write the logs of SageMaker endpoints and transform jobs, run
   * transform jobs and start SageMaker pipelines
   */
  readonly permissionsBoundaryPolicyName?: string;
}

/** The roles, and the path, that a deployment must not reach: the platform's and AWS's own. */
const RESERVED_ROLE_PATHS = [ROLE_PATH, '/service-role/', '/aws-service-role/', '/aws-reserved/'];

/** An IAM path: `/`, or `/` + segments + `/`, printable ASCII, at most 512 characters. */
const ROLE_PATH_PATTERN = /^\/([\x21-\x7E]{1,510}\/)?$/;

/** A managed policy name: 1-128 letters, digits and `+=,.@_-`. */
const POLICY_NAME_PATTERN = /^[\w+=,.@-]{1,128}$/;

/**
 * The CloudFormation execution policy for the deployment stages of SageMaker projects, for a
 * platform team to deploy once in each target account and region, and to give the CDK bootstrap
 * there instead of AdministratorAccess:
 *
 *   cdk bootstrap --qualifier mlops --toolkit-stack-name CDKToolkit-mlops --trust <dev account>
 *     --cloudformation-execution-policies arn:aws:iam::<account>:policy/mlops-deployment-<region>
 *
 * (and `bootstrapQualifier: 'mlops'` in the templates' `deployPipelineOptions`). It allows what
 * the bundled deploy app's stage templates create, update and delete (SageMaker models, endpoint
 * configs and endpoints, their execution role and its inline policy, endpoint auto scaling), and
 * what the bundled batch inference app's do (SageMaker pipelines, EventBridge schedule rules),
 * and nothing else: roles only under `rolePath`, only with the permissions boundary, passed only
 * to SageMaker and EventBridge. A push to a deploy repository can then create endpoints and
 * schedules, not administrators.
 *
 * The contract checks of this library (`test/contracts/check_iam.py`) compare it with the
 * handler permissions that CloudFormation's registry lists for those resource types.
 */
export class DeploymentTargetPolicy extends Construct {
  /** The path of the roles the bundled deploy app creates, and the default `rolePath`. */
  public static readonly DEFAULT_ROLE_PATH = '/mlops-deployment/';

  /** The execution policy. */
  public readonly policy: iam.ManagedPolicy;

  /** Name of the execution policy. */
  public readonly policyName: string;

  /** ARN of the execution policy, for `cdk bootstrap --cloudformation-execution-policies`. */
  public readonly policyArn: string;

  /** Path of the roles that deployments may manage. */
  public readonly rolePath: string;

  /** Name of the permissions boundary that every role the deployments create must carry. */
  public readonly permissionsBoundaryPolicyName: string;

  /** ARN of that permissions boundary. */
  public readonly permissionsBoundaryArn: string;

  /**
   * The boundary this construct created.
   *
   * @default - undefined when `permissionsBoundaryPolicyName` was given
   */
  public readonly boundaryPolicy?: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: DeploymentTargetPolicyProps = {}) {
    super(scope, id);
    const owner = `DeploymentTargetPolicy ${this.node.path}`;
    const stack = Stack.of(this);
    this.policyName = props.policyName ?? `mlops-deployment-${stack.region}`;
    if (!Token.isUnresolved(this.policyName) && !POLICY_NAME_PATTERN.test(this.policyName)) {
      throw new Error(`${owner}: policyName '${this.policyName}' is not a managed policy name; use 1-128 letters, digits or +=,.@_-`);
    }
    this.rolePath = props.rolePath ?? DeploymentTargetPolicy.DEFAULT_ROLE_PATH;
    validateRolePath(owner, this.rolePath);
    validatePermissionsBoundaryName(owner, props.permissionsBoundaryPolicyName);

    const arn = (service: string, resource: string, account: string = Aws.ACCOUNT_ID) =>
      `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${account}:${resource}`;

    if (props.permissionsBoundaryPolicyName === undefined) {
      this.permissionsBoundaryPolicyName = `${this.policyName}-boundary`;
      this.boundaryPolicy = new iam.ManagedPolicy(this, 'Boundary', {
        managedPolicyName: this.permissionsBoundaryPolicyName,
        description: 'Permissions boundary of the roles that SageMaker project deployments create: what a model execution role of the bundled deploy app does',
        statements: modelRoleBoundaryStatements(arn),
      });
      addNagSuppressions(this.boundaryPolicy.node.defaultChild as CfnResource, [{
        id: 'AwsSolutions-IAM5',
        reason: 'A permissions boundary of the roles the bundled deploy apps create: it caps them at reading the projects\' mlops-* buckets (writing only their datacapture/, batch/ and monitoring/ prefixes), using KMS keys and pulling ECR images of this region, running pipelines- transform jobs and writing SageMaker endpoint, transform and processing logs; each role\'s own policy names its project\'s bucket, key, image and pipeline.',
        appliesTo: [{ regex: '/^Resource::/' }],
      }]);
    } else {
      this.permissionsBoundaryPolicyName = props.permissionsBoundaryPolicyName;
    }
    this.permissionsBoundaryArn = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy/${this.permissionsBoundaryPolicyName}`;

    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: this.policyName,
      description: 'CloudFormation execution policy of SageMaker project deployments: endpoints, their auto scaling, and bounded roles under one path',
      statements: executionStatements(arn, this.rolePath, this.permissionsBoundaryArn),
    });
    this.policyArn = this.policy.managedPolicyArn;
    addNagSuppressions(this.policy.node.defaultChild as CfnResource, [{
      id: 'AwsSolutions-IAM5',
      reason: 'CloudFormation names the SageMaker models, endpoint configs, roles, scalable targets and alarms of a deployment at deploy time; the policy is limited to those resource types in this account and region, to roles under one path that carry the permissions boundary, and to model packages and keys that other accounts share through their resource policies.',
      appliesTo: [{ regex: '/^Resource::/' }],
    }]);
  }
}

function validateRolePath(owner: string, rolePath: string): void {
  if (Token.isUnresolved(rolePath)) return;
  const allowed = `use a path such as '${DeploymentTargetPolicy.DEFAULT_ROLE_PATH}': '/', then segments of printable ASCII without '*' or '?', ending in '/', other than ${RESERVED_ROLE_PATHS.map(p => `'${p}'`).join(', ')}`;
  if (!ROLE_PATH_PATTERN.test(rolePath) || /[*?]/.test(rolePath)) {
    throw new Error(`${owner}: rolePath '${rolePath}' is not an IAM role path; ${allowed}`);
  }
  if (rolePath === '/') {
    throw new Error(`${owner}: rolePath '/' would let deployments manage every role of the account; ${allowed}`);
  }
  const overlap = RESERVED_ROLE_PATHS.find(reserved => reserved.startsWith(rolePath) || rolePath.startsWith(reserved));
  if (overlap) {
    throw new Error(`${owner}: rolePath '${rolePath}' overlaps '${overlap}', whose roles deployments must not manage; ${allowed}`);
  }
}

type ArnOf = (service: string, resource: string, account?: string) => string;

/** IAM actions on deployment roles that change what a role may do: IAM puts the boundary in their requests. */
const ROLE_PERMISSION_ACTIONS = ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary'];

/** IAM actions on deployment roles that grant nothing. */
const ROLE_MAINTENANCE_ACTIONS = [
  'iam:DeleteRole', 'iam:GetRole', 'iam:UpdateRole', 'iam:UpdateRoleDescription', 'iam:UpdateAssumeRolePolicy',
  'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:DetachRolePolicy',
  'iam:TagRole', 'iam:UntagRole', 'iam:ListRoleTags',
];

/** Where the deploy app's monitoring schedules write their reports, in the project's artifact bucket. */
const MONITORING_PREFIX = 'monitoring/';

/** Where the batch inference app's stages write their output, in the project's artifact bucket. */
const BATCH_PREFIX = 'batch/';

/** The service-linked role Application Auto Scaling uses for SageMaker endpoints. */
const AUTOSCALING_SERVICE = 'sagemaker.application-autoscaling.amazonaws.com';

function executionStatements(arn: ArnOf, rolePath: string, boundaryArn: string): iam.PolicyStatement[] {
  const roles = `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role${rolePath}*`;
  return [
    new iam.PolicyStatement({
      sid: 'DeploymentRolePermissions',
      actions: ROLE_PERMISSION_ACTIONS,
      resources: [roles],
      conditions: { StringEquals: { 'iam:PermissionsBoundary': boundaryArn } },
    }),
    new iam.PolicyStatement({
      sid: 'DeploymentRoles',
      actions: ROLE_MAINTENANCE_ACTIONS,
      resources: [roles],
    }),
    new iam.PolicyStatement({
      sid: 'KeepPermissionsBoundary',
      effect: iam.Effect.DENY,
      actions: ['iam:DeleteRolePermissionsBoundary'],
      resources: [roles],
    }),
    new iam.PolicyStatement({
      sid: 'PassDeploymentRolesToSageMaker',
      actions: ['iam:PassRole'],
      resources: [roles],
      conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'PassDeploymentRolesToEventBridge',
      // The batch inference app's schedule rules start its SageMaker pipelines as such a role.
      actions: ['iam:PassRole'],
      resources: [roles],
      conditions: { StringEquals: { 'iam:PassedToService': 'events.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'Endpoints',
      actions: [
        'sagemaker:CreateModel', 'sagemaker:DescribeModel', 'sagemaker:DeleteModel',
        'sagemaker:CreateEndpointConfig', 'sagemaker:DescribeEndpointConfig', 'sagemaker:DeleteEndpointConfig',
        'sagemaker:CreateEndpoint', 'sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:DeleteEndpoint',
        'sagemaker:AddTags', 'sagemaker:DeleteTags', 'sagemaker:ListTags',
      ],
      resources: [arn('sagemaker', 'model/*'), arn('sagemaker', 'endpoint-config/*'), arn('sagemaker', 'endpoint/*')],
    }),
    new iam.PolicyStatement({
      sid: 'BatchPipelines',
      // The batch inference app: a SageMaker pipeline with one transform step per stage...
      actions: [
        'sagemaker:CreatePipeline', 'sagemaker:DescribePipeline', 'sagemaker:UpdatePipeline', 'sagemaker:DeletePipeline',
        'sagemaker:AddTags', 'sagemaker:DeleteTags', 'sagemaker:ListTags',
      ],
      resources: [arn('sagemaker', 'pipeline/*')],
    }),
    new iam.PolicyStatement({
      sid: 'BatchSchedules',
      // ...and the EventBridge rule that starts it on a schedule.
      actions: [
        'events:PutRule', 'events:DescribeRule', 'events:DeleteRule', 'events:PutTargets', 'events:RemoveTargets',
        'events:ListTargetsByRule', 'events:TagResource', 'events:UntagResource', 'events:ListTagsForResource',
      ],
      resources: [arn('events', 'rule/*')],
    }),
    new iam.PolicyStatement({
      sid: 'MonitoringSchedules',
      // The deploy app's data-quality monitoring (MODEL_MONITORING): a job definition and a schedule per stage.
      actions: [
        'sagemaker:CreateDataQualityJobDefinition', 'sagemaker:DescribeDataQualityJobDefinition', 'sagemaker:DeleteDataQualityJobDefinition',
        'sagemaker:CreateMonitoringSchedule', 'sagemaker:DescribeMonitoringSchedule', 'sagemaker:UpdateMonitoringSchedule',
        'sagemaker:DeleteMonitoringSchedule', 'sagemaker:AddTags', 'sagemaker:DeleteTags', 'sagemaker:ListTags',
      ],
      resources: [arn('sagemaker', 'data-quality-job-definition/*'), arn('sagemaker', 'monitoring-schedule/*')],
    }),
    new iam.PolicyStatement({
      sid: 'ReadNetworkParameters',
      // A stage's network kept in SSM parameters of its account, read when its template is deployed.
      actions: ['ssm:GetParameters', 'ssm:GetParameter'],
      resources: [arn('ssm', 'parameter/mlops/network/*')],
    }),
    new iam.PolicyStatement({
      sid: 'SharedModelPackages',
      // A model is created from a package of the project's account, which its group policy shares.
      actions: ['sagemaker:DescribeModelPackage'],
      resources: [arn('sagemaker', 'model-package/*', '*')],
    }),
    new iam.PolicyStatement({
      sid: 'DescribeSharedKeys',
      // Endpoint configs name the project's key (data capture), which its key policy shares.
      actions: ['kms:DescribeKey'],
      resources: [arn('kms', 'key/*', '*')],
    }),
    new iam.PolicyStatement({
      sid: 'EndpointAutoScaling',
      actions: [
        'application-autoscaling:RegisterScalableTarget', 'application-autoscaling:DeregisterScalableTarget',
        'application-autoscaling:PutScalingPolicy', 'application-autoscaling:DeleteScalingPolicy',
        'application-autoscaling:PutScheduledAction', 'application-autoscaling:DeleteScheduledAction',
      ],
      resources: [arn('application-autoscaling', 'scalable-target/*')],
      conditions: { StringEquals: { 'application-autoscaling:service-namespace': 'sagemaker' } },
    }),
    new iam.PolicyStatement({
      sid: 'TagScalableTargets',
      actions: ['application-autoscaling:TagResource', 'application-autoscaling:UntagResource', 'application-autoscaling:ListTagsForResource'],
      resources: [arn('application-autoscaling', 'scalable-target/*')],
    }),
    new iam.PolicyStatement({
      sid: 'DescribeAutoScaling',
      // These actions take no resource.
      actions: [
        'application-autoscaling:DescribeScalableTargets', 'application-autoscaling:DescribeScalingPolicies',
        'application-autoscaling:DescribeScheduledActions', 'cloudwatch:GetMetricData',
      ],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'TargetTrackingAlarms',
      actions: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:DeleteAlarms'],
      resources: [arn('cloudwatch', 'alarm:TargetTracking-endpoint/*')],
    }),
    new iam.PolicyStatement({
      sid: 'AutoScalingServiceLinkedRole',
      actions: ['iam:CreateServiceLinkedRole'],
      resources: [`arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/aws-service-role/${AUTOSCALING_SERVICE}/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`],
      conditions: { StringEquals: { 'iam:AWSServiceName': AUTOSCALING_SERVICE } },
    }),
  ];
}

/** What the bundled deploy app's model execution role does, in any project of this region. */
function modelRoleBoundaryStatements(arn: ArnOf): iam.PolicyStatement[] {
  const buckets = `arn:${Aws.PARTITION}:s3:::${BUCKET_PREFIX}*`;
  const logGroups = arn('logs', 'log-group:/aws/sagemaker/Endpoints/*');
  const transformLogGroup = arn('logs', 'log-group:/aws/sagemaker/TransformJobs');
  const processingLogGroup = arn('logs', 'log-group:/aws/sagemaker/ProcessingJobs');
  return [
    new iam.PolicyStatement({
      sid: 'ReadModelArtifacts',
      actions: ['s3:GetObject', 's3:ListBucket'],
      resources: [buckets, `${buckets}/*`],
    }),
    new iam.PolicyStatement({
      sid: 'ReadStagedModelData',
      // A stage in another region than its project's: the model data its deploy pipeline published
      // into this account's CDK bootstrap bucket of this region (of any qualifier).
      actions: ['s3:GetObject'],
      resources: [`arn:${Aws.PARTITION}:s3:::cdk-*-assets-${Aws.ACCOUNT_ID}-${Aws.REGION}/*.tar.gz`],
    }),
    new iam.PolicyStatement({
      sid: 'WriteDataCapture',
      actions: ['s3:PutObject'],
      resources: [`${buckets}/${DATA_CAPTURE_PREFIX}*`],
    }),
    new iam.PolicyStatement({
      sid: 'UseArtifactKeys',
      actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
      resources: [arn('kms', 'key/*', '*')],
    }),
    new iam.PolicyStatement({
      sid: 'PullModelImages',
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: [arn('ecr', 'repository/*', '*')],
    }),
    new iam.PolicyStatement({
      sid: 'EcrLogin',
      // GetAuthorizationToken takes no resource.
      actions: ['ecr:GetAuthorizationToken'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'WriteEndpointLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
      resources: [logGroups],
    }),
    // The batch inference app's pipeline and schedule roles, and its transform jobs' model role.
    new iam.PolicyStatement({
      sid: 'WriteBatchOutput',
      actions: ['s3:PutObject'],
      resources: [`${buckets}/${BATCH_PREFIX}*`],
    }),
    new iam.PolicyStatement({
      sid: 'WriteTransformJobLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
      resources: [transformLogGroup, `${transformLogGroup}:log-stream:*`],
    }),
    new iam.PolicyStatement({
      sid: 'GrantKeysToTransformJobs',
      actions: ['kms:CreateGrant'],
      resources: [arn('kms', 'key/*', '*')],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }),
    new iam.PolicyStatement({
      sid: 'RunTransformJobs',
      actions: ['sagemaker:CreateTransformJob', 'sagemaker:DescribeTransformJob', 'sagemaker:StopTransformJob', 'sagemaker:AddTags'],
      resources: [arn('sagemaker', 'transform-job/pipelines-*')],
    }),
    new iam.PolicyStatement({
      sid: 'StartBatchPipelines',
      actions: ['sagemaker:StartPipelineExecution'],
      resources: [arn('sagemaker', 'pipeline/*')],
    }),
    // Endpoints and jobs in the stage's subnets (a stage's network): SageMaker creates their network interfaces with the role.
    new iam.PolicyStatement({
      sid: 'PlaceInSubnets',
      actions: ['ec2:CreateNetworkInterface', 'ec2:CreateNetworkInterfacePermission', 'ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission'],
      resources: [arn('ec2', 'network-interface/*'), arn('ec2', 'subnet/*'), arn('ec2', 'security-group/*')],
    }),
    new iam.PolicyStatement({
      sid: 'DescribeNetworks',
      // These actions take no resource.
      actions: ['ec2:DescribeDhcpOptions', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'TestEndpoints',
      // The deploy app's stage test role (testEachStage): it checks and invokes the stage's endpoint.
      actions: ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint'],
      resources: [arn('sagemaker', 'endpoint/*')],
    }),
    new iam.PolicyStatement({
      sid: 'TestBatchPipelines',
      // The batch app's stage test role: it checks the stage's pipeline and lists its runs.
      actions: ['sagemaker:DescribePipeline', 'sagemaker:ListPipelineExecutions'],
      resources: [arn('sagemaker', 'pipeline/*')],
    }),
    // The deploy app's monitoring role: its reports, its processing jobs' logs and metrics.
    new iam.PolicyStatement({
      sid: 'WriteMonitoringReports',
      actions: ['s3:PutObject'],
      resources: [`${buckets}/${MONITORING_PREFIX}*`],
    }),
    new iam.PolicyStatement({
      sid: 'WriteMonitoringJobLogs',
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
      resources: [processingLogGroup, `${processingLogGroup}:log-stream:*`],
    }),
    new iam.PolicyStatement({
      sid: 'PublishDataQualityMetrics',
      // PutMetricData takes no resource; the namespace is the monitoring jobs'.
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': 'aws/sagemaker/Endpoints/data-metrics' } },
    }),
  ];
}
