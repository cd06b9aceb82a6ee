import {
  Annotations, AspectPriority, Aspects, Aws, CfnOutput, CfnResource, Duration, Fn, IAspect, Lazy, Names,
  RemovalPolicy, Resource, Stack, Token,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, IConstruct } from 'constructs';
import type { MLOpsProjectTemplate } from './mlops-project-template';
import { CdkHelperFunctions } from './private/cdk-helper-functions';
import { DEFAULT_EXECUTION_ROLE_PARAMETER, executionRoleArnParameter } from './private/execution-role-parameter';
import { validatePermissionsBoundaryName, validateS3BucketName, validateSsmParameterName } from './private/input-checks';
import { gitProviderLaunchStatements, launchRoleStatements } from './private/launch-role-policy';
import { addNagSuppressions, GIT_PROVIDER_LAUNCH_ROLE_SUPPRESSIONS, launchRoleSuppressions, NagSuppression } from './private/nag-suppressions';
import { NO_PERMISSIONS_BOUNDARY_WARNING, permissionsBoundaryArn, PROJECT_NAME_TAG, ROLE_PATH } from './private/names';
import { checkQuotas } from './private/quotas';
import { productTemplateAsset } from './private/template-url';
import { libraryVersion } from './private/version';
import { ITemplatePublisher } from './template-publisher';

/**
 * Properties for a `ProjectTemplateBucket`.
 */
export interface ProjectTemplateBucketProps {
  /**
   * Bucket to publish the templates in. The templates' seed code goes into it too (at its root),
   * so its name must be known at synth time (an imported bucket, or one with a `bucketName`).
   * The construct cannot change a bucket of another stack: give such a bucket versioning, TLS
   * only, access logs and the CORS rule SageMaker Studio needs (see the README) yourself.
   *
   * @default - a new bucket: versioned, S3-managed encryption, TLS only, public access blocked,
   * ACLs disabled, server access logs in a second bucket, the CORS rule of SageMaker Studio, and
   * retained when the stack is deleted
   */
  readonly bucket?: s3.IBucket;

  /**
   * Name of the bucket this construct creates (when `bucket` is not given).
   *
   * @default - `sagemaker-project-templates-s3-<account>-<region>`, which needs the stack's
   * account and region at synth time (`env`); without them, give a name here
   */
  readonly bucketName?: string;

  /**
   * Key prefix of the templates: the location `s3://<bucket>/<prefix>` that SageMaker domains
   * are tagged with. A `/` is added at the end if it has none.
   *
   * @default 'templates/'
   */
  readonly prefix?: string;

  /**
   * ARNs of SageMaker domains (`arn:aws:sagemaker:<region>:<account>:domain/d-xxxxxxxxxxxx`) of
   * this stack's account and region to tag with `sagemaker:projectS3TemplatesLocation`, so
   * that their Studio lists the templates. The tag is removed when the stack is deleted.
   *
   * @default - no domain is tagged; the stack output `TemplatesLocation` says what to tag them with
   */
  readonly domainArns?: string[];

  /**
   * Name of an SSM parameter that holds the ARN of a role (typically the SageMaker Studio
   * execution role) that may create projects from the templates. It is read when the stack is
   * deployed, through the CloudFormation parameter `TemplateBucketExecutionRoleArn`, whose
   * default it is. The role must have no path, or the path `/service-role/` of SageMaker's
   * execution roles; give a role under another path through `roles`.
   *
   * @default - '/mlops/role/lead' when no other principal is given (`roles`, `users`,
   * `groups`), otherwise none
   */
  readonly executionRoleParameterName?: string;

  /**
   * Roles that may create projects from the templates.
   *
   * @default - none
   */
  readonly roles?: iam.IRole[];

  /**
   * Users that may create projects from the templates.
   *
   * @default - none
   */
  readonly users?: iam.IUser[];

  /**
   * Groups that may create projects from the templates.
   *
   * @default - none
   */
  readonly groups?: iam.IGroup[];

  /**
   * Role CloudFormation creates the projects' stacks with (the Role ARN of a project created
   * from an S3 template).
   *
   * @default - a role allowed to create exactly what the templates of this library create
   */
  readonly launchRole?: iam.IRole;

  /**
   * Name of the role this construct creates for CloudFormation.
   *
   * @default - a generated name
   */
  readonly launchRoleName?: string;

  /**
   * Name of a customer managed policy set as permissions boundary on the role CloudFormation
   * uses and on every role of the templates created inside this construct.
   *
   * @default - no boundary
   */
  readonly permissionsBoundaryPolicyName?: string;
}

/**
 * Options for publishing a template in a `ProjectTemplateBucket`.
 */
export interface AddS3TemplateOptions {
  /**
   * Name of the template in its object key, `<prefix><templateName>-<versionName>.yaml`: 1-100
   * letters, digits, '.', '_' or '-'.
   *
   * @default - the template's `productName`, in lower case, with '-' for every run of other
   * characters than letters and digits
   */
  readonly templateName?: string;

  /**
   * Name of the version this synthesis publishes. Earlier versions stay in the bucket (so
   * projects made from them keep working), hidden from SageMaker Studio.
   *
   * @default - `v<library version>`, as the versions of a `ProjectPortfolio`'s products
   */
  readonly versionName?: string;
}

/**
 * A template version published in a `ProjectTemplateBucket`.
 */
export interface PublishedS3Template {
  /** Name of the template. */
  readonly templateName: string;

  /** Name of the version. */
  readonly versionName: string;

  /** Key of the template object. */
  readonly objectKey: string;

  /** URL of the template object: the `TemplateURL` of a project's `CfnTemplateProvider`. */
  readonly templateUrl: string;
}

/** Object tag SageMaker Studio lists S3 templates by. */
const STUDIO_VISIBILITY_TAG = 'sagemaker:studio-visibility';
/** Domain tag that tells SageMaker Studio where the S3 templates are. */
const TEMPLATES_LOCATION_TAG = 'sagemaker:projectS3TemplatesLocation';
/** SageMaker names the stacks of projects made from S3 templates SP-... */
const STACK_NAME_PREFIX = 'SP-';
/** Marks the role, for readers of the template and the IAM contract checks. */
const ROLE_METADATA = 'cdk-sagemaker-project-templates:S3Templates';
const DOMAIN_ARN = /^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):domain\/d-[a-z0-9]{12}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const PREFIX = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/?$/;

/**
 * An S3 bucket of SageMaker project templates ("S3 templates"), the alternative to a Service
 * Catalog `ProjectPortfolio`: each added `MLOpsProjectTemplate` is published as an object that
 * SageMaker Studio lists (tag `sagemaker:studio-visibility=true`) in every domain tagged with
 * the bucket's location, and projects are created from it by CloudFormation with the role
 * `launchRole`.
 *
 * Templates created inside this construct keep their seed code in its bucket; a template created
 * inside a `ProjectPortfolio` of the same stack may be published here too.
 */
export class ProjectTemplateBucket extends Construct implements ITemplatePublisher {
  /** The bucket that holds the templates (under `prefix`) and their seed code. */
  public readonly bucket: s3.IBucket;

  /** Bucket that holds the file assets (seed code) of the templates created inside this construct: `bucket`. */
  public readonly fileAssetBucket: s3.IBucket;

  /**
   * The permissions boundary set on the launch role and on every role of the templates created
   * inside this construct.
   *
   * @default - no boundary
   */
  public readonly permissionsBoundaryPolicyName?: string;

  /** The bucket that receives the template bucket's server access logs, when this construct created both. */
  public readonly accessLogsBucket?: s3.IBucket;

  /** Key prefix of the templates, ending with '/'. */
  public readonly prefix: string;

  /** `s3://<bucket>/<prefix>`: the value of the domain tag `sagemaker:projectS3TemplatesLocation`. */
  public readonly templatesLocation: string;

  /** Role CloudFormation creates the projects' stacks with: the Role ARN a project needs. */
  public readonly launchRole: iam.IRole;

  /** The policy of the principals that may create projects, if any is given. */
  public readonly accessPolicy?: iam.Policy;

  /** Template versions published so far, in order. */
  public readonly templates: PublishedS3Template[] = [];

  private readonly ownedLaunchRole?: iam.Role;
  private readonly keys = new Map<string, MLOpsProjectTemplate>();
  private readonly added = new Set<MLOpsProjectTemplate>();
  private readonly readableAssetBuckets = new Set<s3.IBucket>();
  private gitProviderLaunchesAllowed = false;

  constructor(scope: Construct, id: string, props: ProjectTemplateBucketProps = {}) {
    super(scope, id);
    const owner = `ProjectTemplateBucket ${id}`;
    const stack = Stack.of(this);
    validateProps(owner, stack, props);
    checkQuotas(this, owner);
    const boundaryArn = props.permissionsBoundaryPolicyName === undefined ? undefined : permissionsBoundaryArn(props.permissionsBoundaryPolicyName);
    this.prefix = normalizePrefix(owner, props.prefix);

    if (props.bucket) {
      this.bucket = props.bucket;
      if (props.bucket instanceof s3.Bucket) {
        props.bucket.addCorsRule(STUDIO_CORS_RULE);
      } else {
        Annotations.of(this).addWarningV2('cdk-sagemaker-project-templates:templateBucketCors',
          `The bucket is not created in this app, so the CORS rule SageMaker Studio needs cannot be added to it: allow origins https://*.sagemaker.aws (methods ${STUDIO_CORS_RULE.allowedMethods.join(', ')}; headers *; exposed headers ${STUDIO_CORS_RULE.exposedHeaders!.join(', ')})`);
      }
      if (Resource.isOwnedResource(props.bucket) && !literalBucketName(props.bucket)) {
        throw new Error(`${owner}: bucket '${props.bucket.node.path}' has no bucketName known at synth time, but product templates refer to the bucket of their seed code by name; give it a bucketName`);
      }
    } else {
      const logs = new s3.Bucket(this, 'AccessLogsBucket', {
        // S3 delivers server access logs only to buckets with S3-managed encryption.
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycleRules: [{ expiration: Duration.days(365) }],
        removalPolicy: RemovalPolicy.RETAIN,
      });
      addNagSuppressions(logs.node.defaultChild as CfnResource, [ACCESS_LOGS_BUCKET_SUPPRESSION]);
      const bucket = new s3.Bucket(this, 'Bucket', {
        bucketName: templateBucketName(this, stack, props.bucketName),
        encryption: s3.BucketEncryption.S3_MANAGED,
        versioned: true,
        enforceSSL: true,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        cors: [STUDIO_CORS_RULE],
        // Projects made from earlier versions keep reading their templates and seed code.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Set here rather than through serverAccessLogsBucket, whose result depends on the app's
      // feature flags (ACL or bucket policy): always a bucket policy for the S3 logging service.
      (bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = { destinationBucketName: logs.bucketName, logFilePrefix: 'templates/' };
      logs.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'S3ServerAccessLogs',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [logs.arnForObjects('templates/*')],
        conditions: { ArnLike: { 'aws:SourceArn': bucket.bucketArn }, StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }));
      this.bucket = bucket;
      this.accessLogsBucket = logs;
    }
    this.templatesLocation = `s3://${this.bucket.bucketName}/${this.prefix}`;
    this.fileAssetBucket = this.bucket;
    this.permissionsBoundaryPolicyName = props.permissionsBoundaryPolicyName;

    if (props.launchRole) {
      this.launchRole = props.launchRole;
    } else {
      this.ownedLaunchRole = new iam.Role(this, 'LaunchRole', {
        assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com'),
        // Not under the library's role path, whose roles this role may change.
        path: '/service-role/',
        roleName: props.launchRoleName,
        description: 'Creates the stacks of SageMaker projects made from S3 templates',
      });
      for (const statement of launchRoleStatements({
        assetBucket: this.bucket,
        permissionsBoundaryPolicyName: props.permissionsBoundaryPolicyName,
        scope: this,
        stackNamePrefixes: [STACK_NAME_PREFIX],
      })) {
        this.ownedLaunchRole.addToPrincipalPolicy(statement);
      }
      const roleResource = this.ownedLaunchRole.node.defaultChild as CfnResource;
      roleResource.addMetadata(ROLE_METADATA, {
        StackNamePrefix: STACK_NAME_PREFIX,
        Templates: Lazy.list({ produce: () => this.templates.map(t => t.objectKey) }, { omitEmpty: true }),
      });
      const policy = this.ownedLaunchRole.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource;
      addNagSuppressions(policy, [...s3TemplateLaunchRoleSuppressions(), templateBucketObjectsSuppression(this.bucket)]);
      this.launchRole = this.ownedLaunchRole;
      if (props.permissionsBoundaryPolicyName === undefined) {
        Annotations.of(this).addWarningV2(NO_PERMISSIONS_BOUNDARY_WARNING,
          `The template bucket has no permissionsBoundaryPolicyName: its launch role may create roles under ${ROLE_PATH} with any inline policy, and pass them to CodeBuild, CodePipeline, EventBridge and SageMaker, so whoever controls a template controls what those roles may do. Set permissionsBoundaryPolicyName to a policy that caps every role`);
      }
    }
    new CfnOutput(this, 'LaunchRoleArn', {
      description: 'Role ARN to give when creating a SageMaker project from these S3 templates (the role CloudFormation creates its stack with)',
      value: this.launchRole.roleArn,
    });

    CdkHelperFunctions.of(stack, owner).requirePermissionsBoundary(boundaryArn);
    if (props.permissionsBoundaryPolicyName !== undefined) {
      iam.PermissionsBoundary.of(this).apply(iam.ManagedPolicy.fromManagedPolicyName(this, 'PermissionsBoundary', props.permissionsBoundaryPolicyName));
    }
    // aws-cdk-lib's BucketDeployment copies the seed code of templates created inside this
    // construct into the bucket; its role's policy names the bucket.
    Aspects.of(stack).add(new BucketDeploymentSuppression(this.bucket), { priority: AspectPriority.MUTATING });

    this.accessPolicy = this.giveAccess(props);
    this.tagDomains(owner, props.domainArns ?? []);
  }

  /**
   * Publish a template: its synthesized template is copied to `<prefix><templateName>-<versionName>.yaml`
   * with the tag `sagemaker:studio-visibility=true`. When a later deployment publishes another
   * version, the earlier object stays (projects made from it keep working) and is tagged
   * `sagemaker:studio-visibility=false`, so Studio lists only the current version.
   *
   * The template must be created inside this construct, or inside a `ProjectPortfolio` (or with
   * `assetBucket`) of the same stack.
   */
  public addTemplate(template: MLOpsProjectTemplate, options: AddS3TemplateOptions = {}): PublishedS3Template {
    const owner = `ProjectTemplateBucket.addTemplate(${template.node.id})`;
    if (this.added.has(template)) {
      throw new Error(`${owner}: the template is already published in this bucket; add each template once, and give a changed template a new versionName`);
    }
    const parent = Stack.of(template.node.scope!);
    if (parent !== Stack.of(this)) {
      throw new Error(`${owner}: the template belongs to stack '${parent.node.path}' (its template and seed code are assets of that stack, as are those of a ProjectPortfolio it is created in), but this bucket is in stack '${Stack.of(this).node.path}'; create the template inside this ProjectTemplateBucket (new ${template.constructor.name}(templateBucket, ...)), or put the bucket in the same stack as the portfolio`);
    }
    const templateName = options.templateName ?? keySafe(template.productName);
    const versionName = options.versionName ?? `v${libraryVersion()}`;
    if (!NAME.test(templateName)) {
      throw new Error(`${owner}: templateName '${templateName}' is invalid; use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    if (!NAME.test(versionName)) {
      throw new Error(`${owner}: versionName '${versionName}' is invalid; use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
    }
    const objectKey = `${this.prefix}${templateName}-${versionName}.yaml`;
    const taken = this.keys.get(objectKey);
    if (taken) {
      throw new Error(`${owner}: template '${taken.node.path}' is already published as '${objectKey}'; give one of them another templateName`);
    }
    this.keys.set(objectKey, template);
    this.added.add(template);

    const asset = productTemplateAsset(this, template);
    if (asset.assetBucket && asset.assetBucket !== this.bucket) this.allowSeedCodeOf(asset.assetBucket);
    if (template.usesGitProviderConnection) this.allowGitProviderLaunches();

    const copy = {
      service: 'S3',
      action: 'copyObject',
      parameters: {
        Bucket: this.bucket.bucketName,
        Key: objectKey,
        CopySource: `${asset.bucketName}/${asset.objectKey}`,
        TaggingDirective: 'REPLACE',
        Tagging: `${STUDIO_VISIBILITY_TAG}=true`,
      },
      physicalResourceId: cr.PhysicalResourceId.of(objectKey),
      outputPaths: ['VersionId'],
    };
    // One resource per version: a new version is a new resource, and CloudFormation deletes the
    // one of the version before, which hides that version's object.
    new cr.AwsCustomResource(this, `Template-${templateName}-${versionName}`, {
      onCreate: copy,
      onUpdate: copy,
      onDelete: {
        service: 'S3',
        action: 'putObjectTagging',
        parameters: { Bucket: this.bucket.bucketName, Key: objectKey, Tagging: { TagSet: [{ Key: STUDIO_VISIBILITY_TAG, Value: 'false' }] } },
        ignoreErrorCodesMatching: 'NoSuchKey',
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: [`arn:${Aws.PARTITION}:s3:::${asset.bucketName}/${asset.objectKey}`],
        }),
        new iam.PolicyStatement({
          actions: ['s3:PutObject', 's3:PutObjectTagging'],
          resources: [this.bucket.arnForObjects(objectKey)],
        }),
      ]),
      installLatestAwsSdk: false,
    });
    const published = {
      templateName,
      versionName,
      objectKey,
      templateUrl: this.bucket.virtualHostedUrlForObject(objectKey, { regional: true }),
    };
    this.templates.push(published);
    return published;
  }

  /** The role CloudFormation uses reads the seed code of templates kept in another bucket (a portfolio's). */
  private allowSeedCodeOf(assetBucket: s3.IBucket): void {
    if (!this.ownedLaunchRole || this.readableAssetBuckets.has(assetBucket)) return;
    this.readableAssetBuckets.add(assetBucket);
    this.ownedLaunchRole.addToPrincipalPolicy(new iam.PolicyStatement({
      sid: `ReadSeedCode${this.readableAssetBuckets.size}`,
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resources: [assetBucket.arnForObjects('*')],
    }));
  }

  /** Once, for the first template whose pipelines read from a git provider connection. */
  private allowGitProviderLaunches(): void {
    if (!this.ownedLaunchRole || this.gitProviderLaunchesAllowed) return;
    this.gitProviderLaunchesAllowed = true;
    const policy = new iam.Policy(this.ownedLaunchRole, 'GitProviderPolicy', {
      statements: gitProviderLaunchStatements([STACK_NAME_PREFIX]),
      roles: [this.ownedLaunchRole],
    });
    const shared = ['Resource::*', `Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role${ROLE_PATH}*`];
    addNagSuppressions(policy.node.defaultChild as CfnResource, [
      ...launchRoleSuppressions().filter(s => (s.appliesTo ?? []).some(finding => shared.includes(finding as string))),
      GIT_PROVIDER_LAUNCH_ROLE_SUPPRESSIONS[0],
      S3_TEMPLATE_GIT_PROVIDER_SUPPRESSION,
    ]);
  }

  /**
   * The principals that create projects: read the templates (Studio lists them by their tags),
   * pass the launch role to CloudFormation, and act on the stacks SageMaker creates for them.
   */
  private giveAccess(props: ProjectTemplateBucketProps): iam.Policy | undefined {
    const roles = [...props.roles ?? []];
    const othersGiven = [props.roles, props.users, props.groups].some(list => (list ?? []).length > 0);
    const parameterName = props.executionRoleParameterName ?? (othersGiven ? undefined : DEFAULT_EXECUTION_ROLE_PARAMETER);
    if (parameterName) {
      const executionRoleArn = executionRoleArnParameter(this, {
        parameterName,
        preferredLogicalId: 'TemplateBucketExecutionRoleArn',
        grants: 'create projects from the S3 templates',
      });
      // IAM policies name roles by name. A CloudFormation function cannot take the last part of
      // an ARN whose path it does not know: the name follows ':role/', after the path
      // '/service-role/' of SageMaker's execution roles, if it is there.
      const afterRole = Fn.select(1, Fn.split(':role/', executionRoleArn.valueAsString));
      const roleName = Fn.join('', Fn.split('service-role/', afterRole));
      roles.push(iam.Role.fromRoleName(this, 'ExecutionRole', roleName));
    }
    if (roles.length + (props.users ?? []).length + (props.groups ?? []).length === 0) return undefined;
    const stacks = `arn:${Aws.PARTITION}:cloudformation:${Aws.REGION}:${Aws.ACCOUNT_ID}:stack/${STACK_NAME_PREFIX}*`;
    const policy = new iam.Policy(this, 'AccessPolicy', {
      roles,
      users: props.users,
      groups: props.groups,
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadTemplates',
          // Studio lists the templates by their tag, and CloudFormation reads the template with
          // the permissions of whoever creates the project.
          actions: ['s3:GetObject', 's3:GetObjectTagging'],
          resources: [this.bucket.arnForObjects(`${this.prefix}*`)],
        }),
        new iam.PolicyStatement({
          sid: 'ListTemplates',
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${this.prefix}*`] } },
        }),
        new iam.PolicyStatement({
          sid: 'PassLaunchRole',
          actions: ['iam:PassRole'],
          resources: [this.launchRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
        }),
        new iam.PolicyStatement({
          sid: 'ProjectStacks',
          actions: ['cloudformation:CreateStack', 'cloudformation:UpdateStack', 'cloudformation:DeleteStack', 'cloudformation:DescribeStacks'],
          resources: [stacks],
        }),
        new iam.PolicyStatement({
          sid: 'TagProjectStacks',
          actions: ['cloudformation:TagResource', 'cloudformation:UntagResource'],
          resources: [stacks],
          conditions: { Null: { [`aws:ResourceTag/${PROJECT_NAME_TAG}`]: 'false' } },
        }),
      ],
    });
    addNagSuppressions(policy.node.defaultChild as CfnResource, [
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The template objects under the bucket\'s template prefix, which SageMaker Studio lists by their tags and whose current versions change with each deployment.',
        appliesTo: [templateObjectsFinding(this.bucket, this.prefix)],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'SageMaker names the stack of each project created from an S3 template SP-<...> when the project is created.',
        appliesTo: ['Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/SP-*'],
      },
    ]);
    return policy;
  }

  /** Tag each domain with the templates' location, or say in an output what to tag domains with. */
  private tagDomains(owner: string, domainArns: string[]): void {
    if (domainArns.length === 0) {
      new CfnOutput(this, 'TemplatesLocation', {
        description: `Tag each SageMaker domain whose Studio should list these templates with ${TEMPLATES_LOCATION_TAG} = this value (aws sagemaker add-tags)`,
        value: this.templatesLocation,
      });
      return;
    }
    domainArns.forEach((domainArn, index) => {
      if (domainArns.indexOf(domainArn) !== index) {
        throw new Error(`${owner}: domainArns lists '${domainArn}' twice; list each domain once`);
      }
      const call = {
        service: 'SageMaker',
        action: 'addTags',
        parameters: { ResourceArn: domainArn, Tags: [{ Key: TEMPLATES_LOCATION_TAG, Value: this.templatesLocation }] },
        physicalResourceId: cr.PhysicalResourceId.of(domainArn),
      };
      new cr.AwsCustomResource(this, `DomainTag${index}`, {
        onCreate: call,
        onUpdate: call,
        onDelete: {
          service: 'SageMaker',
          action: 'deleteTags',
          parameters: { ResourceArn: domainArn, TagKeys: [TEMPLATES_LOCATION_TAG] },
          ignoreErrorCodesMatching: 'ResourceNotFound',
        },
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({ actions: ['sagemaker:AddTags', 'sagemaker:DeleteTags'], resources: [domainArn] }),
        ]),
        installLatestAwsSdk: false,
      });
    });
  }
}

/** The CORS rule SageMaker Studio needs on a bucket of S3 templates (AWS's setup instructions). */
const STUDIO_CORS_RULE: s3.CorsRule = {
  allowedOrigins: ['https://*.sagemaker.aws'],
  allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.HEAD, s3.HttpMethods.PUT, s3.HttpMethods.POST, s3.HttpMethods.DELETE],
  allowedHeaders: ['*'],
  exposedHeaders: ['ETag', 'x-amz-delete-marker', 'x-amz-id-2', 'x-amz-request-id', 'x-amz-server-side-encryption', 'x-amz-version-id'],
};

const ACCESS_LOGS_BUCKET_SUPPRESSION: NagSuppression = {
  id: 'AwsSolutions-S1',
  reason: 'This is the access log bucket of the S3 template bucket; logging it into itself would log its own log deliveries.',
};

const S3_TEMPLATE_GIT_PROVIDER_SUPPRESSION: NagSuppression = {
  id: 'AwsSolutions-IAM5',
  reason: 'CloudFormation names the git provider handler function and log group of each project after its stack, which SageMaker names SP-<...> when a project is created from an S3 template.',
  appliesTo: [
    'Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:SP-*',
    'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:SP-*',
    'Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:SP-*:*',
  ],
};

/** The launch role's suppressions, with the stacks SageMaker names SP-... instead of Service Catalog's SC-... */
function s3TemplateLaunchRoleSuppressions(): NagSuppression[] {
  const serviceCatalogStacks = 'Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/SC-*';
  return [
    ...launchRoleSuppressions().filter(s => !(s.appliesTo ?? []).includes(serviceCatalogStacks)),
    {
      id: 'AwsSolutions-IAM5',
      reason: 'SageMaker names the stack of each project created from an S3 template SP-<...>, and CloudFormation its change sets, when the project is created.',
      appliesTo: [
        'Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/SP-*',
        'Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:changeSet/*',
      ],
    },
  ];
}

function templateBucketObjectsSuppression(bucket: s3.IBucket): NagSuppression {
  return {
    id: 'AwsSolutions-IAM5',
    reason: 'Seed code archives, named by content hash, and the templates in the S3 template bucket, which CloudFormation reads when it creates a project\'s stack.',
    appliesTo: [templateObjectsFinding(bucket, '')],
  };
}

/** The cdk-nag finding of `<bucket ARN>/<prefix>*`. */
function templateObjectsFinding(bucket: s3.IBucket, prefix: string): string {
  const cfn = bucket.node.defaultChild;
  if (Resource.isOwnedResource(bucket) && cfn instanceof s3.CfnBucket) {
    return `Resource::<${Stack.of(bucket).resolve(cfn.logicalId)}.Arn>/${prefix}*`;
  }
  const resolved = Stack.of(bucket).resolve(bucket.arnForObjects(`${prefix}*`));
  const flat = (value: any): string => typeof value === 'string' ? value
    : value?.Ref ? `<${value.Ref}>`
      : value?.['Fn::Join'] ? value['Fn::Join'][1].map(flat).join(value['Fn::Join'][0])
        : JSON.stringify(value);
  return `Resource::${flat(resolved)}`;
}

/**
 * The suppression of aws-cdk-lib's BucketDeployment (a stack-wide singleton) writing into the
 * template bucket; added by an aspect, after every grant.
 */
class BucketDeploymentSuppression implements IAspect {
  constructor(private readonly bucket: s3.IBucket) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof iam.CfnPolicy) || !node.node.path.includes('/Custom::CDKBucketDeployment')) return;
    addNagSuppressions(node, [{
      id: 'AwsSolutions-IAM5',
      reason: 'aws-cdk-lib\'s BucketDeployment writes the seed code archives of the templates created inside a ProjectTemplateBucket into its bucket, with the action groups its grants emit.',
      appliesTo: [templateObjectsFinding(this.bucket, '')],
    }]);
  }
}

/** A literal name of a bucket, if it has one. */
function literalBucketName(bucket: s3.IBucket): string | undefined {
  const cfn = bucket.node.defaultChild;
  const name = cfn instanceof s3.CfnBucket ? cfn.bucketName : bucket.bucketName;
  return name === undefined || Token.isUnresolved(name) ? undefined : name;
}

/** Product templates name the seed code bucket literally, so its name must be known at synth time. */
function templateBucketName(construct: ProjectTemplateBucket, stack: Stack, given?: string): string {
  const id = construct.node.id;
  if (given !== undefined) {
    if (Token.isUnresolved(given)) {
      throw new Error(`ProjectTemplateBucket ${id}: bucketName must be known at synth time, as product templates refer to the bucket of their seed code by name; give a literal name`);
    }
    validateS3BucketName(`ProjectTemplateBucket ${id}`, 'bucketName', given);
    return given;
  }
  if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) {
    throw new Error(`ProjectTemplateBucket ${id}: stack '${stack.stackName}' has no account and region, so the bucket that product templates refer to by name cannot be named; give the stack an env ({ account, region }) or pass bucketName`);
  }
  const name = `sagemaker-project-templates-s3-${stack.account}-${stack.region}`;
  const first = stack.node.findAll().find(c => c instanceof ProjectTemplateBucket) === construct;
  return first ? name : `${name}-${Names.uniqueId(construct).slice(-8).toLowerCase()}`.slice(0, 63);
}

/** `preferred`, unless another element of the stack has that logical id: then prefixed with the construct's unique id. */
/** 'Dynamic Accounts MLOps template' -> 'dynamic-accounts-mlops-template'. */
function keySafe(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100).replace(/-+$/, '');
}

function normalizePrefix(owner: string, prefix: string = 'templates/'): string {
  if (Token.isUnresolved(prefix)) {
    throw new Error(`${owner}: prefix must be known at synth time (it is part of every template's object key); give a literal such as 'templates/'`);
  }
  if (prefix.length === 0 || prefix === '/') {
    throw new Error(`${owner}: prefix '${prefix}' is empty; give the folder the templates go to, such as 'templates/' (the bucket's root also holds the seed code)`);
  }
  if (prefix.startsWith('/')) {
    throw new Error(`${owner}: prefix '${prefix}' starts with '/', which would make an empty folder name in every key; leave the leading '/' out ('${prefix.replace(/^\/+/, '')}')`);
  }
  if (!PREFIX.test(prefix) || prefix.length > 512) {
    throw new Error(`${owner}: prefix '${prefix}' is invalid; use folder names of letters, digits and !_.*'()- separated by single '/', such as 'templates/' or 'ml/templates/'`);
  }
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

function validateProps(owner: string, stack: Stack, props: ProjectTemplateBucketProps): void {
  validatePermissionsBoundaryName(owner, props.permissionsBoundaryPolicyName);
  if (props.bucket && props.bucketName !== undefined) {
    throw new Error(`${owner}: bucketName '${props.bucketName}' names a bucket to create, but bucket is given too; give one`);
  }
  if (props.launchRole && props.launchRoleName !== undefined) {
    throw new Error(`${owner}: launchRoleName '${props.launchRoleName}' names a role to create, but launchRole is given too; give one`);
  }
  if (props.launchRoleName !== undefined && !Token.isUnresolved(props.launchRoleName) && !/^[\w+=,.@-]{1,64}$/.test(props.launchRoleName)) {
    throw new Error(`${owner}: launchRoleName '${props.launchRoleName}' is not an IAM role name; use 1-64 letters, digits or +=,.@_-`);
  }
  if (props.executionRoleParameterName !== undefined) {
    validateSsmParameterName(owner, 'executionRoleParameterName', props.executionRoleParameterName);
  }
  (props.domainArns ?? []).forEach((domainArn, index) => {
    if (Token.isUnresolved(domainArn)) return;
    const match = DOMAIN_ARN.exec(domainArn);
    if (!match) {
      throw new Error(`${owner}: domainArns[${index}] '${domainArn}' is not the ARN of a SageMaker domain; use arn:aws:sagemaker:<region>:<account>:domain/d-xxxxxxxxxxxx (aws sagemaker list-domains)`);
    }
    const [, region, account] = match;
    if ((!Token.isUnresolved(stack.region) && region !== stack.region) || (!Token.isUnresolved(stack.account) && account !== stack.account)) {
      throw new Error(`${owner}: domainArns[${index}] '${domainArn}' is a domain of account ${account} in ${region}, but the stack is in account ${stack.account}, ${stack.region}; use domains of the stack's account and region (deploy a ProjectTemplateBucket there for the others)`);
    }
  });
}
