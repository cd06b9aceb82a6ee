import { Aws, Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { validateBuildTimeout, validatePhysicalName } from './private/input-checks';
import { createSageMakerExecutionRole, grantArtifactReadWrite, grantPassToSageMaker, grantSageMakerPipelineUpsert } from './private/pipeline-roles';
import { networkInterfaceStatements, OrderedStage, ProjectPipelineOpening, requireCodeCommitRepository } from './private/project-pipeline';
import { ProjectNetwork } from './project-network';
import { SeedCode } from './seed-code';
import { BundledSeedApp } from './seed-code-asset';
import { SourceRepository } from './source-repository';

/**
 * What an organisation may change in a `BuildPipeline`, also through `MLOpsProjectTemplate`.
 */
export interface BuildPipelineOptions {
  /**
   * Name of the repository (CodeCommit, or on the git provider).
   *
   * @default `<projectName>-build`
   */
  readonly repositoryName?: string;

  /**
   * The branch that holds the seed code and whose pushes start the pipeline.
   *
   * @default 'main'
   */
  readonly branch?: string;

  /**
   * Name of the CodePipeline.
   *
   * @default `<projectName>-build`
   */
  readonly pipelineName?: string;

  /**
   * Name of the SageMaker pipeline the build creates or updates and starts.
   *
   * @default `<projectName>-<projectId>`
   */
  readonly sageMakerPipelineName?: string;

  /**
   * Build image of the CodeBuild projects.
   *
   * @default codebuild.LinuxBuildImage.STANDARD_7_0
   */
  readonly buildImage?: codebuild.IBuildImage;

  /**
   * Compute type of the CodeBuild projects.
   *
   * @default codebuild.ComputeType.SMALL
   */
  readonly computeType?: codebuild.ComputeType;

  /**
   * How long a build may run; the SMPipeline build waits for the SageMaker pipeline.
   *
   * @default Duration.hours(1)
   */
  readonly timeout?: Duration;

  /**
   * More plain-text environment variables for the builds, overriding the defaults of the same name.
   *
   * @default - none
   */
  readonly environmentVariables?: { [key: string]: string };
}

/**
 * Properties for a `BuildPipeline`.
 */
export interface BuildPipelineProps extends BuildPipelineOptions {
  /**
   * The SageMaker project name (`SageMakerProjectName`), at most 32 characters.
   */
  readonly projectName: string;

  /**
   * The SageMaker project id (`SageMakerProjectId`), at most 16 characters.
   */
  readonly projectId: string;

  /**
   * The model package group the SageMaker pipeline registers models in.
   */
  readonly modelPackageGroupName: string;

  /**
   * The project's model artifact bucket. Its `encryptionKey` is used as the artifact key
   * unless `artifactKey` is given.
   */
  readonly artifactBucket: s3.IBucket;

  /**
   * The KMS key that encrypts the model artifact bucket.
   *
   * @default - `artifactBucket.encryptionKey`; one of the two is required
   */
  readonly artifactKey?: kms.IKey;

  /**
   * The code the build repository starts with.
   *
   * @default - the bundled build app, or the bundled BYOC build app when `ecrRepository` is given
   */
  readonly seedCode?: SeedCode;

  /**
   * Where the code lives: a CodeCommit repository created from `seedCode`, or a repository on
   * GitHub, GitLab or Bitbucket through an AWS CodeConnections connection.
   *
   * @default SourceRepository.codeCommit()
   */
  readonly source?: SourceRepository;

  /**
   * What happens to the repository when the project is deleted.
   *
   * @default RemovalPolicy.RETAIN - the repository holds the data scientists' work
   */
  readonly repositoryRemovalPolicy?: RemovalPolicy;

  /**
   * Bucket for the CodePipeline's own artifacts.
   *
   * @default - a new bucket, encrypted with the account's S3 KMS key and TLS-only
   */
  readonly pipelineArtifactBucket?: s3.IBucket;

  /**
   * The role the SageMaker pipeline and its jobs run as.
   *
   * @default - a new role that may run processing and training jobs named `pipelines-*` (and
   * watch, stop and tag those its own SageMaker pipeline started), register model packages in the
   * project's group, read and write the artifact bucket, write the logs of `pipelines-*` jobs and
   * pull SageMaker's images (and `ecrRepository`'s)
   */
  readonly sageMakerExecutionRole?: iam.IRole;

  /**
   * Bring your own container: the repository the build's Docker image is pushed to.
   *
   * When given, a privileged `DockerBuild` action runs the repository's
   * `buildspec-docker.yml` before `SMPipeline`, and both builds get `ECR_REPO_URI`.
   *
   * @default - no container build
   */
  readonly ecrRepository?: ecr.IRepository;

  /**
   * Private subnets and security groups for the CodeBuild projects and the SageMaker pipeline's
   * jobs: the builds get a VPC configuration, and `SMPipeline` gets `SUBNET_IDS` and
   * `SECURITY_GROUP_IDS` (comma-separated) for the jobs the bundled build apps define.
   *
   * @default - no VPC
   */
  readonly network?: ProjectNetwork;

}

/**
 * The model build CI/CD of a SageMaker project: a CodeCommit repository seeded with a
 * SageMaker pipeline definition, and a CodePipeline that on every push upserts and starts
 * that SageMaker pipeline (stages `Source` and `Build`).
 *
 * Add actions before or after `SMPipeline` with `addActionBeforeSageMakerPipeline` and
 * `addActionAfterSageMakerPipeline`, for example a manual approval after it:
 * `buildPipeline.addActionAfterSageMakerPipeline(new ManualApprovalAction({ actionName: 'Manual_Approval' }))`.
 */
export class BuildPipeline extends Construct {
  /** Name of the repository of the build code (CodeCommit, or on the git provider). */
  public readonly repositoryName: string;

  private readonly codeCommitRepository?: codecommit.IRepository;

  /**
   * The CodeCommit repository of the build code.
   *
   * Only a CodeCommit `source` has one; on a pipeline whose source is a git provider connection,
   * reading it throws (use `repositoryName`).
   */
  public get repository(): codecommit.IRepository {
    return requireCodeCommitRepository(this, 'BuildPipeline', this.codeCommitRepository);
  }

  /** The source code checked out from `repository`. */
  public readonly sourceOutput: codepipeline.Artifact;

  /** The CodeBuild project that upserts and starts the SageMaker pipeline (`SMPipeline`). */
  public readonly sageMakerPipelineProject: codebuild.Project;

  /**
   * The CodeBuild project that builds and pushes the container image (`DockerBuild`).
   *
   * @default - undefined unless `ecrRepository` is given
   */
  public readonly dockerBuildProject?: codebuild.Project;

  /** The CodePipeline. */
  public readonly pipeline: codepipeline.Pipeline;

  /** The `Build` stage, to add actions to. */
  public readonly buildStage: codepipeline.IStage;

  /** The role the SageMaker pipeline runs as. */
  public readonly sageMakerExecutionRole: iam.IRole;

  /** Name of the SageMaker pipeline. */
  public readonly sageMakerPipelineName: string;

  /**
   * The role the source action assumes to read through a git provider connection.
   *
   * @default - undefined for a CodeCommit source
   */
  public readonly sourceConnectionRole?: iam.IRole;

  private readonly buildActions: OrderedStage;
  private readonly sageMakerPipelineGroup: string;

  constructor(scope: Construct, id: string, props: BuildPipelineProps) {
    super(scope, id);
    const opening = new ProjectPipelineOpening(this, 'BuildPipeline', props, {
      suffix: 'build',
      seedCode: props.seedCode
        ?? SeedCode.fromBundledApp(props.ecrRepository ? BundledSeedApp.BYOC_BUILD_APP : BundledSeedApp.BUILD_APP),
      repositoryDescription: `Model build code of SageMaker project ${props.projectName}`,
    });
    const owner = opening.owner;
    this.sageMakerPipelineName = props.sageMakerPipelineName ?? `${props.projectName}-${props.projectId}`;
    validatePhysicalName(owner, 'sageMakerPipelineName', this.sageMakerPipelineName, 256, /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/,
      "letters and digits, with single or repeated '-' between them");
    validateBuildTimeout(owner, props.timeout);
    const artifactKey = opening.artifactKey;

    this.repositoryName = opening.repositoryName;
    this.sourceOutput = opening.sourceOutput;
    this.codeCommitRepository = opening.source.repository;
    this.sourceConnectionRole = opening.source.connectionRole;

    this.sageMakerExecutionRole = props.sageMakerExecutionRole ?? createSageMakerExecutionRole(this, 'SageMakerExecutionRole', {
      artifactBucket: props.artifactBucket,
      artifactKey,
      modelPackageGroupName: props.modelPackageGroupName,
      pipelineName: this.sageMakerPipelineName,
      projectId: props.projectId,
      ecrRepository: props.ecrRepository,
    });
    if (!props.sageMakerExecutionRole) {
      // The bundled build apps' default InputDataUrl is the public Abalone sample, which
      // preprocess.py reads with the role's credentials: reading a public object still needs an
      // identity policy that allows it. Granted to every default role, since the seed code cannot
      // be told apart here (MLOpsProjectTemplate passes the bundled app explicitly); one object.
      this.sageMakerExecutionRole.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [`arn:${Aws.PARTITION}:s3:::sagemaker-sample-files/datasets/tabular/uci_abalone/abalone.csv`],
      }));
    }

    const ecrVariables: { [key: string]: string } = props.ecrRepository ? { ECR_REPO_URI: props.ecrRepository.repositoryUri } : {};
    this.sageMakerPipelineProject = new codebuild.PipelineProject(this, 'SageMakerPipelineProject', {
      description: 'Creates or updates and starts the SageMaker pipeline of the model build repository',
      buildSpec: codebuild.BuildSpec.fromSourceFilename('buildspec.yml'),
      timeout: props.timeout ?? Duration.hours(1),
      environment: opening.buildEnvironment({
        SAGEMAKER_PROJECT_NAME: props.projectName,
        SAGEMAKER_PROJECT_ID: props.projectId,
        MODEL_PACKAGE_GROUP_NAME: props.modelPackageGroupName,
        AWS_REGION: Aws.REGION,
        SAGEMAKER_PIPELINE_NAME: this.sageMakerPipelineName,
        SAGEMAKER_PIPELINE_DESCRIPTION: `${props.projectName} model build pipeline`,
        SAGEMAKER_PIPELINE_ROLE_ARN: this.sageMakerExecutionRole.roleArn,
        ARTIFACT_BUCKET: props.artifactBucket.bucketName,
        ARTIFACT_BUCKET_KMS_ID: artifactKey.keyArn,
        ...ecrVariables,
        ...(opening.network ? {
          SUBNET_IDS: Fn.join(',', opening.network.subnetIds),
          SECURITY_GROUP_IDS: Fn.join(',', opening.network.securityGroupIds),
        } : {}),
      }, false),
    });
    opening.placeInNetwork(this.sageMakerPipelineProject);
    if (opening.network && !props.sageMakerExecutionRole) {
      // SageMaker places the pipeline's jobs in the subnets with the execution role.
      for (const statement of networkInterfaceStatements(this, opening.network)) {
        this.sageMakerExecutionRole.addToPrincipalPolicy(statement);
      }
    }
    grantSageMakerPipelineUpsert(this.sageMakerPipelineProject, this.sageMakerPipelineName, props.projectId);
    grantPassToSageMaker(this.sageMakerPipelineProject, this.sageMakerExecutionRole);
    // The SageMaker SDK uploads the pipeline's scripts to the artifact bucket.
    grantArtifactReadWrite(this.sageMakerPipelineProject, props.artifactBucket, artifactKey);

    // One account only; the default bucket is then encrypted with the S3 KMS key, and no
    // key alias is made (an alias is a fixed name that would clash between projects).
    this.pipeline = opening.createPipeline(this, { artifactBucket: props.pipelineArtifactBucket, crossAccountKeys: false });

    this.buildStage = this.pipeline.addStage({ stageName: 'Build' });
    this.buildActions = new OrderedStage(this.buildStage);
    if (props.ecrRepository) {
      this.dockerBuildProject = new codebuild.PipelineProject(this, 'DockerBuildProject', {
        description: 'Builds the model container image and pushes it to the project repository',
        buildSpec: codebuild.BuildSpec.fromSourceFilename('buildspec-docker.yml'),
        timeout: props.timeout ?? Duration.hours(1),
        environment: opening.buildEnvironment({ AWS_REGION: Aws.REGION, ...ecrVariables }, true),
      });
      props.ecrRepository.grantPullPush(this.dockerBuildProject);
      opening.placeInNetwork(this.dockerBuildProject);
      this.buildActions.add(this.buildActions.group('DockerBuild'), new actions.CodeBuildAction({
        actionName: 'DockerBuild',
        project: this.dockerBuildProject,
        input: this.sourceOutput,
      }));
    }
    this.sageMakerPipelineGroup = this.buildActions.group('SMPipeline');
    this.buildActions.add(this.sageMakerPipelineGroup, new actions.CodeBuildAction({
      actionName: 'SMPipeline',
      project: this.sageMakerPipelineProject,
      input: this.sourceOutput,
    }));
  }

  /**
   * Run an action in the `Build` stage before the SageMaker pipeline step (`SMPipeline`), after
   * the container build of a BYOC pipeline: a data check, a lint, a notification. Its own
   * `runOrder` is replaced: each call adds a step that runs after the previous ones before
   * `SMPipeline`, which waits for it.
   */
  public addActionBeforeSageMakerPipeline(action: codepipeline.IAction): void {
    this.buildActions.addBefore(this.sageMakerPipelineGroup, action);
  }

  /**
   * Run an action in the `Build` stage after the SageMaker pipeline step (`SMPipeline`) has
   * succeeded: a manual approval, a report, a model check. Its own `runOrder` is replaced: each
   * call adds a step that runs after `SMPipeline` and the actions added before it this way.
   */
  public addActionAfterSageMakerPipeline(action: codepipeline.IAction): void {
    this.buildActions.addLast(action);
  }
}
