import { Annotations, ArnFormat, Aws, CfnCapabilities, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DeploymentStage } from './deployment-stage';
import { organizationCondition, validateDeploymentAccountRestrictions } from './private/deployment-accounts';
import { validateApprovalStatuses, validatePascalNamesUnique, validateQualifier, validateSkipChecks } from './private/input-checks';
import { reservedProjectNames } from './private/names';
import { bootstrapRoleArns, CDK_ASSETS_VERSION, pascalStageName } from './private/pipeline-deploy';
import { modelPackageArns } from './private/pipeline-roles';
import { OrderedStage, ProjectPipelineOpening, requireCodeCommitRepository } from './private/project-pipeline';
import { deploysInAnotherRegion, keepDistinct, knownRegion, listedIf, PrincipalKey, ResolvedStage, resolveStages } from './private/stages';
import { ProjectNetwork } from './project-network';
import { SecurityScan } from './security-scan';
import { SeedCode } from './seed-code';
import { BundledSeedApp } from './seed-code-asset';
import { SourceRepository } from './source-repository';

/**
 * What an organisation may change in a `DeployPipeline`, also through `MLOpsProjectTemplate`.
 */
export interface DeployPipelineOptions {
  /**
   * Name of the repository (CodeCommit, or on the git provider).
   *
   * @default `<projectName>-deploy`
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
   * @default `<projectName>-deploy`
   */
  readonly pipelineName?: string;

  /**
   * Qualifier of the CDK bootstrap stacks in the stage accounts, which names the default
   * action and deployment roles.
   *
   * @default 'hnb659fds'
   */
  readonly bootstrapQualifier?: string;

  /**
   * Model package approval statuses whose state-change events start the pipeline.
   *
   * @default ['Approved', 'Rejected']
   */
  readonly modelApprovalStatuses?: string[];

  /**
   * How to scan the synthesized templates before any stage deploys them: checkov (with checks
   * to skip), a build spec of your own, or none.
   *
   * @default - `SecurityScan.checkov()` with `securityScanSkipChecks`, or no scan when `securityScan` is false
   */
  readonly securityScanner?: SecurityScan;

  /**
   * Whether to scan the synthesized templates with checkov, failing the pipeline on any
   * finding. The deploy repository writes those templates, so the scan ignores the
   * suppressions it could put in them (checkov's `Metadata` skip entries and `checkov:skip=`
   * comments) and any `.checkov.yaml` of the synth output; skip checks with
   * `securityScanSkipChecks` instead.
   *
   * @default true
   * @deprecated use `securityScanner: SecurityScan.none()` to turn the scan off
   */
  readonly securityScan?: boolean;

  /**
   * Checkov checks that the security scan skips in every template (`--skip-check`), such as
   * `CKV_AWS_123`: the platform team's choice, which the deploy repository cannot change.
   *
   * @default - no check is skipped
   * @deprecated use `securityScanner: SecurityScan.checkov({ skipChecks })`
   */
  readonly securityScanSkipChecks?: string[];

  /**
   * Test each stage after its deployment, before the next stage's approval: a `Test_<Stage>`
   * action runs the deploy repository's `buildspec-test.yml` (the bundled apps' integration
   * tests) with `STAGE_NAME`, `STAGE_ACCOUNT_ID`, `STAGE_REGION` and `STAGE_TEST_ROLE_ARN`; a
   * failing test stops the promotion. The tests act in the stage's account through the role
   * `/mlops-deployment/mlops-<projectId>-<stage>-tests`, which the stage's own template creates
   * (the synth build gets `STAGE_TEST_PRINCIPAL_ARN`, the test project's role, for its trust
   * policy); the test project's role may assume those roles and nothing else in the stage accounts.
   *
   * @default false
   */
  readonly testEachStage?: boolean;

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
   * More plain-text environment variables for the synth build, overriding the defaults of the same name.
   *
   * @default - none
   */
  readonly environmentVariables?: { [key: string]: string };
}

/**
 * Properties for a `DeployPipeline`.
 */
export interface DeployPipelineProps extends DeployPipelineOptions {
  /**
   * The SageMaker project name (`SageMakerProjectName`), at most 32 characters.
   */
  readonly projectName: string;

  /**
   * The SageMaker project id (`SageMakerProjectId`), at most 16 characters.
   */
  readonly projectId: string;

  /**
   * The model package group whose approved models are deployed.
   */
  readonly modelPackageGroupName: string;

  /**
   * The project's model artifact bucket, passed to the deploy app.
   */
  readonly artifactBucket: s3.IBucket;

  /**
   * The KMS key that encrypts the model artifact bucket.
   *
   * @default - `artifactBucket.encryptionKey`; one of the two is required
   */
  readonly artifactKey?: kms.IKey;

  /**
   * Where the model is deployed, in order; one pipeline stage each.
   *
   * A stage in the pipeline's region is deployed by a CloudFormation action assuming the CDK
   * bootstrap roles of the stage's account. A stage whose region is fixed to another, entered at
   * project creation, or otherwise unknown to synthesis is deployed by a build in the pipeline's
   * region (`stageDeploymentProjects`) the way `cdk deploy` does: it publishes the stage's file
   * assets (`<stage>.assets.json` in the synth output, such as the model data the bundled deploy
   * apps copy into the stage's region) through the bootstrap file publishing role of that account
   * and region, then deploys `<stage>.template.json` there through its deploy and execution roles.
   * A CloudFormation action in another region would need an artifact bucket there, which a Service
   * Catalog product stack cannot create.

   * Stages may share an account, also through parameters that turn out equal: the artifact
   * bucket and key policies list each stage role once, under conditions where needed.
   */
  readonly stages: DeploymentStage[];

  /**
   * The code the deploy repository starts with.
   *
   * @default - the bundled deploy app
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
   * Whether to publish each stage's account and region as SSM String parameters
   * `/mlops/<projectName>/<stage>/account_id` and `/mlops/<projectName>/<stage>/region`,
   * which the deploy app reads.
   *
   * @default true
   */
  readonly publishStageParameters?: boolean;

  /**
   * Bucket for the CodePipeline's artifacts. The stages' roles must be able to read it and
   * decrypt with its key: statements for them are added to its bucket and key policies, which
   * only works for a bucket and key defined in this app.
   *
   * @default - a new bucket encrypted with a new KMS key that the stages' roles may use
   */
  readonly pipelineArtifactBucket?: s3.IBucket;

  /**
   * The AWS Organizations id (`o-xxxxxxxxxx`) that the stage roles must belong to: the pipeline
   * artifact bucket and key policy statements that let them read get the condition
   * `aws:PrincipalOrgID`.
   *
   * @default - no organization condition
   */
  readonly organizationId?: string;

  /**
   * Private subnets and security groups for the pipeline's CodeBuild projects (synth, scan,
   * tests, deployments in other regions).
   *
   * @default - no VPC
   */
  readonly network?: ProjectNetwork;
}

/**
 * The model deployment CI/CD of a SageMaker project: a CodeCommit repository seeded with a
 * CDK app, and a CodePipeline that synthesizes it into one template per stage, scans the
 * templates, and deploys them stage by stage, across accounts, with CloudFormation.
 *
 * It starts on pushes to the branch and when a model package of the project's group is
 * approved or rejected.
 */
export class DeployPipeline extends Construct {
  /** Name of the repository of the deploy code (CodeCommit, or on the git provider). */
  public readonly repositoryName: string;

  private readonly codeCommitRepository?: codecommit.IRepository;

  /**
   * The CodeCommit repository of the deploy code.
   *
   * Only a CodeCommit `source` has one; on a pipeline whose source is a git provider connection,
   * reading it throws (use `repositoryName`).
   */
  public get repository(): codecommit.IRepository {
    return requireCodeCommitRepository(this, 'DeployPipeline', this.codeCommitRepository);
  }

  /** The CodePipeline. */
  public readonly pipeline: codepipeline.Pipeline;

  /** The CodeBuild project that synthesizes the deploy app (`Synth`). */
  public readonly synthProject: codebuild.Project;

  /**
   * The CodeBuild project that scans the synthesized templates (`SecurityScan`).
   *
   * @default - undefined when the scan is `SecurityScan.none()` (or `securityScan` is false)
   */
  public readonly securityScanProject?: codebuild.Project;

  /**
   * The CodeBuild projects that deploy the stages whose region may be another than the
   * pipeline's (fixed to another, entered at project creation, or unknown to synthesis), by
   * stage name: their `Deploy_CFN_<Stage>` actions. One per stage, as the commands of a stage's
   * file assets come from the deploy repository: each project's role may assume only its own
   * stage's bootstrap deploy and file publishing roles, so that what runs in one stage's
   * deployment cannot reach a later stage before its approval. Each may read the project's
   * artifacts, which the bundled deploy apps' assets are made from.
   *
   * @default - empty when every stage is in the pipeline's region
   */
  public get stageDeploymentProjects(): { [stageName: string]: codebuild.Project } {
    return Object.fromEntries(this.remoteDeploymentProjects);
  }

  /**
   * The project of the first stage in `stageDeploymentProjects`.
   *
   * @deprecated use `stageDeploymentProjects`: each such stage has its own project since 0.4.0
   * @default - undefined when every stage is in the pipeline's region
   */
  public get stageDeploymentProject(): codebuild.Project | undefined {
    return this.remoteDeploymentProjects.values().next().value;
  }

  private readonly remoteDeploymentProjects = new Map<string, codebuild.Project>();

  /**
   * The CodeBuild project that tests each deployed stage (`Test_<Stage>`).
   *
   * @default - undefined unless `testEachStage` is set
   */
  public readonly stageTestProject?: codebuild.Project;

  /** The deploy repository's code checked out by the `Source` stage: the input of actions that run its tests. */
  public readonly sourceOutput: codepipeline.Artifact;

  /** The synthesized templates, `<stage>.template.json` at the root. */
  public readonly synthOutput: codepipeline.Artifact;

  /** The EventBridge rule that starts the pipeline on model package approval changes. */
  public readonly modelApprovalRule: events.Rule;

  /**
   * The SSM parameters with each stage's account and region, in stage order
   * (`account_id` then `region` for each stage); empty when `publishStageParameters` is false.
   */
  public readonly stageParameters: ssm.IStringParameter[];

  /** The deployment stages of the pipeline, in order (`DeployDev`, `DeployPreProd`, ...). */
  public readonly deployStages: codepipeline.IStage[];

  /**
   * The role the source action assumes to read through a git provider connection.
   *
   * @default - undefined for a CodeCommit source
   */
  public readonly sourceConnectionRole?: iam.IRole;

  private readonly stageActions = new Map<string, { readonly actions: OrderedStage; readonly deployment: string }>();

  constructor(scope: Construct, id: string, props: DeployPipelineProps) {
    super(scope, id);
    const opening = new ProjectPipelineOpening(this, 'DeployPipeline', props, {
      suffix: 'deploy',
      seedCode: props.seedCode ?? SeedCode.fromBundledApp(BundledSeedApp.DEPLOY_APP),
      repositoryDescription: `Model deployment code of SageMaker project ${props.projectName}`,
    });
    const owner = opening.owner;
    if (!Token.isUnresolved(props.projectName) && reservedProjectNames(this).includes(props.projectName)) {
      throw new Error(`${owner}: projectName '${props.projectName}' is the name of the platform's own SSM parameters /mlops/${props.projectName}/..., which the synth build would read (it reads /mlops/<projectName>/*); choose another name (reserved: ${reservedProjectNames(this).join(', ')})`);
    }

    const stages = resolveStages(this, props.stages, 'DeployPipeline');
    validatePascalNamesUnique(owner, stages);
    const qualifier = props.bootstrapQualifier ?? 'hnb659fds';
    validateQualifier(owner, qualifier);
    warnUnapprovedDefaultBootstrap(this, stages, qualifier);
    const approvalStatuses = props.modelApprovalStatuses ?? ['Approved', 'Rejected'];
    validateApprovalStatuses(owner, approvalStatuses);
    const scanner = securityScannerOf(owner, props);
    if (props.pipelineArtifactBucket) validateCrossAccountBucket(owner, props.pipelineArtifactBucket, stages);
    validateDeploymentAccountRestrictions(owner, { organizationId: props.organizationId });
    const artifactKey = opening.artifactKey;

    this.repositoryName = opening.repositoryName;
    this.sourceOutput = opening.sourceOutput;
    const sourceOutput = this.sourceOutput;
    this.codeCommitRepository = opening.source.repository;
    this.sourceConnectionRole = opening.source.connectionRole;

    this.stageParameters = [];
    if (props.publishStageParameters ?? true) {
      for (const stage of stages) {
        const pascal = pascalStageName(stage.name);
        this.stageParameters.push(
          new ssm.StringParameter(this, `${pascal}AccountIdParameter`, {
            parameterName: `/mlops/${props.projectName}/${stage.name}/account_id`,
            stringValue: stage.account,
            // The name starts with '/', which CDK cannot see when the project name is a token.
            simpleName: false,
            description: `Account of the ${stage.name} deployment stage`,
          }),
          new ssm.StringParameter(this, `${pascal}RegionParameter`, {
            parameterName: `/mlops/${props.projectName}/${stage.name}/region`,
            stringValue: stage.region,
            simpleName: false,
            description: `Region of the ${stage.name} deployment stage`,
          }),
        );
      }
    }

    const environment = (variables: { [key: string]: string }) => opening.buildEnvironment(variables);

    if (props.testEachStage) {
      this.stageTestProject = new codebuild.PipelineProject(this, 'StageTestProject', {
        description: 'Runs the deploy repository\'s buildspec-test.yml against a deployed stage',
        buildSpec: codebuild.BuildSpec.fromSourceFilename('buildspec-test.yml'),
        environment: environment({ PROJECT_NAME: props.projectName, PROJECT_ID: props.projectId, AWS_REGION: Aws.REGION }),
      });
      opening.placeInNetwork(this.stageTestProject);
    }

    this.synthProject = new codebuild.PipelineProject(this, 'SynthProject', {
      description: 'Synthesizes the deploy app into one CloudFormation template per stage',
      buildSpec: codebuild.BuildSpec.fromSourceFilename('buildspec.yml'),
      environment: environment({
        ...(this.stageTestProject ? { STAGE_TEST_PRINCIPAL_ARN: this.stageTestProject.role!.roleArn } : {}),
        MODEL_PACKAGE_GROUP_NAME: props.modelPackageGroupName,
        PROJECT_ID: props.projectId,
        PROJECT_NAME: props.projectName,
        ARTIFACT_BUCKET: props.artifactBucket.bucketName,
        ARTIFACT_BUCKET_KMS_ID: artifactKey.keyArn,
        AWS_REGION: Aws.REGION,
        BOOTSTRAP_QUALIFIER: qualifier,
        DEPLOYMENT_STAGES: stages.map(stage => stage.name).join(','),
        ...stageNetworksVariable(this, stages),
      }),
    });
    this.grantSynthReads(props.projectName, props.projectId, props.modelPackageGroupName);
    opening.placeInNetwork(this.synthProject);

    const artifactBucket = props.pipelineArtifactBucket ?? this.createArtifactBucket();
    this.pipeline = opening.createPipeline(this, { artifactBucket });
    // A new pipeline runs at once; the deploy app reads the stage parameters when it synthesizes.
    this.pipeline.node.addDependency(...this.stageParameters);

    this.synthOutput = new codepipeline.Artifact('SynthOutput');
    const buildStage = this.pipeline.addStage({ stageName: 'Build' });
    buildStage.addAction(new actions.CodeBuildAction({
      actionName: 'Synth',
      project: this.synthProject,
      input: sourceOutput,
      outputs: [this.synthOutput],
      runOrder: 1,
    }));

    const scan = scanner.bind();
    if (scan) {
      this.securityScanProject = new codebuild.PipelineProject(this, 'SecurityScanProject', {
        description: scan.description,
        buildSpec: scan.buildSpec,
        environment: environment({}),
      });
      opening.placeInNetwork(this.securityScanProject);
      buildStage.addAction(new actions.CodeBuildAction({
        actionName: 'SecurityScan',
        project: this.securityScanProject,
        input: this.synthOutput,
        runOrder: 2,
      }));
    }

    const stageRoles: StageRole[] = [];
    const projectRegion = knownRegion(this);
    this.deployStages = stages.map(stage => {
      const pascal = pascalStageName(stage.name);
      const defaults = bootstrapRoleArns(stage, qualifier);
      const actionRoleArn = stage.actionRoleArn ?? defaults.actionRoleArn;
      const deploymentRoleArn = stage.deploymentRoleArn ?? defaults.deploymentRoleArn;
      const stackName = `${props.projectName}-deploy-${stage.name}`;

      const deployStage = this.pipeline.addStage({ stageName: `Deploy${pascal}` });
      const ordered = new OrderedStage(deployStage);
      if (stage.requireApproval) {
        ordered.add(ordered.group('approval'), new actions.ManualApprovalAction({
          actionName: `Approve_${pascal}`,
          additionalInformation: `Deploy the model of ${props.projectName} to ${stage.name}`,
        }));
      }
      this.stageActions.set(stage.name, { actions: ordered, deployment: ordered.group('deployment') });
      if (deploysInAnotherRegion(stage, projectRegion)) {
        ordered.add('deployment', this.remoteDeployment(stage, pascal, stackName, {
          actionRoleArn, deploymentRoleArn, filePublishingRoleArn: defaults.filePublishingRoleArn,
        }, opening, { bucket: props.artifactBucket, key: artifactKey }));
        return deployStage;
      }
      const actionRole = iam.Role.fromRoleArn(this, `${pascal}ActionRole`, actionRoleArn, { mutable: false });
      const deploymentRole = iam.Role.fromRoleArn(this, `${pascal}DeploymentRole`, deploymentRoleArn, { mutable: false });
      stageRoles.push(
        { role: actionRole, pascal, key: stage.actionRoleArn !== undefined ? { kind: 'role', value: stage.actionRoleArn } : { kind: 'deploy-role', value: stage.account } },
        { role: deploymentRole, pascal, key: stage.deploymentRoleArn !== undefined ? { kind: 'role', value: stage.deploymentRoleArn } : { kind: 'cfn-exec-role', value: stage.account } },
      );
      ordered.add('deployment', new actions.CloudFormationCreateUpdateStackAction({
        actionName: `Deploy_CFN_${pascal}`,
        stackName,
        templatePath: this.synthOutput.atPath(`${stage.name}.template.json`),
        cfnCapabilities: [CfnCapabilities.AUTO_EXPAND, CfnCapabilities.NAMED_IAM],
        adminPermissions: false,
        role: actionRole,
        deploymentRole,
      }));
      return deployStage;
    });
    if (stageRoles.length > 0) allowArtifactRead(this, artifactBucket, stageRoles, organizationCondition(props.organizationId));
    if (this.stageTestProject) this.addStageTests(this.stageTestProject, stages, props.projectId);

    this.modelApprovalRule = new events.Rule(this, 'ModelApprovalRule', {
      description: `Starts the deploy pipeline of ${props.projectName} when a model package's approval status changes`,
      eventPattern: {
        source: ['aws.sagemaker'],
        detailType: ['SageMaker Model Package State Change'],
        detail: {
          ModelPackageGroupName: [props.modelPackageGroupName],
          ModelApprovalStatus: approvalStatuses,
        },
      },
      targets: [new targets.CodePipeline(this.pipeline)],
    });
  }

  /**
   * Run an action in a deployment stage's pipeline stage (`Deploy<Stage>`) after its approval and
   * before its deployment: a change report, a check of the target account. Its own `runOrder` is
   * replaced: each call adds a step that runs after the previous ones, before the deployment.
   *
   * @param stageName the deployment stage, as named in `stages` (`dev`, `preprod`, ...)
   */
  public addActionBeforeDeployment(stageName: string, action: codepipeline.IAction): void {
    const stage = this.stageActionsOf('addActionBeforeDeployment', stageName);
    stage.actions.addBefore(stage.deployment, action);
  }

  /**
   * Run an action in a deployment stage's pipeline stage (`Deploy<Stage>`) after its deployment
   * has succeeded, before the next stage's approval: tests against the deployed model, a
   * notification. A failing action stops the promotion. Its own `runOrder` is replaced: each call
   * adds a step that runs after the deployment and the actions added before it this way.
   *
   * @param stageName the deployment stage, as named in `stages` (`dev`, `preprod`, ...)
   */
  public addActionAfterDeployment(stageName: string, action: codepipeline.IAction): void {
    this.stageActionsOf('addActionAfterDeployment', stageName).actions.addLast(action);
  }

  /**
   * The deployment of a stage whose region may differ from the pipeline's: a CodeBuild action in
   * the pipeline's region that does what `cdk deploy` does with the stage's part of the synth
   * output, through the stage account's bootstrap roles of the stage's region. A CloudFormation
   * action would need an artifact bucket in that region, which a product stack cannot create (no
   * support stack).
   */
  private remoteDeployment(
    stage: ResolvedStage, pascal: string, stackName: string, roles: RemoteDeploymentRoles,
    opening: ProjectPipelineOpening, modelArtifacts: { bucket: s3.IBucket; key: kms.IKey },
  ): codepipeline.IAction {
    const project = new codebuild.PipelineProject(this, `StageDeploymentProject${pascal}`, {
      description: `Publishes the file assets of stage ${stage.name} and deploys its template in its account and region through the CDK bootstrap roles there`,
      buildSpec: remoteDeploymentBuildSpec(),
      environment: opening.buildEnvironment({}),
    });
    opening.placeInNetwork(project);
    this.remoteDeploymentProjects.set(stage.name, project);
    // The commands of file assets run with the build's own role: the bundled deploy apps' fetch
    // the approved model's data from the project's artifacts.
    project.addToRolePolicy(new iam.PolicyStatement({
      actions: ['s3:GetObject'],
      resources: [modelArtifacts.bucket.arnForObjects('*')],
    }));
    project.addToRolePolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: [modelArtifacts.key.keyArn],
    }));
    project.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sts:AssumeRole'],
      resources: [roles.actionRoleArn, roles.filePublishingRoleArn],
    }));
    const variable = (value: string) => ({ type: codebuild.BuildEnvironmentVariableType.PLAINTEXT, value });
    return new actions.CodeBuildAction({
      actionName: `Deploy_CFN_${pascal}`,
      project,
      input: this.synthOutput,
      environmentVariables: {
        STAGE_NAME: variable(stage.name),
        STAGE_REGION: variable(stage.region),
        STACK_NAME: variable(stackName),
        ACTION_ROLE_ARN: variable(roles.actionRoleArn),
        DEPLOYMENT_ROLE_ARN: variable(roles.deploymentRoleArn),
      },
    });
  }

  /** A `Test_<Stage>` action after each stage's deployment, acting through the stage's test role. */
  private addStageTests(project: codebuild.Project, stages: ResolvedStage[], projectId: string): void {
    const testRoleArns = stages.map(stage => `arn:${Aws.PARTITION}:iam::${stage.account}:role${STAGE_TEST_ROLE_PATH}mlops-${projectId}-${stage.name}-tests`);
    project.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sts:AssumeRole'],
      resources: [...new Set(testRoleArns)],
    }));
    stages.forEach((stage, index) => {
      const variable = (value: string) => ({ type: codebuild.BuildEnvironmentVariableType.PLAINTEXT, value });
      this.addActionAfterDeployment(stage.name, new actions.CodeBuildAction({
        actionName: `Test_${pascalStageName(stage.name)}`,
        project,
        input: this.sourceOutput,
        environmentVariables: {
          STAGE_NAME: variable(stage.name),
          STAGE_ACCOUNT_ID: variable(stage.account),
          STAGE_REGION: variable(stage.region),
          STAGE_TEST_ROLE_ARN: variable(testRoleArns[index]),
        },
      }));
    });
  }

  private stageActionsOf(method: string, stageName: string): { readonly actions: OrderedStage; readonly deployment: string } {
    const stage = this.stageActions.get(stageName);
    if (!stage) {
      throw new Error(`DeployPipeline ${this.node.path}: ${method}: stageName '${stageName}' is not a deployment stage of the pipeline; use one of ${[...this.stageActions.keys()].map(name => `'${name}'`).join(', ')}`);
    }
    return stage;
  }

  /** The synth build reads the stage parameters and finds the newest approved model package. */
  private grantSynthReads(projectName: string, projectId: string, modelPackageGroupName: string): void {
    const stack = Stack.of(this);
    const parameterArn = (name: string) => stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.synthProject.addToRolePolicy(new iam.PolicyStatement({
      actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
      resources: [parameterArn(`mlops/${projectName}`), parameterArn(`mlops/${projectName}/*`)],
    }));
    const { groups, packages } = modelPackageArns(this, modelPackageGroupName, projectId);
    this.synthProject.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:DescribeModelPackageGroup'],
      resources: groups,
    }));
    this.synthProject.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:DescribeModelPackage'],
      resources: packages,
    }));
    // sagemaker:ListModelPackages does not support resource-level permissions.
    this.synthProject.addToRolePolicy(new iam.PolicyStatement({
      actions: ['sagemaker:ListModelPackages'],
      resources: ['*'],
    }));
  }

  private createArtifactBucket(): s3.Bucket {
    // Our own key rather than `crossAccountKeys: true`, whose key alias is a fixed name that
    // would clash between two projects made from the same template.
    const encryptionKey = new kms.Key(this, 'ArtifactsBucketKey', {
      description: 'Encrypts the artifacts of a SageMaker project deploy pipeline',
      enableKeyRotation: true,
      // Pipeline artifacts are transient; as CodePipeline's own default key.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    return new s3.Bucket(this, 'ArtifactsBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

/**
 * Deploys a stage as `cdk deploy` does. First the file assets of `<STAGE_NAME>.assets.json`, if
 * the deploy app wrote one, are published with the CDK's own tool, which runs their commands with
 * the build's credentials and uploads through the role the manifest names (the bootstrap file
 * publishing role of the stage's account and region). Then, with the credentials of the stage's
 * deploy role (`ACTION_ROLE_ARN`), `<STAGE_NAME>.template.json` is deployed in `STAGE_REGION` by
 * a change set that its CloudFormation execution role (`DEPLOYMENT_ROLE_ARN`) executes. The
 * template goes as its body (CloudFormation's limit: 51,200 bytes), as the deploy role may not
 * write the stage region's staging bucket.
 */
function remoteDeploymentBuildSpec(): codebuild.BuildSpec {
  return codebuild.BuildSpec.fromObject({
    version: '0.2',
    env: { shell: 'bash' },
    phases: {
      install: {
        'runtime-versions': { nodejs: 20 },
      },
      build: {
        commands: [
          [
            'set -euo pipefail',
            'template="${STAGE_NAME}.template.json"',
            'assets="${STAGE_NAME}.assets.json"',
            'size=$(wc -c < "$template")',
            'if [ "$size" -gt 51200 ]; then echo "$template has $size bytes; a stage deployed by this build takes a template of at most 51,200 bytes '
              + '(CloudFormation\'s limit for a template body): split the stage\'s stack or make it smaller, or deploy the stage in the project\'s region '
              + '(leave its region out), where a CloudFormation action deploys templates of up to 1 MB" >&2; exit 1; fi',
            `if [ -f "$assets" ]; then npx --yes ${CDK_ASSETS_VERSION} --path "$assets" publish; fi`,
            'credentials=$(aws sts assume-role --role-arn "$ACTION_ROLE_ARN" --role-session-name "deploy-${STAGE_NAME}" '
              + '--query "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]" --output text)',
            'read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<< "$credentials"',
            'export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN',
            'aws cloudformation deploy --region "$STAGE_REGION" --stack-name "$STACK_NAME" --template-file "$template" --role-arn "$DEPLOYMENT_ROLE_ARN" '
              + '--capabilities CAPABILITY_AUTO_EXPAND CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset',
          ].join('\n'),
        ],
      },
    },
  });
}

/** The bootstrap roles a stage deployed by its stage deployment project is published and deployed through. */
interface RemoteDeploymentRoles {
  readonly actionRoleArn: string;
  readonly deploymentRoleArn: string;
  readonly filePublishingRoleArn: string;
}

/**
 * `STAGE_NETWORKS` for the synth build, when a stage has a network: per stage name, its
 * `subnetIds` and `securityGroupIds`, or the SSM parameters of its account that hold them
 * (`subnetIdsParameter`, `securityGroupIdsParameter`), which the stage's template reads when it
 * is deployed.
 */
function stageNetworksVariable(scope: Construct, stages: ResolvedStage[]): { [name: string]: string } {
  const networks: { [stage: string]: { [key: string]: string | string[] } } = {};
  for (const stage of stages) {
    const network = stage.network;
    if (!network) continue;
    networks[stage.name] = {
      ...(network.subnetIds ? { subnetIds: network.subnetIds } : { subnetIdsParameter: network.subnetIdsParameterName ?? '/mlops/network/subnet_ids' }),
      ...(network.securityGroupIds
        ? { securityGroupIds: network.securityGroupIds }
        : { securityGroupIdsParameter: network.securityGroupIdsParameterName ?? '/mlops/network/security_group_ids' }),
    };
  }
  return Object.keys(networks).length > 0 ? { STAGE_NETWORKS: Stack.of(scope).toJsonString(networks) } : {};
}

/** Path of the roles the deploy apps create in the stage accounts (`DeploymentTargetPolicy.DEFAULT_ROLE_PATH`). */
const STAGE_TEST_ROLE_PATH = '/mlops-deployment/';

/** The scan the pipeline runs: `securityScanner`, or checkov unless the deprecated `securityScan` turns it off. */
function securityScannerOf(owner: string, props: DeployPipelineOptions): SecurityScan {
  if (props.securityScanner !== undefined) {
    const conflicting = [
      props.securityScan !== undefined ? `securityScan '${props.securityScan}'` : undefined,
      props.securityScanSkipChecks !== undefined ? 'securityScanSkipChecks' : undefined,
    ].filter(given => given !== undefined);
    if (conflicting.length > 0) {
      throw new Error(`${owner}: securityScanner is given together with ${conflicting.join(' and ')}, which it replaces; give the scan once: SecurityScan.checkov({ skipChecks }), SecurityScan.fromBuildSpec(...) or SecurityScan.none()`);
    }
    return props.securityScanner;
  }
  if (props.securityScan === false) {
    if ((props.securityScanSkipChecks ?? []).length > 0) {
      validateSkipChecks(owner, props.securityScanSkipChecks!);
    }
    return SecurityScan.none();
  }
  validateSkipChecks(owner, props.securityScanSkipChecks ?? []);
  return SecurityScan.checkov({ skipChecks: props.securityScanSkipChecks });
}

/**
 * Throw unless a given pipeline artifact bucket can be read by the roles of other accounts: its
 * policy must be one this app writes (a bucket defined here, not imported), and it must be
 * encrypted with a KMS key whose policy this app writes too (S3's own keys cannot be shared).
 */
function validateCrossAccountBucket(owner: string, bucket: s3.IBucket, stages: ResolvedStage[]): void {
  const other = stages.find(stage => !stage.isProjectAccount);
  if (!other) return;
  const why = `stage '${other.name}' deploys to another account, whose roles read the pipeline's artifacts through the bucket and key policies`;
  if (!(bucket instanceof s3.Bucket)) {
    throw new Error(`${owner}: pipelineArtifactBucket '${bucket.node.path}' is imported, so its bucket policy cannot be changed, and ${why}; give a bucket defined in this app, or leave pipelineArtifactBucket out`);
  }
  if (!bucket.encryptionKey || !(bucket.encryptionKey instanceof kms.Key)) {
    throw new Error(`${owner}: pipelineArtifactBucket '${bucket.node.path}' is not encrypted with a KMS key defined in this app, and ${why}; give a bucket with encryptionKey set to a kms.Key of this app, or leave pipelineArtifactBucket out`);
  }
}

/**
 * Warn when a stage deploys, without approval, whatever the deploy repository synthesizes through
 * the execution role of the default CDK bootstrap, which a plain `cdk bootstrap` gives
 * AdministratorAccess: a push to the repository would then be an administrator of that account.
 */
function warnUnapprovedDefaultBootstrap(scope: Construct, stages: ResolvedStage[], qualifier: string): void {
  const exposed = stages.filter(stage => !stage.requireApproval && stage.deploymentRoleArn === undefined);
  if (qualifier !== 'hnb659fds' || exposed.length === 0) return;
  Annotations.of(scope).addWarningV2('cdk-sagemaker-project-templates:unapprovedDeploymentWithDefaultBootstrap',
    `Stage${exposed.length > 1 ? 's' : ''} ${exposed.map(stage => `'${stage.name}'`).join(', ')} deploy${exposed.length > 1 ? '' : 's'} what the deploy repository synthesizes without approval, `
    + 'through the execution role of the default CDK bootstrap (qualifier hnb659fds), which a plain `cdk bootstrap` gives AdministratorAccess. '
    + 'Bootstrap the target accounts with a qualifier of their own and --cloudformation-execution-policies of a DeploymentTargetPolicy, and set bootstrapQualifier to it '
    + '(or give the stage a deploymentRoleArn, or requireApproval: true).');
}

/** A role of a deployment stage, and what makes it the same as another stage's. */
interface StageRole {
  readonly role: iam.IRole;
  readonly pascal: string;
  /**
   * A bootstrap role is named by its kind, account, qualifier and region: one qualifier for
   * the pipeline, and one region for all stages (a template rule requires each stage's region to
   * be the stack's), so the account decides. A role given by ARN is compared by its ARN.
   */
  readonly key: PrincipalKey;
}

/**
 * Let roles of the stage accounts read the pipeline's artifacts, each role listed once: stages
 * may share an account, also one entered as a parameter (see `keepDistinct`).
 *
 * Added to the bucket and key policies directly: when an account is a token (a CloudFormation
 * parameter) CDK cannot tell that it differs from the pipeline's, and its own grants would
 * only (pretend to) add the permission to the imported role. With a Sid, so that CDK does not
 * merge the statements with others into a principal list that could repeat a role.
 */
function allowArtifactRead(scope: Construct, bucket: s3.IBucket, roles: StageRole[], conditions?: { [operator: string]: any }): void {
  const distinct = keepDistinct(scope, roles, role => role.key, role => `${role.pascal}${role.key.kind === 'role' ? 'GivenRole' : 'Account'}IsDistinct`);
  const principals = distinct.map(({ item, condition }) => new iam.ArnPrincipal(listedIf(item.role.roleArn, condition)));
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DeploymentStageRolesReadArtifacts',
    principals,
    actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
    resources: [bucket.bucketArn, bucket.arnForObjects('*')],
    conditions,
  }));
  bucket.encryptionKey?.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'DeploymentStageRolesDecryptArtifacts',
    principals,
    actions: ['kms:Decrypt', 'kms:DescribeKey'],
    // In a key policy, '*' is the key itself.
    resources: ['*'],
    conditions,
  }));
}
