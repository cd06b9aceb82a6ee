import { Lazy, RemovalPolicy } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
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
