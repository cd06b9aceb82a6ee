import { Aws, Lazy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import { BUCKET_PREFIX, permissionsBoundaryArn, PROJECT_ID_TAG, reservedParameterSegments, ROLE_PATH } from './names';

export interface LaunchRolePolicyOptions {
  readonly assetBucket: s3.IBucket;
  readonly permissionsBoundaryPolicyName?: string;
  /** Any construct of the app: the platform's SSM parameters it records are kept from the launch role. */
  readonly scope: IConstruct;
  /**
   * Prefixes of the names of the stacks the role creates (CloudFormation also names a stack's
   * Lambda functions and log groups after it): Service Catalog's `SC-`, or `SP-` for the stacks
   * SageMaker creates from S3 templates. Default `['SC-']`.
   */
  readonly stackNamePrefixes?: string[];
}

/**
 * Resources of a SageMaker project: every project resource carries the tag `sagemaker:project-id`
 * (the template tags all its resources, and SageMaker tags the provisioned stack, whose tags
 * CloudFormation passes on). Used on actions on existing resources, whose tags IAM sees.
 */
const ON_PROJECT_RESOURCE = { Null: { [`aws:ResourceTag/${PROJECT_ID_TAG}`]: 'false' } };

/**
 * Requests that create a project resource, or tag one as it is created: CloudFormation passes the
 * resource's tags (its own and the stack's) in the create call, where IAM sees them as request tags.
 */
const CREATING_PROJECT_RESOURCE = { Null: { [`aws:RequestTag/${PROJECT_ID_TAG}`]: 'false' } };

/** The roles the templates create: all under the library's role path. */
function projectRoleArns(): string {
  return `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role${ROLE_PATH}*`;
}

/** `arn:<partition>:<service>:<region>:<account>:<resource>` in the launching account and region. */
function arn(service: string, resource: string, region: string = Aws.REGION, account: string = Aws.ACCOUNT_ID): string {
  return `arn:${Aws.PARTITION}:${service}:${region}:${account}:${resource}`;
}

/** IAM actions on project roles that change what a role may do: the boundary must stay on them. */
const ROLE_PERMISSION_ACTIONS = [
  'iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:PutRolePermissionsBoundary',
];

/** IAM actions on project roles that grant nothing; IAM does not put the boundary in their request. */
const ROLE_MAINTENANCE_ACTIONS = [
  'iam:DeleteRole', 'iam:GetRole', 'iam:UpdateRole', 'iam:UpdateRoleDescription', 'iam:UpdateAssumeRolePolicy',
  'iam:GetRolePolicy', 'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:DetachRolePolicy',
  'iam:TagRole', 'iam:UntagRole', 'iam:ListRoleTags',
];

/**
 * Manage the roles under the library's path. With a boundary, the actions that change a role's
 * permissions carry the condition that the role keeps exactly that boundary (they are the ones
 * whose requests IAM gives `iam:PermissionsBoundary`), and removing the boundary is denied.
 */
function projectRoleStatements(roleArn: string, boundaryPolicyName: string | undefined): iam.PolicyStatement[] {
  if (boundaryPolicyName === undefined) {
    return [new iam.PolicyStatement({
      sid: 'ProjectRoles',
      actions: [...ROLE_PERMISSION_ACTIONS, 'iam:DeleteRolePermissionsBoundary', ...ROLE_MAINTENANCE_ACTIONS],
      resources: [roleArn],
    })];
  }
  const boundaryArn = permissionsBoundaryArn(boundaryPolicyName);
  return [
    new iam.PolicyStatement({
      sid: 'ProjectRolePermissions',
      actions: ROLE_PERMISSION_ACTIONS,
      resources: [roleArn],
      conditions: { StringEquals: { 'iam:PermissionsBoundary': boundaryArn } },
    }),
    new iam.PolicyStatement({
      sid: 'ProjectRoles',
      actions: ROLE_MAINTENANCE_ACTIONS,
      resources: [roleArn],
    }),
    new iam.PolicyStatement({
      sid: 'KeepPermissionsBoundary',
      effect: iam.Effect.DENY,
      actions: ['iam:DeleteRolePermissionsBoundary'],
      resources: [roleArn],
    }),
  ];
}

/**
 * What the launch role needs to create, update and delete the stacks of this library's
 * templates, and no more: each statement names the resource types (and, where names are fixed,
 * the name prefixes) that the templates create, in the launching account and region.
 *
 * Instead of the original system's IAMFullAccess and `iam:PassRole` on `*`, roles can only be
 * managed and passed under the library's role path.
 */
export function launchRoleStatements(options: LaunchRolePolicyOptions): iam.PolicyStatement[] {
  const roleArn = projectRoleArns();
  const statements = [
    new iam.PolicyStatement({
      sid: 'ProductStacks',
      actions: [
        'cloudformation:CreateStack', 'cloudformation:DeleteStack', 'cloudformation:UpdateStack',
        'cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents', 'cloudformation:DescribeStackResource',
        'cloudformation:DescribeStackResources', 'cloudformation:GetTemplate', 'cloudformation:SetStackPolicy',
        'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet',
        'cloudformation:DeleteChangeSet', 'cloudformation:ListChangeSets', 'cloudformation:ContinueUpdateRollback',
        'cloudformation:TagResource', 'cloudformation:UntagResource',
      ],
      // Service Catalog names the stacks it provisions SC-<account>-pp-<id>.
      resources: [...(options.stackNamePrefixes ?? ['SC-']).map(prefix => arn('cloudformation', `stack/${prefix}*`)), arn('cloudformation', 'changeSet/*')],
    }),
    new iam.PolicyStatement({
      sid: 'ValidateTemplates',
      // These two actions take no resource.
      actions: ['cloudformation:GetTemplateSummary', 'cloudformation:ValidateTemplate'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ReadTemplatesAndSeedCode',
      // CodeCommit and Lambda read the seed code and handler archives by version.
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [
        options.assetBucket.arnForObjects('*'),
        // Product templates are file assets in the CDK bootstrap bucket.
        `arn:${Aws.PARTITION}:s3:::cdk-*-assets-${Aws.ACCOUNT_ID}-${Aws.REGION}/*`,
      ],
    }),
    ...projectRoleStatements(roleArn, options.permissionsBoundaryPolicyName),
    new iam.PolicyStatement({
      sid: 'PassProjectRoles',
      actions: ['iam:PassRole'],
      resources: [roleArn],
      conditions: {
        StringEquals: {
          'iam:PassedToService': ['codebuild.amazonaws.com', 'codepipeline.amazonaws.com', 'events.amazonaws.com', 'sagemaker.amazonaws.com'],
        },
      },
    }),
    new iam.PolicyStatement({
      sid: 'ProjectBuckets',
      actions: [
        's3:CreateBucket', 's3:DeleteBucket', 's3:GetBucketLocation', 's3:ListBucket',
        's3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy',
        's3:GetEncryptionConfiguration', 's3:PutEncryptionConfiguration',
        's3:GetBucketVersioning', 's3:PutBucketVersioning',
        's3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock',
        's3:GetBucketOwnershipControls', 's3:PutBucketOwnershipControls',
        's3:GetBucketTagging', 's3:PutBucketTagging',
        's3:GetLifecycleConfiguration', 's3:PutLifecycleConfiguration',
        's3:GetBucketLogging', 's3:PutBucketLogging',
        // S3's attribute-based access control actions, which CloudFormation calls for tags too.
        's3:TagResource', 's3:UntagResource',
      ],
      // S3 authorizes by bucket tags only where a bucket enables attribute-based access control,
      // which the templates do not: scoped by the names the templates give their buckets,
      // mlops-[<kind>-]<project id>-<account>-<region>.
      resources: [`arn:${Aws.PARTITION}:s3:::${BUCKET_PREFIX}*-${Aws.ACCOUNT_ID}-${Aws.REGION}`],
    }),
    new iam.PolicyStatement({
      sid: 'CreateProjectKey',
      // CreateKey has no resource until the key exists; the key is created with the project's tags.
      actions: ['kms:CreateKey'],
      resources: ['*'],
      conditions: CREATING_PROJECT_RESOURCE,
    }),
    new iam.PolicyStatement({
      sid: 'CreateProjectKeysAndRepositories',
      // Tags given to CreateKey are authorized as kms:TagResource on the keys of the account and
      // region; the repository is created, and tagged, with the project's tags.
      actions: ['kms:TagResource', 'codecommit:CreateRepository', 'codecommit:TagResource'],
      resources: [arn('kms', 'key/*'), arn('codecommit', '*')],
      conditions: CREATING_PROJECT_RESOURCE,
    }),
    new iam.PolicyStatement({
      sid: 'ProjectKeysAndRepositories',
      // What changes a key's policy, state, tags or life, and what deletes, renames, changes, tags
      // or commits to a repository (the seed code is its first commit): only those of projects.
      // No KMS data actions (Decrypt, Encrypt, GenerateDataKey) and no grants: no handler of the
      // templates needs them.
      actions: [
        'kms:PutKeyPolicy', 'kms:DisableKeyRotation', 'kms:EnableKey', 'kms:DisableKey', 'kms:UpdateKeyDescription',
        'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion',
        'codecommit:DeleteRepository', 'codecommit:GetRepository',
        'codecommit:UpdateRepositoryDescription', 'codecommit:UpdateRepositoryName',
        'codecommit:TagResource', 'codecommit:UntagResource', 'codecommit:ListTagsForResource',
        'codecommit:CreateCommit',
      ],
      resources: [arn('kms', 'key/*'), arn('codecommit', '*')],
      conditions: ON_PROJECT_RESOURCE,
    }),
    new iam.PolicyStatement({
      sid: 'ReadKeysManageAliases',
      // Unconditioned, as they run right after CreateKey, when KMS may not yet authorize by the new
      // key's tags (tag changes take up to five minutes to reach KMS authorization): reads of a
      // key's metadata and policy, turning its rotation on (which weakens no key), and the
      // project aliases alias/mlops/* (IAM authorizes alias actions on the alias and on the key;
      // aliases have no tags).
      actions: [
        'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:GetKeyRotationStatus', 'kms:ListResourceTags', 'kms:EnableKeyRotation',
        'kms:CreateAlias', 'kms:DeleteAlias', 'kms:UpdateAlias',
      ],
      resources: [arn('kms', 'key/*'), arn('kms', 'alias/mlops/*')],
    }),
    new iam.PolicyStatement({
      sid: 'ListRepositories',
      // CloudFormation looks the repository up before deleting it; this action takes no resource.
      actions: ['codecommit:ListRepositories'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ProjectBuilds',
      actions: [
        'codebuild:CreateProject', 'codebuild:DeleteProject', 'codebuild:UpdateProject', 'codebuild:BatchGetProjects',
      ],
      resources: [arn('codebuild', 'project/*')],
    }),
    new iam.PolicyStatement({
      sid: 'ProjectPipelines',
      actions: [
        'codepipeline:CreatePipeline', 'codepipeline:DeletePipeline', 'codepipeline:UpdatePipeline', 'codepipeline:GetPipeline',
        'codepipeline:GetPipelineState', 'codepipeline:TagResource', 'codepipeline:UntagResource', 'codepipeline:ListTagsForResource',
        // CloudFormation's update handler may start the pipeline once it is updated.
        'codepipeline:StartPipelineExecution',
      ],
      resources: [arn('codepipeline', '*')],
    }),
    new iam.PolicyStatement({
      sid: 'ProjectEventRules',
      actions: [
        'events:PutRule', 'events:DeleteRule', 'events:DescribeRule', 'events:EnableRule', 'events:DisableRule',
        'events:PutTargets', 'events:RemoveTargets', 'events:ListTargetsByRule',
        'events:TagResource', 'events:UntagResource', 'events:ListTagsForResource',
      ],
      resources: [arn('events', 'rule/*')],
    }),
    new iam.PolicyStatement({
      sid: 'ProjectParameters',
      actions: [
        'ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:GetParameter', 'ssm:GetParameters',
        'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource', 'ssm:ListTagsForResource',
      ],
      // The project's stage parameters, and the seed code locations read through {{resolve:ssm:...}}.
      resources: [arn('ssm', 'parameter/mlops/*')],
    }),
    new iam.PolicyStatement({
      sid: 'KeepPlatformParameters',
      effect: iam.Effect.DENY,
      // The platform's own parameters (seed code locations, the portfolio's role, and any other
      // /mlops/<segment> the app reads outside projects), which no project template writes.
      actions: ['ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:AddTagsToResource', 'ssm:RemoveTagsFromResource'],
      resources: Lazy.list({
        produce: () => reservedParameterSegments(options.scope)
          .flatMap(segment => [arn('ssm', `parameter/mlops/${segment}`), arn('ssm', `parameter/mlops/${segment}/*`)]),
      }),
    }),
    new iam.PolicyStatement({
      sid: 'ProjectModelRegistry',
      actions: [
        'sagemaker:CreateModelPackageGroup', 'sagemaker:DeleteModelPackageGroup', 'sagemaker:DescribeModelPackageGroup',
        'sagemaker:PutModelPackageGroupPolicy', 'sagemaker:GetModelPackageGroupPolicy', 'sagemaker:DeleteModelPackageGroupPolicy',
        'sagemaker:AddTags', 'sagemaker:DeleteTags', 'sagemaker:ListTags',
      ],
      resources: [arn('sagemaker', 'model-package-group/*')],
    }),
    new iam.PolicyStatement({
      sid: 'ProjectNotificationTopics',
      // The notification topic mlops-<project id>-notifications, its policies, and subscribing to it.
      actions: [
        'sns:CreateTopic', 'sns:DeleteTopic', 'sns:GetTopicAttributes', 'sns:SetTopicAttributes',
        'sns:GetDataProtectionPolicy', 'sns:PutDataProtectionPolicy', 'sns:Subscribe', 'sns:ListSubscriptionsByTopic',
        'sns:TagResource', 'sns:UntagResource', 'sns:ListTagsForResource',
      ],
      resources: [arn('sns', `${BUCKET_PREFIX}*`)],
    }),
    new iam.PolicyStatement({
      sid: 'ProjectNotificationSubscriptions',
      // IAM authorizes these on no resource type and with no condition key (its reference lists
      // none): CloudFormation reads, changes and deletes the topic's subscriptions with them.
      actions: ['sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ProjectContainerRepositories',
      actions: [
        'ecr:CreateRepository', 'ecr:DeleteRepository', 'ecr:DescribeRepositories',
        'ecr:SetRepositoryPolicy', 'ecr:GetRepositoryPolicy', 'ecr:DeleteRepositoryPolicy',
        'ecr:PutImageScanningConfiguration', 'ecr:PutImageTagMutability',
        'ecr:PutLifecyclePolicy', 'ecr:GetLifecyclePolicy', 'ecr:DeleteLifecyclePolicy',
        'ecr:TagResource', 'ecr:UntagResource', 'ecr:ListTagsForResource',
      ],
      resources: [arn('ecr', `repository/${BUCKET_PREFIX}*`)],
    }),
  ];
  return statements;
}

/**
 * What the launch role needs for a template whose pipelines use a git provider connection: pass
 * the connection to CodePipeline, and create the handler function that creates repositories
 * (named by CloudFormation after the SC-... stack), its log group, and pass its role to Lambda.
 */
export function gitProviderLaunchStatements(stackNamePrefixes: string[] = ['SC-']): iam.PolicyStatement[] {
  const roleArn = projectRoleArns();
  const connectionArns = [arn('codeconnections', 'connection/*'), arn('codestar-connections', 'connection/*')];
  return [
    new iam.PolicyStatement({
      sid: 'PassGitConnections',
      actions: ['codeconnections:PassConnection'],
      // A connection's ARN keeps the prefix it was created under; IAM authorizes either action on either.
      resources: connectionArns,
      conditions: { StringEquals: { 'codeconnections:PassedToService': 'codepipeline.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'PassGitConnectionsFormerPrefix',
      actions: ['codestar-connections:PassConnection'],
      resources: connectionArns,
      conditions: { StringEquals: { 'codestar-connections:PassedToService': 'codepipeline.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'GitProviderFunctions',
      actions: [
        'lambda:CreateFunction', 'lambda:DeleteFunction', 'lambda:GetFunction', 'lambda:GetFunctionConfiguration',
        'lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration', 'lambda:TagResource', 'lambda:UntagResource',
        'lambda:ListTags', 'lambda:InvokeFunction',
      ],
      resources: stackNamePrefixes.map(prefix => arn('lambda', `function:${prefix}*`)),
    }),
    new iam.PolicyStatement({
      sid: 'GitProviderLogGroups',
      actions: [
        'logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:PutRetentionPolicy', 'logs:DeleteRetentionPolicy',
        'logs:TagResource', 'logs:UntagResource', 'logs:ListTagsForResource', 'logs:TagLogGroup', 'logs:ListTagsLogGroup',
      ],
      resources: stackNamePrefixes.flatMap(prefix => [arn('logs', `log-group:${prefix}*`), arn('logs', `log-group:${prefix}*:*`)]),
    }),
    new iam.PolicyStatement({
      sid: 'DescribeLogGroups',
      // This action takes no resource.
      actions: ['logs:DescribeLogGroups'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'PassGitProviderRole',
      actions: ['iam:PassRole'],
      resources: [roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
    }),
  ];
}
