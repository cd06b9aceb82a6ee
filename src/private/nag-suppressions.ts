import { AspectPriority, Aspects, CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * cdk-nag suppressions, written as the `cdk_nag` metadata that cdk-nag reads, so that users of
 * this library get a clean AwsSolutions report without the library depending on cdk-nag.
 * Every suppression names its rule, the findings it covers and why they are right here; the
 * README's Security section lists them all.
 */
export interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  /** Findings covered: exact finding ids, or `{ regex: '/.../' }`. */
  readonly appliesTo?: (string | { regex: string })[];
}

/**
 * Merge suppressions into a resource's `cdk_nag` metadata (what cdk-nag 2 reads), and record them
 * as acknowledged rules (what cdk-nag 3 reads, see `ACKNOWLEDGED_RULES`).
 */
export function addNagSuppressions(resource: CfnResource, suppressions: NagSuppression[]): void {
  const existing = resource.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
  const added = suppressions.map(s => ({ id: s.id, reason: s.reason, ...(s.appliesTo ? { applies_to: s.appliesTo } : {}) }));
  resource.addMetadata('cdk_nag', { rules_to_suppress: [...existing, ...added] });
  // The findings are known only once the resource is complete (grants come later): the ids are
  // filled in at synthesis, after every aspect and before any validation plugin, and refilled if
  // the app is synthesized again.
  const acknowledged: Record<string, string> = {};
  resource.node.addMetadata(ACKNOWLEDGED_RULES, acknowledged);
  resource.node.addValidation({
    validate: () => {
      Object.keys(acknowledged).forEach(id => delete acknowledged[id]);
      Object.assign(acknowledged, acknowledgedRuleIds(resource, suppressions));
      return [];
    },
  });
}

/**
 * The construct metadata in which cdk-nag 3 looks for acknowledged rules: aws-cdk-lib's
 * `Validations.ACKNOWLEDGED_RULES_METADATA_KEY`, spelled out because aws-cdk-lib has it only since
 * 2.257. Its data maps rule ids to reasons; cdk-nag 3 compares each id, as written or without an
 * `annotation::` prefix, with the exact finding (`AwsSolutions-L1`, `AwsSolutions-IAM5[Resource::*]`).
 */
export const ACKNOWLEDGED_RULES = 'aws:cdk:acknowledged-rules';

/**
 * The acknowledged rule ids, with reasons, that match cdk-nag 2's reading of `suppressions`:
 * `<rule>[<finding>]` for every exact `appliesTo` and for every finding of the resource that an
 * `appliesTo` regex matches; a suppression without `appliesTo` covers the rule and all its findings.
 */
export function acknowledgedRuleIds(resource: CfnResource, suppressions: NagSuppression[]): Record<string, string> {
  const candidates = nagFindingCandidates(resource);
  const ids: Record<string, string> = {};
  const add = (id: string, reason: string) => { ids[id] ??= reason; };
  for (const s of suppressions) {
    const findings = candidates[s.id.slice(s.id.lastIndexOf('-') + 1)] ?? [];
    if (!s.appliesTo) {
      add(s.id, s.reason);
      findings.forEach(f => add(`${s.id}[${f}]`, s.reason));
      continue;
    }
    for (const pattern of s.appliesTo) {
      if (typeof pattern === 'string') {
        add(`${s.id}[${pattern}]`, s.reason);
      } else {
        const parts = /^\/(.*)\/([a-z]*)$/s.exec(pattern.regex);
        const regex = parts ? new RegExp(parts[1], parts[2]) : new RegExp(pattern.regex);
        findings.filter(f => regex.test(f)).forEach(f => add(`${s.id}[${f}]`, s.reason));
      }
    }
  }
  return ids;
}

/**
 * The findings cdk-nag can name on a resource, in its notation, by rule: `Action::` and `Resource::`
 * for the wildcards of allowed statements (IAM5), `Policy::` for AWS managed policies (IAM4).
 */
function nagFindingCandidates(resource: CfnResource): Record<string, string[]> {
  const stack = Stack.of(resource);
  const documents: any[] = [];
  const managedPolicies: any[] = [];
  if (resource instanceof iam.CfnPolicy || resource instanceof iam.CfnManagedPolicy) {
    documents.push(stack.resolve(resource.policyDocument));
  } else if (resource instanceof iam.CfnRole || resource instanceof iam.CfnUser || resource instanceof iam.CfnGroup) {
    for (const policy of [stack.resolve(resource.policies) ?? []].flat()) {
      documents.push(stack.resolve(stack.resolve(policy)?.policyDocument));
    }
    managedPolicies.push(...[stack.resolve(resource.managedPolicyArns) ?? []].flat());
  }
  const wildcards = new Set<string>();
  for (const statement of documents.flatMap(d => [d?.Statement ?? []].flat())) {
    if (statement?.Effect !== 'Allow') continue;
    [statement.Action ?? []].flat().filter((a: any) => String(a).includes('*')).forEach((a: any) => wildcards.add(`Action::${a}`));
    [statement.Resource ?? []].flat().map(flatReference).filter(r => r.includes('*')).forEach(r => wildcards.add(`Resource::${r}`));
  }
  const awsManaged = managedPolicies.map(p => flatReference(stack.resolve(p))).filter(p => p.includes(':iam::aws:'));
  return { IAM5: [...wildcards], IAM4: [...new Set(awsManaged)].map(p => `Policy::${p}`) };
}

/** A CloudFormation value as cdk-nag writes it in findings: `<Ref>`, `<Resource.Attribute>`, joins and subs flattened. */
function flatReference(value: any): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (value?.['Fn::Join']) return value['Fn::Join'][1].map(flatReference).join(value['Fn::Join'][0]);
  if (value?.['Fn::Sub']) return flatReference(value['Fn::Sub']);
  if (value?.['Fn::GetAtt']) return `<${flatReference(value['Fn::GetAtt'][0])}.${flatReference(value['Fn::GetAtt'][1])}>`;
  if (value?.['Fn::ImportValue']) return flatReference(value['Fn::ImportValue']);
  if (value?.Ref) return `<${flatReference(value.Ref)}>`;
  return JSON.stringify(value);
}

/** Actions that take no resource in IAM, and so are granted on `*`. */
export const ACTIONS_WITHOUT_RESOURCE = [
  'cloudformation:GetTemplateSummary',
  'cloudformation:ValidateTemplate',
  'codecommit:ListRepositories',
  'ec2:DescribeDhcpOptions',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeVpcs',
  'ecr:GetAuthorizationToken',
  'kms:CreateKey',
  'logs:DescribeLogGroups',
  'organizations:DescribeOrganization',
  'sagemaker:ListModelPackages',
  'sns:GetSubscriptionAttributes',
  'sns:SetSubscriptionAttributes',
  'sns:Unsubscribe',
];

/** IAM5 findings of the roles inside a project template, each group with its reason. */
export const PROJECT_ROLE_SUPPRESSIONS: NagSuppression[] = [
  {
    id: 'AwsSolutions-IAM5',
    reason: 'Network interfaces that CodeBuild and SageMaker create for the project\'s builds and jobs get their ids only when created; creating them is limited to the project\'s subnets and security groups (or, for a list entered at launch, to its VPC), and granting their use to the one service that asked.',
    appliesTo: [
      'Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*',
      'Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:subnet/*',
      'Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:security-group/*',
    ],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'Action groups that aws-cdk-lib grants emit for reading and writing the project\'s own buckets and KMS key (bucket.grantReadWrite, key.grantEncryptDecrypt); each statement names only those buckets and that key.',
    appliesTo: [{ regex: '/^Action::(s3:(GetObject|GetBucket|List|DeleteObject|Abort|PutObject)|kms:(GenerateDataKey|ReEncrypt))\\*$/' }],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'Objects of the project\'s own artifact and pipeline artifact buckets, whose keys the pipelines and SageMaker create at run time.',
    appliesTo: [{ regex: '/^Resource::<[A-Za-z0-9]*(ArtifactBucket|ArtifactsBucket)[A-Za-z0-9]*\\.Arn>\\/\\*$/' }],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'The log streams and test report groups of the project\'s own CodeBuild projects, which CodeBuild names at run time (statement generated by aws-cdk-lib).',
    appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:(logs|codebuild):<AWS::Region>:<AWS::AccountId>:(log-group:\\/aws\\/codebuild\\/<[A-Za-z0-9]+>:\\*|report-group\\/<[A-Za-z0-9]+>-\\*)$/' }],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'Jobs that the SageMaker pipeline\'s steps start, which SageMaker names pipelines-<execution>-<step> at run time; the logs of those jobs.',
    appliesTo: [
      { regex: '/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:(processing|training|transform)-job\\/pipelines-\\*$/' },
      { regex: '/^Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:\\/aws\\/sagemaker\\/(ProcessingJobs|TrainingJobs):(\\*|log-stream:pipelines-\\*)$/' },
    ],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'Model package versions of the project\'s own model package group and executions of its own SageMaker pipeline, created at run time.',
    appliesTo: [
      { regex: '/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package\\/[^/]+\\/\\*$/' },
      { regex: '/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:pipeline\\/[^/]+\\/execution\\/\\*$/' },
      { regex: '/^Action::sagemaker:DescribePipeline\\*$/' },
    ],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'SageMaker writes the project\'s pipeline and model package group names into ARNs in lower case, and a project name may hold capitals: the ARNs *-<project id> match those two names of this project only, whatever the case of its name.',
    appliesTo: [
      { regex: '/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:(pipeline|model-package-group)\\/\\*-<SageMakerProjectId>(\\/execution\\/\\*)?$/' },
      { regex: '/^Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package\\/\\*-<SageMakerProjectId>\\/\\*$/' },
    ],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'The project\'s own SSM parameters /mlops/<project-name>/<stage>/account_id and region, one pair per deployment stage.',
    appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter\\/mlops\\/[^/]+\\/\\*$/' }],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'SageMaker\'s built-in algorithm and framework images (sagemaker-xgboost, sagemaker-scikit-learn) live in AWS-owned registries whose account differs per region.',
    appliesTo: ['Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:*:repository/sagemaker-*'],
  },
];

/** The `Resource::*` finding, allowed only where every `*` statement is an action without resource. */
const NO_RESOURCE_SUPPRESSION: NagSuppression = {
  id: 'AwsSolutions-IAM5',
  reason: `Actions that take no resource in IAM (${ACTIONS_WITHOUT_RESOURCE.join(', ')}); the library adds this suppression only to policies whose every "*" statement holds such actions alone.`,
  appliesTo: ['Resource::*'],
};

/**
 * Adds the project role suppressions to every IAM policy in a scope. Runs before cdk-nag (a
 * mutating aspect), after every grant has been made.
 */
export class ProjectNagSuppressions implements IAspect {
  public static applyTo(scope: IConstruct): void {
    Aspects.of(scope).add(new ProjectNagSuppressions(), { priority: AspectPriority.MUTATING });
  }

  public visit(node: IConstruct): void {
    if (!(node instanceof iam.CfnPolicy)) return;
    const suppressions = [...PROJECT_ROLE_SUPPRESSIONS];
    if (onlyResourcelessActionsOnStar(Stack.of(node).resolve(node.policyDocument))) {
      suppressions.push(NO_RESOURCE_SUPPRESSION);
    }
    addNagSuppressions(node, suppressions);
  }
}

/** Whether every statement granting on `*` lists only actions that take no resource. */
export function onlyResourcelessActionsOnStar(document: any): boolean {
  return [document?.Statement ?? []].flat().every((statement: any) => {
    const resources = [statement.Resource ?? []].flat();
    if (!resources.includes('*')) return true;
    return [statement.Action ?? []].flat().every((action: string) => ACTIONS_WITHOUT_RESOURCE.includes(action));
  });
}

/** IAM5 findings of the launch role's policy, each group with its reason. */
export function launchRoleSuppressions(): NagSuppression[] {
  return [
    { ...NO_RESOURCE_SUPPRESSION },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Service Catalog names the stacks it provisions SC-<account>-pp-<id>, and their change sets, at launch time.',
      appliesTo: [
        'Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/SC-*',
        'Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:changeSet/*',
      ],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Product templates and seed code archives, named by content hash, in the portfolio\'s asset bucket and the CDK bootstrap bucket of this account and region.',
      appliesTo: [
        { regex: '/^Resource::<[A-Za-z0-9]*AssetBucket[A-Za-z0-9]*\\.Arn>\\/\\*$/' },
        'Resource::arn:<AWS::Partition>:s3:::cdk-*-assets-<AWS::AccountId>-<AWS::Region>/*',
      ],
    },
    {
      id: 'AwsSolutions-IAM5',
      reason: 'Each project\'s resources are named after the project name and id entered at launch; the launch role is limited to the resource types, the name prefixes (mlops-, /mlops/, alias/mlops/, the role path /sagemaker-project-templates/) and the account and region that the templates use.',
      appliesTo: [
        { regex: '/^Resource::arn:<AWS::Partition>:(codebuild|codecommit|codepipeline|events|kms|ecr|sagemaker|ssm|sns):<AWS::Region>:<AWS::AccountId>:(project\\/\\*|\\*|rule\\/\\*|key\\/\\*|alias\\/mlops\\/\\*|repository\\/mlops-\\*|mlops-\\*|model-package-group\\/\\*|parameter\\/mlops\\/\\*)$/' },
        'Resource::arn:<AWS::Partition>:s3:::mlops-*-<AWS::AccountId>-<AWS::Region>',
        'Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/sagemaker-project-templates/*',
      ],
    },
  ];
}

/** IAM5 findings of the statements a launch role gets when a template uses a git provider connection. */
export const GIT_PROVIDER_LAUNCH_ROLE_SUPPRESSIONS: NagSuppression[] = [
  {
    id: 'AwsSolutions-IAM5',
    reason: 'Projects that use a git provider choose their CodeConnections connection at launch (GitConnectionArn); the launch role may pass connections of this account and region only, and only to CodePipeline.',
    appliesTo: [
      'Resource::arn:<AWS::Partition>:codeconnections:<AWS::Region>:<AWS::AccountId>:connection/*',
      'Resource::arn:<AWS::Partition>:codestar-connections:<AWS::Region>:<AWS::AccountId>:connection/*',
    ],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'CloudFormation names the git provider handler function and log group of each project after its stack (SC-<account>-pp-<id>) at launch.',
    appliesTo: [
      'Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:SC-*',
      'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:SC-*',
      'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:SC-*:*',
    ],
  },
];

/** aws-cdk-lib's BucketDeployment, which copies the templates' seed code into the asset bucket. */
export const BUCKET_DEPLOYMENT_SUPPRESSIONS: NagSuppression[] = [
  {
    id: 'AwsSolutions-L1',
    reason: 'The function of aws-cdk-lib\'s BucketDeployment (seed code copy into the asset bucket); aws-cdk-lib chooses and updates its runtime.',
  },
  {
    id: 'AwsSolutions-IAM4',
    reason: 'aws-cdk-lib\'s BucketDeployment function writes its logs with the AWS managed AWSLambdaBasicExecutionRole policy.',
    appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'aws-cdk-lib\'s BucketDeployment reads the CDK bootstrap bucket\'s asset objects and writes the objects of the portfolio\'s asset bucket, with the action groups its grants emit.',
    appliesTo: [
      { regex: '/^Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort|PutObject)\\*$/' },
      { regex: '/^Resource::<[A-Za-z0-9]*AssetBucket[A-Za-z0-9]*\\.Arn>\\/\\*$/' },
      { regex: '/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-[0-9A-Za-z<>:-]+\\/\\*$/' },
    ],
  },
];

/** aws-cdk-lib's AwsCustomResource function, which shares the portfolio with organizational units. */
export const AWS_CUSTOM_RESOURCE_SUPPRESSIONS: NagSuppression[] = [
  {
    id: 'AwsSolutions-IAM4',
    reason: 'aws-cdk-lib\'s AwsCustomResource function (the portfolio\'s organization shares, a template bucket\'s template copies and domain tags) writes its logs with the AWS managed AWSLambdaBasicExecutionRole policy.',
    appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
  },
];
