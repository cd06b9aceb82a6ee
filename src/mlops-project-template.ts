import { Annotations, Aspects, Aws, CfnParameter, CfnResource, Duration, Lazy, RemovalPolicy, Tags, Token } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BuildPipeline, BuildPipelineOptions } from './build-pipeline';
import { DeployPipeline, DeployPipelineOptions } from './deploy-pipeline';
import { DeploymentStage, DeploymentStages } from './deployment-stage';
import { DATA_CAPTURE_PREFIX, organizationCondition, restrictDeploymentAccounts, validateDeploymentAccountRestrictions } from './private/deployment-accounts';
import { validateLength, validatePermissionsBoundaryName, validateRemovalPolicy } from './private/input-checks';
import { addNagSuppressions } from './private/nag-suppressions';
import { BUCKET_PREFIX, PROJECT_ID_PATTERN, PROJECT_ID_TAG, PROJECT_NAME_TAG, projectNamePattern, reservedProjectNames } from './private/names';
import { createNotifications, validateNotifications } from './private/notifications';
import { retainOnReplacement } from './private/pipeline-common';
import { pascalStageName } from './private/pipeline-deploy';
import { checkQuotas } from './private/quotas';
import { RolePathAspect } from './private/role-path';
import { keepDistinct, listedIf, resolveStages, ResolvedStage, stageOfResolved } from './private/stages';
import { ProjectNetwork } from './project-network';
import { ProjectNotificationsOptions } from './project-notifications';
import { ProjectPortfolio } from './project-portfolio';
import { ProjectTemplateBucket } from './project-template-bucket';
import { SeedCode } from './seed-code';
import { BundledSeedApp } from './seed-code-asset';
import { SourceRepository } from './source-repository';
import { ITemplatePublisher } from './template-publisher';

/**
 * Properties for an `MLOpsProjectTemplate`.
 */
export interface MLOpsProjectTemplateProps {
  /**
   * Name of the Service Catalog product, as data scientists see it in SageMaker Studio.
   *
   * @default - the construct id
   */
  readonly productName?: string;

  /**
   * Description of the product.
   *
   * @default - a description of the model build and deploy pipelines
   */
  readonly description?: string;

  /**
   * Where models are deployed, in order.
   *
   * @default - `dev` in the project's own account and region, then `preprod` and `prod` in the
   * accounts of the parameters `PreProdAccount` and `ProdAccount`, in the region of the
   * parameter `DeploymentRegion`
   */
  readonly stages?: DeploymentStage[];

  /**
   * Starter code of the model build repository.
   *
   * @default - the bundled `build_app`, or `byoc_build_app` when `bringYourOwnContainer` is set
   */
  readonly buildSeedCode?: SeedCode;

  /**
   * Starter code of the model deploy repository.
   *
   * @default - the bundled `deploy_app`
   */
  readonly deploySeedCode?: SeedCode;

  /**
   * Train in the project's own container: adds an ECR repository (scanned on push, pullable by
   * the deployment accounts) and a Docker build before the SageMaker pipeline runs.
   *
   * @default false
   */
  readonly bringYourOwnContainer?: boolean;

  /**
   * Branch of both repositories that the pipelines follow; `buildPipelineOptions.branch` and
   * `deployPipelineOptions.branch` override it for one of them.
   *
   * @default 'main'
   */
  readonly branch?: string;

  /**
   * Where both pipelines' code lives: CodeCommit repositories created from the seed code, or
   * repositories `<project-name>-build` and `<project-name>-deploy` on GitHub, GitLab or
   * Bitbucket through an AWS CodeConnections connection
   * (`SourceRepository.codeConnection({ ... })`, with the parameters `GitConnectionArn` and
   * `GitOwner` unless fixed).
   *
   * @default SourceRepository.codeCommit()
   */
  readonly sourceRepository?: SourceRepository;

  /**
   * Changes to the model build pipeline: repository and pipeline names, branch, build image,
   * compute type, timeout, environment variables.
   *
   * @default - the defaults of `BuildPipeline`
   */
  readonly buildPipelineOptions?: BuildPipelineOptions;

  /**
   * Changes to the model deployment pipeline: repository and pipeline names, branch, CDK
   * bootstrap qualifier, approval statuses that start it, security scan, build image, compute
   * type, environment variables.
   *
   * @default - the defaults of `DeployPipeline`
   */
  readonly deployPipelineOptions?: DeployPipelineOptions;

  /**
   * What happens to the buckets, the key, the model package group, the ECR repository and the
   * git repositories when a project is deleted: `RemovalPolicy.RETAIN` (the default) and
   * `RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE` keep them; `RemovalPolicy.DESTROY` deletes them.
   * `RemovalPolicy.SNAPSHOT` is refused (none of them takes snapshots).
   *
   * With `RemovalPolicy.DESTROY`: the ECR repository is deleted with its images and the
   * CodeCommit repositories with their history; the key is scheduled for deletion (30 days) once
   * the buckets are gone; but CloudFormation deletes a bucket only when it holds no object
   * version and a model package group only when it holds no model package, so deleting a project
   * whose buckets or model registry hold data fails (`DELETE_FAILED`, naming them) until they are
   * emptied; then delete it again. A resource replaced on an update (a new name) is kept
   * whatever this policy: DESTROY deletes only with the project.
   *
   * A retained repository keeps its name (`<project-name>-build`, `<project-name>-deploy`), so a
   * new project of the same name fails to create it (CodeCommit: `RepositoryNameExistsException`);
   * delete or rename the old repository first, or set `projectIdInRepositoryNames`.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Name the repositories `<project-name>-<project-id>-build` and `<project-name>-<project-id>-deploy`
   * (on CodeCommit or the git provider) instead of `<project-name>-build` and
   * `<project-name>-deploy`, so that a repository retained from a deleted project never blocks
   * a new project of the same name. `buildPipelineOptions.repositoryName` and
   * `deployPipelineOptions.repositoryName` take precedence.
   *
   * @default false - the original system's names
   */
  readonly projectIdInRepositoryNames?: boolean;

  /**
   * Where the template is published from: its asset bucket holds the template's file assets
   * (the seed code), and its permissions boundary caps the template's roles.
   *
   * @default - the `ProjectPortfolio` or `ProjectTemplateBucket` the template is created in
   * (its scope, or the nearest such ancestor), if any
   */
  readonly publisher?: ITemplatePublisher;

  /**
   * Bucket that holds the template's file assets (the seed code) for Service Catalog.
   *
   * @default - the `fileAssetBucket` of `publisher`
   */
  readonly assetBucket?: s3.IBucket;

  /**
   * Name of a customer managed policy in the project's account to set as permissions boundary
   * on every role the template creates.
   *
   * @default - the boundary of `publisher`, if any
   */
  readonly permissionsBoundaryPolicyName?: string;

  /**
   * The only accounts that stages may deploy to, other than the project's own. Account
   * parameters (such as `PreProdAccount` and `ProdAccount`) get them as `AllowedValues`, so
   * CloudFormation refuses any other account when a project is created; a fixed stage account
   * outside the list is refused at synth time. List the project's own account too if creators
   * may enter it for a stage.
   *
   * Without this and `organizationId`, a template whose stage accounts are entered at launch gets
   * a synth warning (`cdk-sagemaker-project-templates:deploymentAccountsUnrestricted`): whatever
   * account is entered gets read access to the project's artifacts, key, model packages and
   * images, in resource policies that outlive the project.
   *
   * @default - any account (with a synth warning when accounts are entered at launch)
   */
  readonly allowedDeploymentAccounts?: string[];

  /**
   * The AWS Organizations id (`o-xxxxxxxxxx`) that every deployment account must belong to:
   * each statement of the key, artifact bucket, pipeline artifact bucket and ECR repository
   * policies that names stage accounts or their roles gets the condition `aws:PrincipalOrgID`.
   * The model package group's policy does not (SageMaker evaluates it itself); it only lets the
   * accounts describe and list the packages and create models from them. `allowedDeploymentAccounts`
   * covers it too.
   *
   * @default - no organization condition
   */
  readonly organizationId?: string;

  /**
   * Notify an SNS topic per project (`mlops-<project id>-notifications`, encrypted with the
   * project's key) when either pipeline fails, a SageMaker pipeline execution fails, or a model
   * package is approved or rejected; subscribe email addresses, a parameter entered at project
   * creation, or anything else through `notificationTopic`.
   *
   * @default - no notifications
   */
  readonly notifications?: ProjectNotificationsOptions;

  /**
   * Prefix of the artifact bucket under which each stage's account may write, as
   * `<prefix><project name>-<stage>/output/...` (the batch inference app's output, with
   * `'batch/'`). Each stage account other than the project's gets `s3:PutObject` there, and the
   * project key lets those accounts create grants for AWS resources (the transform jobs encrypt
   * their volumes and output with it).
   *
   * @default - none: stage accounts write only their data capture
   */
  readonly stageOutputPrefix?: string;

  /**
   * Monitor the data quality of the models deployed to real-time endpoints (the bundled apps'
   * `MODEL_MONITORING`): the build's SageMaker pipeline computes a data-quality baseline of the
   * training features and records it in the model package, and each stage that captures data
   * gets a data-quality monitoring schedule against it (hourly unless the deploy app's
   * `config/<stage>.yml` says otherwise). The schedules' reports go under
   * `monitoring/<project name>-<stage>/` of the artifact bucket, which each stage account may
   * write, and their volumes and reports are encrypted with the project key. Each build and
   * each schedule run is a processing job, billed as such.
   *
   * @default false
   */
  readonly modelMonitoring?: boolean;

  /**
   * Private subnets and security groups of the project's builds (both pipelines' CodeBuild
   * projects) and of the SageMaker pipeline's jobs (processing, training, baseline; the bundled
   * build apps read `SUBNET_IDS` and `SECURITY_GROUP_IDS`), with inter-container traffic
   * encrypted and network isolation kept where it is on: fixed (`ProjectNetwork.fromIds`),
   * entered when a project is created (`ProjectNetwork.enteredAtCreation()`), or SSM parameters
   * the platform team keeps in each account (`ProjectNetwork.fromSsmParameters()`). The subnets
   * need routes to S3, SageMaker, ECR, CloudWatch Logs and the git provider (VPC endpoints or NAT).
   *
   * @default - no VPC
   */
  readonly network?: ProjectNetwork;
}

const DEFAULT_DESCRIPTION = 'Model building pipeline (pre-process, train, evaluate, register) and a model deployment pipeline that creates an endpoint in every deployment stage.';

/**
 * The Service Catalog product stack a SageMaker project is created from.
 *
 * It takes the parameters SageMaker fills in (`SageMakerProjectName`, `SageMakerProjectId`),
 * tags every resource with them, creates what the project's pipelines share (an artifact bucket,
 * one KMS key, the model package group, a pipeline artifact bucket and, for BYOC, an ECR
 * repository) and composes a `BuildPipeline` and a `DeployPipeline`.
 */
export class MLOpsProjectTemplate extends servicecatalog.ProductStack {
  /** Name of the product in Service Catalog. */
  public readonly productName: string;

  /** Description of the product. */
  public readonly productDescription: string;

  /** The SageMaker project name (a parameter reference). */
  public readonly projectName: string;

  /** The SageMaker project id (a parameter reference). */
  public readonly projectId: string;

  /** The parameter `SageMakerProjectName`. */
  public readonly projectNameParameter: CfnParameter;

  /** The parameter `SageMakerProjectId`. */
  public readonly projectIdParameter: CfnParameter;

  /** The project's one KMS key: artifacts, pipeline artifacts, and the deployment accounts' reads. */
  public readonly projectKey: kms.Key;

  /** Bucket for SageMaker pipeline data and model artifacts, readable and writable by the deployment accounts. */
  public readonly artifactBucket: s3.Bucket;

  /** Bucket both CodePipelines keep their artifacts in. */
  public readonly pipelineArtifactBucket: s3.Bucket;

  /** Bucket that receives the server access logs of the other two buckets. */
  public readonly accessLogsBucket: s3.Bucket;

  /** The model registry group `<project-name>-<project-id>`. */
  public readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;

  /** Name of the model package group. */
  public readonly modelPackageGroupName: string;

  /** The ECR repository of a bring-your-own-container template. */
  public readonly containerRepository?: ecr.Repository;

  /** The model building CI/CD. */
  public readonly buildPipeline: BuildPipeline;

  /** The model deployment CI/CD. */
  public readonly deployPipeline: DeployPipeline;

  /**
   * The project's notification topic, when `notifications` is set: add any subscription to it.
   */
  public readonly notificationTopic?: sns.ITopic;

  /**
   * Where the template is published from: `publisher`, or the `ProjectPortfolio` or
   * `ProjectTemplateBucket` it is created in.
   *
   * @default - none
   */
  public readonly publisher?: ITemplatePublisher;

  /**
   * Bucket that holds the template's file assets: `assetBucket`, or the publisher's.
   *
   * @default - none: the template can have no file asset
   */
  public readonly fileAssetBucket?: s3.IBucket;

  constructor(scope: Construct, id: string, props: MLOpsProjectTemplateProps = {}) {
    const publisher = props.publisher ?? enclosingPublisher(scope);
    const fileAssetBucket = props.assetBucket ?? publisher?.fileAssetBucket;
    super(scope, id, { assetBucket: fileAssetBucket });
    this.publisher = publisher;
    this.fileAssetBucket = fileAssetBucket;

    this.productName = props.productName ?? id;
    this.productDescription = props.description ?? DEFAULT_DESCRIPTION;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    validateTemplateProps(`MLOpsProjectTemplate ${id}`, this.productName, this.productDescription, props, value => JSON.stringify(this.resolve(value)));
    validateNotifications(`MLOpsProjectTemplate ${id}`, props.notifications);
    checkQuotas(this, `MLOpsProjectTemplate ${id}`);

    this.projectNameParameter = new CfnParameter(this, 'SageMakerProjectName', {
      type: 'String',
      description: 'Name of the SageMaker project',
      minLength: 1,
      maxLength: 32,
      // SageMaker's pattern, except the names of the platform's own SSM parameters under /mlops/
      // (code, role, and those the app reads): a project's builds read /mlops/<project-name>/*.
      allowedPattern: Lazy.string({ produce: () => projectNamePattern(reservedProjectNames(this)) }),
      constraintDescription: Lazy.string({
        produce: () => `must be 1-32 letters, digits or hyphens, starting and ending with a letter or digit, and not ${reservedProjectNames(this).join(', ')} (names of the platform's SSM parameters under /mlops/)`,
      }),
    });
    this.projectIdParameter = new CfnParameter(this, 'SageMakerProjectId', {
      type: 'String',
      description: 'Id SageMaker generated for the project',
      minLength: 1,
      maxLength: 16,
      allowedPattern: PROJECT_ID_PATTERN,
      constraintDescription: 'must be 1-16 lowercase letters, digits or hyphens',
    });
    this.projectName = this.projectNameParameter.valueAsString;
    this.projectId = this.projectIdParameter.valueAsString;
    Tags.of(this).add(PROJECT_NAME_TAG, this.projectName);
    Tags.of(this).add(PROJECT_ID_TAG, this.projectId);

    const stages = resolveStages(this, props.stages ?? DeploymentStages.enteredAtCreation(), `MLOpsProjectTemplate ${id}`);
    validateDeploymentAccountRestrictions(`MLOpsProjectTemplate ${id}`, props);
    restrictDeploymentAccounts(this, `MLOpsProjectTemplate ${id}`, props.stages ?? DeploymentStages.enteredAtCreation(), stages, props);
    // Principals of the deployment accounts must belong to the organization, if one is given.
    const inOrganization = organizationCondition(props.organizationId);
    // Each account once, also when parameters name the same account (see deploymentAccountPrincipals).
    const accountPrincipals = this.deploymentAccountPrincipals(stages);

    this.projectKey = new kms.Key(this, 'ProjectKey', {
      description: `Encrypts the artifacts of SageMaker project ${this.projectName}`,
      enableKeyRotation: true,
      alias: `alias/mlops/${this.projectName}-${this.projectId}`,
      removalPolicy,
      pendingWindow: Duration.days(30),
    });
    if (accountPrincipals.length > 0) {
      // Endpoints in the deployment accounts read model artifacts encrypted with this key, and
      // encrypt the data they capture (GenerateDataKey); what they may write is up to the bucket.
      this.projectKey.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'DeploymentAccounts',
        principals: accountPrincipals,
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: inOrganization,
      }));
      if (props.stageOutputPrefix !== undefined || props.modelMonitoring) {
        // Transform and monitoring jobs in the deployment accounts encrypt their volumes with this
        // key: SageMaker creates a grant for them, only for AWS resources.
        this.projectKey.addToResourcePolicy(new iam.PolicyStatement({
          sid: 'DeploymentAccountsGrantForJobVolumes',
          principals: accountPrincipals,
          actions: ['kms:CreateGrant'],
          resources: ['*'],
          conditions: { ...inOrganization, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
        }));
      }
    }

    // At most 11 + 16 + 1 + 12 + 1 + 14 = 55 characters.
    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      bucketName: `${BUCKET_PREFIX}logs-${this.projectId}-${Aws.ACCOUNT_ID}-${Aws.REGION}`,
      // S3 delivers server access logs only to buckets with S3-managed encryption.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy,
    });
    addNagSuppressions(this.accessLogsBucket.node.defaultChild as CfnResource, [{
      id: 'AwsSolutions-S1',
      reason: 'This is the access log bucket of the project\'s artifact buckets; logging it into itself would log its own log deliveries.',
    }]);

    // Named by id, account and region: project names may hold capitals, which S3 rejects, and
    // repeat across regions. At most 6 + 16 + 1 + 12 + 1 + 14 = 50 characters.
    this.artifactBucket = this.newBucket('ArtifactBucket', `${BUCKET_PREFIX}${this.projectId}-${Aws.ACCOUNT_ID}-${Aws.REGION}`, removalPolicy);
    if (accountPrincipals.length > 0) {
      // Read only: a deployment account must not change the models another stage deploys.
      this.artifactBucket.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'DeploymentAccountsRead',
        principals: accountPrincipals,
        actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:GetBucketLocation'],
        resources: [this.artifactBucket.bucketArn, this.artifactBucket.arnForObjects('*')],
        conditions: inOrganization,
      }));
    }
    // Each stage's endpoint writes the data it captures under its own prefix, and nowhere else
    // (the deploy app's datacapture/<project name>-<stage>/).
    for (const stage of stages.filter(s => !s.isProjectAccount)) {
      this.artifactBucket.addToResourcePolicy(new iam.PolicyStatement({
        sid: `DeploymentAccountWritesDataCapture${pascalStageName(stage.name)}`,
        principals: [new iam.AccountPrincipal(stage.account)],
        actions: ['s3:PutObject'],
        resources: [this.artifactBucket.arnForObjects(`${DATA_CAPTURE_PREFIX}${this.projectName}-${stage.name}/*`)],
        conditions: inOrganization,
      }));
      if (props.modelMonitoring) {
        this.artifactBucket.addToResourcePolicy(new iam.PolicyStatement({
          sid: `DeploymentAccountWritesMonitoring${pascalStageName(stage.name)}`,
          principals: [new iam.AccountPrincipal(stage.account)],
          actions: ['s3:PutObject'],
          resources: [this.artifactBucket.arnForObjects(`${MONITORING_PREFIX}${this.projectName}-${stage.name}/*`)],
          conditions: inOrganization,
        }));
      }
      // And, with a stage output prefix, its batch output under its own prefix.
      if (props.stageOutputPrefix !== undefined) {
        this.artifactBucket.addToResourcePolicy(new iam.PolicyStatement({
          sid: `DeploymentAccountWritesBatchOutput${pascalStageName(stage.name)}`,
          principals: [new iam.AccountPrincipal(stage.account)],
          actions: ['s3:PutObject'],
          resources: [this.artifactBucket.arnForObjects(`${props.stageOutputPrefix}${this.projectName}-${stage.name}/output/*`)],
          conditions: inOrganization,
        }));
      }
    }
    // At most 15 + 16 + 1 + 12 + 1 + 14 = 59 characters.
    this.pipelineArtifactBucket = this.newBucket('PipelineArtifactBucket', `${BUCKET_PREFIX}pipeline-${this.projectId}-${Aws.ACCOUNT_ID}-${Aws.REGION}`, removalPolicy);

    this.modelPackageGroupName = `${this.projectName}-${this.projectId}`;
    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: `Models of SageMaker project ${this.projectName}`,
      modelPackageGroupPolicy: accountPrincipals.length > 0 ? this.modelPackageGroupPolicy(accountPrincipals) : undefined,
    });
    this.modelPackageGroup.applyRemovalPolicy(removalPolicy);

    if (props.bringYourOwnContainer) {
      this.containerRepository = new ecr.Repository(this, 'ContainerRepository', {
        // ECR names must be lowercase, so the id stands for the project here.
        repositoryName: `${BUCKET_PREFIX}${this.projectId}`,
        imageScanOnPush: true,
        imageTagMutability: ecr.TagMutability.MUTABLE,
        // DESTROY deletes the repository with its images (ECR refuses to delete one that holds any).
        emptyOnDelete: removalPolicy === RemovalPolicy.DESTROY ? true : undefined,
        encryption: ecr.RepositoryEncryption.AES_256,
        removalPolicy,
      });
      if (accountPrincipals.length > 0) {
        this.containerRepository.addToResourcePolicy(new iam.PolicyStatement({
          sid: 'DeploymentAccountsPull',
          principals: accountPrincipals,
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
          conditions: inOrganization,
        }));
      }
    }

    if (removalPolicy === RemovalPolicy.DESTROY) {
      const stateful = [
        this.projectKey, this.accessLogsBucket, this.artifactBucket, this.pipelineArtifactBucket, this.modelPackageGroup, this.containerRepository,
      ];
      for (const resource of stateful) {
        if (resource) retainOnReplacement(resource);
      }
      Annotations.of(this).addWarningV2('cdk-sagemaker-project-templates:destroyNeedsEmptyResources',
        'removalPolicy is DESTROY: deleting a project deletes its repositories, ECR images and key, but CloudFormation deletes its buckets only when they hold no object version, and its model package group only when it holds no model package; until they are emptied, deleting the project fails (DELETE_FAILED). Resources replaced on an update are kept.');
    }
    const repositoryNames = props.projectIdInRepositoryNames
      ? { build: `${this.projectName}-${this.projectId}-build`, deploy: `${this.projectName}-${this.projectId}-deploy` }
      : undefined;
    const common = {
      projectName: this.projectName,
      projectId: this.projectId,
      modelPackageGroupName: this.modelPackageGroupName,
      artifactBucket: this.artifactBucket,
      pipelineArtifactBucket: this.pipelineArtifactBucket,
      repositoryRemovalPolicy: removalPolicy,
      source: props.sourceRepository,
      network: props.network,
    };
    const buildSeedCode = props.buildSeedCode
      ?? SeedCode.fromBundledApp(props.bringYourOwnContainer ? BundledSeedApp.BYOC_BUILD_APP : BundledSeedApp.BUILD_APP);
    const deploySeedCode = props.deploySeedCode ?? SeedCode.fromBundledApp(BundledSeedApp.DEPLOY_APP);
    if (fileAssetBucket === undefined && [buildSeedCode, deploySeedCode, props.sourceRepository].some(part => part?.createsFileAsset)) {
      throw new Error(`MLOpsProjectTemplate ${id}: its seed code (or the git provider handler) is a file asset, which a Service Catalog product stack keeps in an asset bucket, and it has none; create the template inside a ProjectPortfolio or ProjectTemplateBucket (new MLOpsProjectTemplate(portfolio, '${id}', ...)), pass publisher or assetBucket, or take seed code from SeedCode.fromSsmParameters() or SeedCode.fromBucket()`);
    }
    this.buildPipeline = new BuildPipeline(this, 'BuildPipeline', {
      ...props.buildPipelineOptions,
      ...common,
      branch: props.buildPipelineOptions?.branch ?? props.branch,
      repositoryName: props.buildPipelineOptions?.repositoryName ?? repositoryNames?.build,
      environmentVariables: withMonitoring(props.modelMonitoring, props.buildPipelineOptions?.environmentVariables),
      seedCode: buildSeedCode,
      ecrRepository: this.containerRepository,
    });
    this.deployPipeline = new DeployPipeline(this, 'DeployPipeline', {
      ...props.deployPipelineOptions,
      ...common,
      branch: props.deployPipelineOptions?.branch ?? props.branch,
      repositoryName: props.deployPipelineOptions?.repositoryName ?? repositoryNames?.deploy,
      environmentVariables: withMonitoring(props.modelMonitoring, props.deployPipelineOptions?.environmentVariables),
      seedCode: deploySeedCode,
      // Resolved here once: the pipeline gets the parameters' references, not their names.
      stages: stages.map(stageOfResolved),
      organizationId: props.organizationId,
    });

    if (props.notifications !== undefined) {
      this.notificationTopic = createNotifications(new Construct(this, 'Notifications'), props.notifications, {
        owner: `MLOpsProjectTemplate ${id}`,
        projectName: this.projectName,
        projectId: this.projectId,
        key: this.projectKey,
        pipelineNames: [this.buildPipeline.pipeline.pipelineName, this.deployPipeline.pipeline.pipelineName],
        sageMakerPipelineName: this.buildPipeline.sageMakerPipelineName,
        modelPackageGroupName: this.modelPackageGroupName,
      });
    }

    Aspects.of(this).add(new RolePathAspect());
    validatePermissionsBoundaryName(`MLOpsProjectTemplate ${id}`, props.permissionsBoundaryPolicyName);
    const boundary = props.permissionsBoundaryPolicyName ?? publisher?.permissionsBoundaryPolicyName;
    if (boundary !== undefined) {
      iam.PermissionsBoundary.of(this).apply(iam.ManagedPolicy.fromManagedPolicyName(this, 'PermissionsBoundary', boundary));
    }
  }

  /**
   * Whether a pipeline of the template reads its code through a git provider connection: the
   * launch role then needs more permissions, which `ProjectPortfolio` and `ProjectTemplateBucket`
   * give their own launch role when the template is added.
   */
  public get usesGitProviderConnection(): boolean {
    return this.node.findAll().some(c => (c instanceof BuildPipeline || c instanceof DeployPipeline) && c.sourceConnectionRole !== undefined);
  }

  private newBucket(id: string, bucketName: string, removalPolicy: RemovalPolicy): s3.Bucket {
    const bucket = new s3.Bucket(this, id, {
      bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.projectKey,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy,
    });
    // Set here rather than through serverAccessLogsBucket, whose result depends on the app's
    // feature flags (ACL or bucket policy): always a bucket policy for the S3 logging service.
    const prefix = `${id}/`;
    (bucket.node.defaultChild as s3.CfnBucket).loggingConfiguration = {
      destinationBucketName: this.accessLogsBucket.bucketName,
      logFilePrefix: prefix,
    };
    this.accessLogsBucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: `S3ServerAccessLogs${id}`,
      principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
      actions: ['s3:PutObject'],
      resources: [this.accessLogsBucket.arnForObjects(`${prefix}*`)],
      conditions: {
        ArnLike: { 'aws:SourceArn': bucket.bucketArn },
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      },
    }));
    return bucket;
  }

  /**
   * The accounts other than the project's own that stages deploy to, as principals, each once:
   * accounts that are parameters may be the same at deploy time (a creator may enter one
   * account for PreProd and Prod), and a principal list may not repeat a principal. Each such
   * account is listed under a condition that it differs from the accounts before it (see
   * `keepDistinct`). The first is always listed, so no list is ever empty; when it is the
   * project's own account, which needs no resource policy, listing it grants nothing more.
   */
  private deploymentAccountPrincipals(stages: ResolvedStage[]): iam.IPrincipal[] {
    const others = stages.filter(stage => !stage.isProjectAccount);
    return keepDistinct(this, others, stage => ({ kind: 'account', value: stage.account }), stage => `${pascalStageName(stage.name)}AccountIsDistinct`)
      .map(({ item, condition }) => condition
        ? new iam.ArnPrincipal(listedIf(new iam.AccountPrincipal(item.account).arn, condition))
        : new iam.AccountPrincipal(item.account));
  }

  private modelPackageGroupPolicy(principals: iam.IPrincipal[]): any {
    const groupArn = this.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: this.modelPackageGroupName });
    const packagesArn = this.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${this.modelPackageGroupName}/*` });
    return new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'DeploymentAccountsReadGroup',
          principals,
          actions: ['sagemaker:DescribeModelPackageGroup'],
          resources: [groupArn],
        }),
        new iam.PolicyStatement({
          sid: 'DeploymentAccountsUsePackages',
          principals,
          actions: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages', 'sagemaker:CreateModel'],
          resources: [packagesArn],
        }),
      ],
    }).toJSON();
  }
}

/** Prefix of the monitoring reports of each stage in the artifact bucket (the deploy app's). */
const MONITORING_PREFIX = 'monitoring/';

/** A build's environment variables with `MODEL_MONITORING=true` when monitoring is on; the given ones win. */
function withMonitoring(monitoring: boolean | undefined, variables?: { [name: string]: string }): { [name: string]: string } | undefined {
  return monitoring ? { MODEL_MONITORING: 'true', ...variables } : variables;
}

/**
 * The nearest `ProjectPortfolio` or `ProjectTemplateBucket` that `scope` is, or is inside of:
 * templates created there are published through it.
 */
function enclosingPublisher(scope: Construct): ITemplatePublisher | undefined {
  return [...scope.node.scopes].reverse().find((node): node is ProjectPortfolio | ProjectTemplateBucket =>
    node instanceof ProjectPortfolio || node instanceof ProjectTemplateBucket);
}

/**
 * Throw on template properties that CloudFormation, Service Catalog or a second project would
 * refuse only at deploy time.
 */
function validateTemplateProps(
  owner: string, productName: string, description: string, props: MLOpsProjectTemplateProps, rendered: (value: string) => string,
): void {
  validateRemovalPolicy(owner, 'removalPolicy', props.removalPolicy);
  validateLength(owner, 'productName', productName, 1, 100);
  validateLength(owner, 'description', description, 0, 8191);
  const prefix = props.stageOutputPrefix;
  if (prefix !== undefined && (Token.isUnresolved(prefix) || !/^([A-Za-z0-9_.-]+\/)+$/.test(prefix) || prefix.split('/').some(part => part === '.' || part === '..'))) {
    throw new Error(`${owner}: stageOutputPrefix '${prefix}' is not a key prefix of the artifact bucket; use folders of letters, digits, '_', '.' or '-', each ending in '/', such as 'batch/' (no wildcards: stage accounts may write under it)`);
  }
  // Every project made from the template creates these: a fixed name (no project name or id
  // in it) is taken by the first project, and the next fails.
  const names: Array<[string, string | undefined]> = [
    ['buildPipelineOptions.repositoryName', props.buildPipelineOptions?.repositoryName],
    ['buildPipelineOptions.pipelineName', props.buildPipelineOptions?.pipelineName],
    ['buildPipelineOptions.sageMakerPipelineName', props.buildPipelineOptions?.sageMakerPipelineName],
    ['deployPipelineOptions.repositoryName', props.deployPipelineOptions?.repositoryName],
    ['deployPipelineOptions.pipelineName', props.deployPipelineOptions?.pipelineName],
  ];
  for (const [property, name] of names) {
    if (name !== undefined && !Token.isUnresolved(name)) {
      throw new Error(`${owner}: ${property} '${name}' is fixed, so every project made from the template would use the same one and the second project would fail; leave it out (names hold the project name), or build it from the project name, e.g. Fn.join('-', [Fn.ref('SageMakerProjectName'), 'models'])`);
    }
  }
  const build = props.buildPipelineOptions ?? {};
  const deploy = props.deployPipelineOptions ?? {};
  const same = (a?: string, b?: string) => a !== undefined && b !== undefined && rendered(a) === rendered(b);
  if (same(build.repositoryName, deploy.repositoryName)) {
    throw new Error(`${owner}: buildPipelineOptions.repositoryName and deployPipelineOptions.repositoryName are the same; the build and deploy code need repositories of their own: give them different names`);
  }
  if (same(build.pipelineName, deploy.pipelineName)) {
    throw new Error(`${owner}: buildPipelineOptions.pipelineName and deployPipelineOptions.pipelineName are the same; CodePipeline names are unique in an account and region: give them different names`);
  }
}

