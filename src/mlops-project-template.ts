import { Aspects, Aws, CfnParameter, CfnResource, Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import { Construct } from 'constructs';
import { BuildPipeline, BuildPipelineOptions } from './build-pipeline';
import { DeployPipeline, DeployPipelineOptions } from './deploy-pipeline';
import { DeploymentStage } from './deployment-stage';
import { addNagSuppressions } from './private/nag-suppressions';
import { BUCKET_PREFIX, PROJECT_ID_PATTERN, PROJECT_ID_TAG, PROJECT_NAME_PATTERN, PROJECT_NAME_TAG, validatePermissionsBoundaryName } from './private/names';
import { pascalStageName } from './private/pipeline-deploy';
import { findPortfolioDefaults } from './private/portfolio-link';
import { RolePathAspect } from './private/role-path';
import { defaultStages, keepDistinct, listedIf, resolveStages, ResolvedStage } from './private/stages';
import { SeedCode } from './seed-code';
import { BundledSeedApp } from './seed-code-asset';
import { SourceRepository } from './source-repository';

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
   * What happens to buckets, the key, the model package group and the repositories when a
   * project is deleted or they are replaced. Only `RemovalPolicy.DESTROY` deletes what data
   * scientists made.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Bucket that holds the template's file assets (the seed code) for Service Catalog.
   *
   * @default - the asset bucket of the `ProjectPortfolio` the template is created in
   */
  readonly assetBucket?: s3.IBucket;

  /**
   * Name of a customer managed policy in the project's account to set as permissions boundary
   * on every role the template creates.
   *
   * @default - the boundary of the `ProjectPortfolio` the template is created in, if any
   */
  readonly permissionsBoundaryPolicyName?: string;
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

  constructor(scope: Construct, id: string, props: MLOpsProjectTemplateProps = {}) {
    const portfolioDefaults = findPortfolioDefaults(scope);
    super(scope, id, { assetBucket: props.assetBucket ?? portfolioDefaults?.assetBucket });

    this.productName = props.productName ?? id;
    this.productDescription = props.description ?? DEFAULT_DESCRIPTION;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.projectNameParameter = new CfnParameter(this, 'SageMakerProjectName', {
      type: 'String',
      description: 'Name of the SageMaker project',
      minLength: 1,
      maxLength: 32,
      allowedPattern: PROJECT_NAME_PATTERN,
      constraintDescription: 'must be 1-32 letters, digits or hyphens, starting and ending with a letter or digit',
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

    const stages = resolveStages(this, props.stages ?? defaultStages(), `MLOpsProjectTemplate ${id}`);
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
      // Endpoints in the deployment accounts read model artifacts encrypted with this key.
      this.projectKey.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'DeploymentAccounts',
        principals: accountPrincipals,
        actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        resources: ['*'],
      }));
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
      this.artifactBucket.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'DeploymentAccountsReadWrite',
        principals: accountPrincipals,
        actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:ListBucket', 's3:GetBucketLocation'],
        resources: [this.artifactBucket.bucketArn, this.artifactBucket.arnForObjects('*')],
      }));
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
        encryption: ecr.RepositoryEncryption.AES_256,
        removalPolicy,
      });
      if (accountPrincipals.length > 0) {
        this.containerRepository.addToResourcePolicy(new iam.PolicyStatement({
          sid: 'DeploymentAccountsPull',
          principals: accountPrincipals,
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        }));
      }
    }

    const common = {
      projectName: this.projectName,
      projectId: this.projectId,
      modelPackageGroupName: this.modelPackageGroupName,
      artifactBucket: this.artifactBucket,
      pipelineArtifactBucket: this.pipelineArtifactBucket,
      repositoryRemovalPolicy: removalPolicy,
      source: props.sourceRepository,
    };
    const hasAssetBucket = (props.assetBucket ?? portfolioDefaults?.assetBucket) !== undefined;
    try {
      this.buildPipeline = new BuildPipeline(this, 'BuildPipeline', {
        ...props.buildPipelineOptions,
        ...common,
        branch: props.buildPipelineOptions?.branch ?? props.branch,
        seedCode: props.buildSeedCode
          ?? SeedCode.fromBundledApp(props.bringYourOwnContainer ? BundledSeedApp.BYOC_BUILD_APP : BundledSeedApp.BUILD_APP),
        ecrRepository: this.containerRepository,
      });
      this.deployPipeline = new DeployPipeline(this, 'DeployPipeline', {
        ...props.deployPipelineOptions,
        ...common,
        branch: props.deployPipelineOptions?.branch ?? props.branch,
        seedCode: props.deploySeedCode ?? SeedCode.fromBundledApp(BundledSeedApp.DEPLOY_APP),
        stages: props.stages ?? defaultStages(),
      });
    } catch (error) {
      // aws-cdk-lib's own message does not say what to do about it.
      if (!hasAssetBucket && /Asset Bucket must be provided/.test(String(error))) {
        throw new Error(`MLOpsProjectTemplate ${id}: its seed code (or the git provider handler) is a file asset, which a Service Catalog product stack keeps in an asset bucket, and it has none; create the template inside a ProjectPortfolio (new MLOpsProjectTemplate(portfolio, '${id}', ...)), pass assetBucket, or take seed code from SeedCode.fromSsmParameters() or SeedCode.fromBucket()`);
      }
      throw error;
    }

    Aspects.of(this).add(new RolePathAspect());
    validatePermissionsBoundaryName(`MLOpsProjectTemplate ${id}`, props.permissionsBoundaryPolicyName);
    const boundary = props.permissionsBoundaryPolicyName ?? portfolioDefaults?.permissionsBoundaryPolicyName;
    if (boundary !== undefined) {
      iam.PermissionsBoundary.of(this).apply(iam.ManagedPolicy.fromManagedPolicyName(this, 'PermissionsBoundary', boundary));
    }
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
