import { Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ProjectNetwork, ProjectNetworkConfig } from '../project-network';
import { SeedCode } from '../seed-code';
import { SourceRepository, SourceRepositoryConfig } from '../source-repository';
import {
  limitPipelineStages,
  validateBranchName,
  validateEnvironmentVariableNames,
  validateModelPackageGroupName,
  validatePipelineName,
  validateProjectNameAndId,
  validateRemovalPolicy,
  validateRepositoryName,
} from './input-checks';
import { ProjectNagSuppressions } from './nag-suppressions';
import { artifactKeyOf, plainTextEnvironment } from './pipeline-common';
import { checkQuotas } from './quotas';

/** What both pipelines of a project take alike. */
export interface ProjectPipelineProps {
  readonly projectName: string;
  readonly projectId: string;
  readonly modelPackageGroupName: string;
  readonly artifactBucket: s3.IBucket;
  readonly artifactKey?: kms.IKey;
  readonly repositoryName?: string;
  readonly branch?: string;
  readonly pipelineName?: string;
  readonly source?: SourceRepository;
  readonly repositoryRemovalPolicy?: RemovalPolicy;
  readonly buildImage?: codebuild.IBuildImage;
  readonly computeType?: codebuild.ComputeType;
  readonly environmentVariables?: { [key: string]: string };
  readonly network?: ProjectNetwork;
}

/** How one pipeline differs from the other in its opening. */
export interface ProjectPipelineKind {
  /** `build` or `deploy`: the suffix of the default repository and pipeline names. */
  readonly suffix: string;
  readonly seedCode: SeedCode;
  /** Description of the repository. */
  readonly repositoryDescription: string;
}

/**
 * The opening both pipelines share: the checks of their common properties, the repository and
 * its source action, the build environment and, once the caller has made what must come first,
 * the CodePipeline with its `Source` stage.
 */
export class ProjectPipelineOpening {
  /** `<Class> <path>`, the owner named in error messages. */
  public readonly owner: string;
  public readonly branch: string;
  public readonly repositoryName: string;
  public readonly pipelineName: string;
  public readonly artifactKey: kms.IKey;
  public readonly sourceOutput: codepipeline.Artifact;
  public readonly source: SourceRepositoryConfig;
  /** The subnets and security groups of the builds and jobs, when the project is in a VPC. */
  public readonly network?: ProjectNetworkConfig;

  constructor(scope: Construct, className: string, private readonly props: ProjectPipelineProps, kind: ProjectPipelineKind) {
    this.owner = `${className} ${scope.node.path}`;
    validateProjectNameAndId(this.owner, props.projectName, props.projectId);
    ProjectNagSuppressions.applyTo(scope);
    this.branch = props.branch ?? 'main';
    validateBranchName(this.owner, this.branch);
    this.repositoryName = props.repositoryName ?? `${props.projectName}-${kind.suffix}`;
    validateRepositoryName(this.owner, this.repositoryName);
    this.pipelineName = props.pipelineName ?? `${props.projectName}-${kind.suffix}`;
    validatePipelineName(this.owner, this.pipelineName);
    validateModelPackageGroupName(this.owner, props.modelPackageGroupName);
    validateRemovalPolicy(this.owner, 'repositoryRemovalPolicy', props.repositoryRemovalPolicy);
    validateEnvironmentVariableNames(this.owner, props.environmentVariables);
    this.artifactKey = artifactKeyOf(this.owner, props.artifactBucket, props.artifactKey);

    this.network = props.network?.bind(scope);
    this.sourceOutput = new codepipeline.Artifact('SourceOutput');
    this.source = (props.source ?? SourceRepository.codeCommit()).bind(scope, {
      repositoryName: this.repositoryName,
      branch: this.branch,
      seedCode: kind.seedCode,
      output: this.sourceOutput,
      removalPolicy: props.repositoryRemovalPolicy,
      description: kind.repositoryDescription,
    });
  }

  /** A CodeBuild environment with the pipeline's image and compute type; `extra` variables win. */
  public buildEnvironment(variables: { [key: string]: string }, privileged?: boolean): codebuild.BuildEnvironment {
    return {
      buildImage: this.props.buildImage ?? codebuild.LinuxBuildImage.STANDARD_7_0,
      computeType: this.props.computeType ?? codebuild.ComputeType.SMALL,
      privileged,
      environmentVariables: plainTextEnvironment(variables, this.props.environmentVariables),
    };
  }

  /**
   * Run a CodeBuild project in the project's subnets, if it has any: its VPC configuration, and
   * what CodeBuild does with the project's role there (network interfaces in those subnets).
   */
  public placeInNetwork(project: codebuild.Project): void {
    if (!this.network) return;
    (project.node.defaultChild as codebuild.CfnProject).vpcConfig = {
      vpcId: this.network.vpcId,
      subnets: this.network.subnetIds,
      securityGroupIds: this.network.securityGroupIds,
    };
    for (const statement of networkInterfaceStatements(project, this.network, 'codebuild.amazonaws.com')) project.addToRolePolicy(statement);
  }

  /** The CodePipeline (V2, not restarted on update) with the `Source` stage. */
  public createPipeline(scope: Construct, options: { artifactBucket?: s3.IBucket; crossAccountKeys?: boolean }): codepipeline.Pipeline {
    const pipeline = new codepipeline.Pipeline(scope, 'Pipeline', {
      pipelineName: this.pipelineName,
      pipelineType: codepipeline.PipelineType.V2,
      artifactBucket: options.artifactBucket,
      crossAccountKeys: options.crossAccountKeys,
      restartExecutionOnUpdate: false,
    });
    limitPipelineStages(this.owner, pipeline);
    checkQuotas(scope, this.owner);
    pipeline.addStage({ stageName: 'Source', actions: [this.source.action] });
    if (this.source.dependable) pipeline.node.addDependency(this.source.dependable);
    return pipeline;
  }
}

/**
 * Actions of one pipeline stage in groups that run one after the other (each group's actions in
 * parallel): the stage's own actions keep their group, and actions added before or after them
 * get a group of their own. Run orders are numbered when the pipeline is rendered, so a group
 * added before the first moves everything after it.
 */
export class OrderedStage {
  private readonly groups: Array<{ readonly key: string }> = [];

  constructor(private readonly stage: codepipeline.IStage) {}

  /** Append a new group, or return the one of this key. */
  public group(key: string): string {
    if (!this.groups.some(g => g.key === key)) this.groups.push({ key });
    return key;
  }

  /** Add `action` in a group of its own just before the group `anchor`. */
  public addBefore(anchor: string, action: codepipeline.IAction): void {
    const key = `before ${anchor} ${this.groups.length}`;
    this.groups.splice(this.groups.findIndex(g => g.key === anchor), 0, { key });
    this.add(key, action);
  }

  /** Add `action` in a group of its own after every other group. */
  public addLast(action: codepipeline.IAction): void {
    this.add(this.group(`last ${this.groups.length}`), action);
  }

  /** Add `action` to the group `key`, with that group's run order. */
  public add(key: string, action: codepipeline.IAction): void {
    this.stage.addAction(new RunOrderAction(action, Lazy.number({ produce: () => this.runOrder(key) })));
  }

  private runOrder(key: string): number {
    return this.groups.findIndex(g => g.key === key) + 1;
  }
}

/** An action whose run order is set by its stage, not by whoever made it. */
class RunOrderAction implements codepipeline.IAction {
  public readonly actionProperties: codepipeline.ActionProperties;

  constructor(private readonly inner: codepipeline.IAction, runOrder: number) {
    this.actionProperties = { ...inner.actionProperties, runOrder };
  }

  public bind(scope: Construct, stage: codepipeline.IStage, options: codepipeline.ActionBindOptions): codepipeline.ActionConfig {
    return this.inner.bind(scope, stage, options);
  }

  public onStateChange(name: string, target?: events.IRuleTarget, options?: events.RuleProps): events.Rule {
    return this.inner.onStateChange(name, target, options);
  }
}

/** A pipeline's CodeCommit repository; a pipeline whose source is a connection has none. */
export function requireCodeCommitRepository(pipeline: Construct, className: string, repository?: codecommit.IRepository): codecommit.IRepository {
  if (!repository) {
    throw new Error(`${className} ${pipeline.node.path}: the source is a git provider connection, which has no CodeCommit repository; use repositoryName`);
  }
  return repository;
}

/**
 * What a service does with a role to place its builds or jobs in the project's subnets: network
 * interfaces there (and their permissions, for `service` only when it says it asks, as CodeBuild
 * does; SageMaker's use of `ec2:AuthorizedService` is not documented), and the descriptions of the
 * VPC's parts, which take no resource. Subnets and security groups known at synth time are
 * named; a list entered at launch cannot be turned into ARNs (CloudFormation has no map), so
 * then the VPC bounds them (`ec2:Vpc`).
 */
export function networkInterfaceStatements(scope: Construct, network: ProjectNetworkConfig, service?: string): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const arnOf = (resource: string, name: string) => stack.formatArn({ service: 'ec2', resource, resourceName: name });
  const known = (ids: string[]) => !Token.isUnresolved(ids) && !ids.some(id => Token.isUnresolved(id));
  const named = known(network.subnetIds) && known(network.securityGroupIds);
  const inVpc = { ArnEquals: { 'ec2:Vpc': arnOf('vpc', network.vpcId) } };
  const subnetArns = named ? network.subnetIds.map(id => arnOf('subnet', id)) : [arnOf('subnet', '*')];
  const securityGroupArns = named ? network.securityGroupIds.map(id => arnOf('security-group', id)) : [arnOf('security-group', '*')];
  return [
    new iam.PolicyStatement({
      actions: ['ec2:CreateNetworkInterface'],
      resources: [arnOf('network-interface', '*'), ...subnetArns, ...securityGroupArns],
      conditions: named ? undefined : inVpc,
    }),
    new iam.PolicyStatement({
      actions: ['ec2:DeleteNetworkInterface', 'ec2:DeleteNetworkInterfacePermission'],
      resources: [arnOf('network-interface', '*')],
    }),
    new iam.PolicyStatement({
      actions: ['ec2:CreateNetworkInterfacePermission'],
      resources: [arnOf('network-interface', '*')],
      conditions: {
        ...(service ? { StringEquals: { 'ec2:AuthorizedService': service } } : {}),
        ...(named ? { ArnEquals: { 'ec2:Subnet': subnetArns } } : inVpc),
      },
    }),
    new iam.PolicyStatement({
      // These actions take no resource.
      actions: ['ec2:DescribeDhcpOptions', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs'],
      resources: ['*'],
    }),
  ];
}
