import { CfnParameter, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IDependable } from 'constructs';
import { CONNECTION_ARN_PATTERN, createGitRepository, OWNER_PATTERN } from './private/git-provider-resources';
import { partitionOf, validateKnownRegion, validateRemovalPolicy } from './private/input-checks';
import { createSeededRepository } from './private/pipeline-common';
import { knownRegion } from './private/stages';
import { SeedCode } from './seed-code';

/**
 * The git providers an AWS CodeConnections connection can reach.
 */
export enum GitProvider {
  /** github.com. */
  GITHUB = 'GitHub',
  /** GitHub Enterprise Server; give its `apiUrl`. */
  GITHUB_ENTERPRISE = 'GitHubEnterpriseServer',
  /** gitlab.com, or a self-managed GitLab with `apiUrl`. */
  GITLAB = 'GitLab',
  /** Bitbucket Cloud; its repositories must exist already (`createRepository: false`). */
  BITBUCKET = 'Bitbucket',
}

/**
 * Properties of a source on GitHub, GitHub Enterprise Server, GitLab or Bitbucket, reached
 * through an AWS CodeConnections connection.
 */
export interface CodeConnectionSourceProps {
  /**
   * ARN of the CodeConnections (or CodeStar Connections) connection, in the project's account
   * and region, in the Available state.
   *
   * @default - the product parameter `GitConnectionArn`, entered when a project is created
   */
  readonly connectionArn?: string;

  /**
   * The user, organization (GitHub), group (GitLab) or workspace (Bitbucket) the repositories
   * belong to.
   *
   * @default - the product parameter `GitOwner`, entered when a project is created
   */
  readonly owner?: string;

  /**
   * The git provider of the connection.
   *
   * @default GitProvider.GITHUB
   */
  readonly provider?: GitProvider;

  /**
   * Whether creating a project creates its repositories (private, with the seed code as their
   * first commit on the branch). When false, the repositories must exist already, with the
   * branch; the pipelines use them as they are.
   *
   * @default - true for GitHub, GitHub Enterprise Server and GitLab; false for Bitbucket, for
   * which creating repositories is not supported
   */
  readonly createRepository?: boolean;

  /**
   * The secret holding a personal access token that may create repositories under `owner`
   * (GitHub: `repo` scope, and `delete_repo` for `RemovalPolicy.DESTROY`; GitLab: `api`),
   * as the secret string alone or as `{"token": "..."}`. Read by a Lambda function when a
   * project is created; never written to the template or the logs.
   *
   * @default - `tokenSecretArn`; one of the two is required when `createRepository` is true
   */
  readonly tokenSecret?: secretsmanager.ISecret;

  /**
   * The complete ARN of the token secret (with its 6-character suffix), as an alternative to
   * `tokenSecret`. A secret encrypted with a customer managed key needs `tokenSecret` with its
   * `encryptionKey` instead.
   *
   * @default - `tokenSecret`; one of the two is required when `createRepository` is true
   */
  readonly tokenSecretArn?: string;

  /**
   * Base URL of the provider's REST API, used to create repositories.
   *
   * @default - `https://api.github.com` for GitHub and `https://gitlab.com/api/v4` for GitLab;
   * required for GitHub Enterprise Server (`https://<host>/api/v3`)
   */
  readonly apiUrl?: string;

  /**
   * What happens to a repository this source created when its project is deleted.
   * `RemovalPolicy.DESTROY` deletes it from the provider.
   *
   * @default - the pipeline's `repositoryRemovalPolicy` (the template's `removalPolicy`), which
   * is `RemovalPolicy.RETAIN` unless changed
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What a pipeline gives its source when it binds it.
 */
export interface SourceRepositoryBindOptions {
  /** Name of the repository (`<project-name>-build` or `<project-name>-deploy` by default). */
  readonly repositoryName: string;

  /** The branch that holds the seed code and whose pushes start the pipeline. */
  readonly branch: string;

  /** The code a new repository starts with. */
  readonly seedCode: SeedCode;

  /** The artifact the source action writes. */
  readonly output: codepipeline.Artifact;

  /**
   * What happens to a repository the source creates when the project is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Description of a repository the source creates.
   *
   * @default - none
   */
  readonly description?: string;
}

/**
 * What a pipeline needs from its bound source.
 */
export interface SourceRepositoryConfig {
  /** Name of the repository. */
  readonly repositoryName: string;

  /** The pipeline's source action (in the `Source` stage). */
  readonly action: codepipeline.IAction;

  /**
   * The CodeCommit repository.
   *
   * @default - undefined for sources that are not CodeCommit
   */
  readonly repository?: codecommit.IRepository;

  /**
   * What the pipeline must be created after (the resource that creates the repository).
   *
   * @default - nothing
   */
  readonly dependable?: IDependable;

  /**
   * The role the source action assumes to read through a git provider connection. A Service
   * Catalog launch role needs more permissions for a template that has one.
   *
   * @default - undefined for sources that need no connection (CodeCommit)
   */
  readonly connectionRole?: iam.IRole;
}

/**
 * Where a pipeline's code lives: a CodeCommit repository created from the seed code (the
 * default), or a repository on GitHub, GitHub Enterprise Server, GitLab or Bitbucket reached
 * through an AWS CodeConnections connection.
 */
export abstract class SourceRepository {
  /**
   * A CodeCommit repository created with the seed code as its first commit.
   *
   * CodeCommit is closed to AWS accounts that did not use it before 25 July 2024; use
   * `SourceRepository.codeConnection()` in those.
   */
  public static codeCommit(): SourceRepository {
    return new CodeCommitSource();
  }

  /**
   * A repository on a git provider, through an AWS CodeConnections connection. Pushes to the
   * branch start the pipeline.
   */
  public static codeConnection(props: CodeConnectionSourceProps = {}): SourceRepository {
    return new CodeConnectionSource(props);
  }

  /**
   * Make the repository for a pipeline and the source action that reads it.
   *
   * @param scope the pipeline construct
   */
  public abstract bind(scope: Construct, options: SourceRepositoryBindOptions): SourceRepositoryConfig;

  /**
   * Whether binding adds a file asset to the stack (the handler that creates repositories on a
   * git provider is one). A Service Catalog product stack keeps file assets in an asset bucket,
   * so a template with such a source needs one.
   */
  public get createsFileAsset(): boolean {
    return false;
  }
}

class CodeCommitSource extends SourceRepository {
  public bind(scope: Construct, options: SourceRepositoryBindOptions): SourceRepositoryConfig {
    const repository = createSeededRepository(scope, 'Repository', {
      repositoryName: options.repositoryName,
      branch: options.branch,
      seedCode: options.seedCode,
      removalPolicy: options.removalPolicy,
    });
    return {
      repositoryName: options.repositoryName,
      repository,
      action: new actions.CodeCommitSourceAction({
        actionName: 'CodeCommit',
        repository,
        branch: options.branch,
        output: options.output,
      }),
    };
  }
}

const HANDLER_PROVIDER: { [provider: string]: string } = {
  [GitProvider.GITHUB]: 'github',
  [GitProvider.GITHUB_ENTERPRISE]: 'github-enterprise',
  [GitProvider.GITLAB]: 'gitlab',
};

const ACTION_NAMES: { [provider: string]: string } = {
  [GitProvider.GITHUB]: 'GitHub',
  [GitProvider.GITHUB_ENTERPRISE]: 'GitHubEnterprise',
  [GitProvider.GITLAB]: 'GitLab',
  [GitProvider.BITBUCKET]: 'Bitbucket',
};

class CodeConnectionSource extends SourceRepository {
  private readonly provider: GitProvider;
  private readonly createRepository: boolean;

  constructor(private readonly props: CodeConnectionSourceProps) {
    super();
    this.provider = props.provider ?? GitProvider.GITHUB;
    this.createRepository = props.createRepository ?? this.provider !== GitProvider.BITBUCKET;
    const owner = 'SourceRepository.codeConnection';
    if (!Object.values(GitProvider).includes(this.provider)) {
      throw new Error(`${owner}: provider '${this.provider}' is not a git provider; use GitProvider.GITHUB, GITHUB_ENTERPRISE, GITLAB or BITBUCKET`);
    }
    if (this.createRepository && !HANDLER_PROVIDER[this.provider]) {
      throw new Error(`${owner}: creating repositories on ${this.provider} is not supported; create them yourself and set createRepository: false`);
    }
    if (this.createRepository && !props.tokenSecret && !props.tokenSecretArn) {
      throw new Error(`${owner}: createRepository needs a token to create the repositories with; give tokenSecret or tokenSecretArn (a Secrets Manager secret holding a personal access token), or set createRepository: false to use repositories that exist`);
    }
    if (props.tokenSecret && props.tokenSecretArn) {
      throw new Error(`${owner}: give tokenSecret or tokenSecretArn, not both`);
    }
    if (this.createRepository && this.provider === GitProvider.GITHUB_ENTERPRISE && !props.apiUrl) {
      throw new Error(`${owner}: GitHub Enterprise Server needs apiUrl to create repositories; give its API's base address, e.g. https://github.example.com/api/v3`);
    }
    if (props.apiUrl !== undefined && !Token.isUnresolved(props.apiUrl) && !/^https?:\/\/[^\s/]+(\/\S*)?$/.test(props.apiUrl)) {
      throw new Error(`${owner}: apiUrl '${props.apiUrl}' is not a URL; use the API's base address, e.g. https://github.example.com/api/v3`);
    }
    // Also a URL that starts with http:// and ends in a token: the token would go in clear text.
    if (props.apiUrl !== undefined && /^http:\/\//i.test(props.apiUrl)) {
      throw new Error(`${owner}: apiUrl '${props.apiUrl}' must start with https://, or the personal access token that creates the repositories is sent in clear text; use e.g. https://github.example.com/api/v3`);
    }
    const literal = (value?: string): value is string => value !== undefined && !Token.isUnresolved(value);
    if (literal(props.connectionArn) && !new RegExp(CONNECTION_ARN_PATTERN).test(props.connectionArn)) {
      throw new Error(`${owner}: connectionArn '${props.connectionArn}' is not the ARN of a connection; use arn:aws:codeconnections:<region>:<account>:connection/<id>`);
    }
    if (literal(props.owner) && (props.owner.length > 255 || !new RegExp(OWNER_PATTERN).test(props.owner))) {
      throw new Error(`${owner}: owner '${props.owner}' is not a user, organization, group or workspace name; use letters, digits, '.', '_', '-' (and '/' between GitLab subgroups)`);
    }
    validateConnectionSourceProps(owner, this.provider, this.createRepository, props);
  }

  public get createsFileAsset(): boolean {
    return this.createRepository;
  }

  public bind(scope: Construct, options: SourceRepositoryBindOptions): SourceRepositoryConfig {
    validateConnectionRegion('SourceRepository.codeConnection', this.props.connectionArn, scope);
    const connectionArn = this.props.connectionArn ?? parameter(scope, 'GitConnectionArn', {
      description: `ARN of the AWS CodeConnections connection to ${this.provider} (Developer Tools > Settings > Connections)`,
      allowedPattern: CONNECTION_ARN_PATTERN,
      constraintDescription: 'must be the ARN of a CodeConnections connection: arn:aws:codeconnections:<region>:<account>:connection/<id>',
    });
    const owner = this.props.owner ?? parameter(scope, 'GitOwner', {
      description: `The ${this.provider} user, organization, group or workspace that holds the project's repositories`,
      allowedPattern: OWNER_PATTERN,
      maxLength: 255,
      constraintDescription: 'must be a user, organization, group or workspace name: letters, digits, \'.\', \'_\', \'-\' (and \'/\' between GitLab subgroups)',
    });

    // The action's own role, so that the connection's new service prefix can be granted too.
    // Trusted by the role of the pipeline the action is added to, and by nothing else: whoever
    // may assume it can replace the source artifact, so the account (any of its principals that
    // an identity policy lets assume roles) is not trusted.
    let action: PipelineRoleAssumedConnectionAction | undefined;
    const role = new iam.Role(scope, 'SourceConnectionRole', {
      assumedBy: new iam.ArnPrincipal(Lazy.string({ produce: () => action!.pipelineRoleArn(scope) })),
      description: 'Reads the repository through the git provider connection',
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['codeconnections:UseConnection'],
      resources: [connectionArn],
    }));

    let dependable: IDependable | undefined;
    if (this.createRepository) {
      const secret = this.props.tokenSecret;
      const tokenSecretArn = secret ? secret.secretArn : this.props.tokenSecretArn!;
      dependable = createGitRepository(scope, 'Repository', {
        provider: HANDLER_PROVIDER[this.provider],
        apiUrl: this.props.apiUrl ?? '',
        owner,
        repositoryName: options.repositoryName,
        branch: options.branch,
        seedCode: options.seedCode,
        tokenSecretArn,
        grantTokenRead: grantee => {
          if (secret) {
            secret.grantRead(grantee);
          } else {
            grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
              actions: ['secretsmanager:GetSecretValue'],
              resources: [tokenSecretArn],
            }));
          }
        },
        removalPolicy: this.props.removalPolicy ?? options.removalPolicy ?? RemovalPolicy.RETAIN,
        description: options.description ?? '',
      });
    }

    action = new PipelineRoleAssumedConnectionAction({
      actionName: ACTION_NAMES[this.provider],
      connectionArn,
      owner,
      repo: options.repositoryName,
      branch: options.branch,
      output: options.output,
      triggerOnPush: true,
      role,
    });
    return {
      repositoryName: options.repositoryName,
      dependable,
      action,
      connectionRole: role,
    };
  }
}

/**
 * A CodeConnections source action whose role trusts only the role of the pipeline it is added
 * to, which is known once the pipeline binds the action.
 */
class PipelineRoleAssumedConnectionAction extends actions.CodeStarConnectionsSourceAction {
  private pipelineRole?: iam.IRole;

  constructor(private readonly sourceProps: actions.CodeStarConnectionsSourceActionProps) {
    super(sourceProps);
  }

  /** The ARN of the role of the pipeline the action was added to. */
  public pipelineRoleArn(scope: Construct): string {
    if (!this.pipelineRole) {
      throw new Error(`${scope.node.path}: the ${this.sourceProps.actionName} source action was never added to a codepipeline.Pipeline, whose role alone may assume its role`);
    }
    return this.pipelineRole.roleArn;
  }

  protected bound(scope: Construct, stage: codepipeline.IStage, options: codepipeline.ActionBindOptions): codepipeline.ActionConfig {
    if (!(stage.pipeline instanceof codepipeline.Pipeline)) {
      throw new Error(`${scope.node.path}: the ${this.sourceProps.actionName} source action can only be added to a codepipeline.Pipeline, whose role alone may assume its role`);
    }
    this.pipelineRole = stage.pipeline.role;
    return super.bound(scope, stage, options);
  }
}

/** A complete secret ARN: the secret's name, then '-' and the 6 characters Secrets Manager adds. */
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

/** What the other checks of `codeConnection` leave: unused settings, the token's ARN, the owner's form, the removal policy. */
function validateConnectionSourceProps(owner: string, provider: GitProvider, createRepository: boolean, props: CodeConnectionSourceProps): void {
  const literal = (value?: string): value is string => value !== undefined && !Token.isUnresolved(value);
  if (!createRepository) {
    const unused = (['tokenSecret', 'tokenSecretArn', 'apiUrl'] as const).filter(name => props[name] !== undefined);
    if (unused.length > 0) {
      throw new Error(`${owner}: ${unused.join(' and ')} ${unused.length === 1 ? 'is' : 'are'} given but createRepository is false, so nothing would use ${unused.length === 1 ? 'it' : 'them'}; leave ${unused.length === 1 ? 'it' : 'them'} out, or set createRepository: true`);
    }
  }
  if (literal(props.tokenSecretArn) && !SECRET_ARN.test(props.tokenSecretArn)) {
    throw new Error(`${owner}: tokenSecretArn '${props.tokenSecretArn}' is not the complete ARN of a Secrets Manager secret (IAM matches the complete ARN, with the '-' and 6 characters Secrets Manager adds to the name); use arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, or tokenSecret with Secret.fromSecretNameV2`);
  }
  if (literal(props.apiUrl)) {
    if (/^https?:\/\/[^/]*@/.test(props.apiUrl)) {
      throw new Error(`${owner}: apiUrl '${props.apiUrl.replace(/\/\/[^/]*@/, '//***@')}' holds credentials, which would be written into the template; use the address alone, the token comes from tokenSecret`);
    }
    if (provider === GitProvider.GITHUB && !/^https:\/\/api\.github\.com\/?$/.test(props.apiUrl)) {
      throw new Error(`${owner}: apiUrl '${props.apiUrl}' is given for GitProvider.GITHUB, which is always https://api.github.com, so the token would go to another host; use GitProvider.GITHUB_ENTERPRISE for a GitHub Enterprise Server, or leave apiUrl out`);
    }
  }
  if (literal(props.owner) && props.owner.includes('/') && provider !== GitProvider.GITLAB) {
    throw new Error(`${owner}: owner '${props.owner}' holds '/', which only GitLab subgroups have; use the ${provider} user, organization or workspace name alone`);
  }
  validateRemovalPolicy(owner, 'removalPolicy', props.removalPolicy);
}

/**
 * Throw unless a literal connection ARN names a region aws-cdk-lib knows, of the partition it
 * says, and (when synthesis knows it) the region the pipeline is created in: CodePipeline uses
 * connections of its own region only.
 */
function validateConnectionRegion(owner: string, connectionArn: string | undefined, scope: Construct): void {
  if (connectionArn === undefined || Token.isUnresolved(connectionArn)) return;
  const [, partition, , region] = connectionArn.split(':');
  validateKnownRegion(owner, `connectionArn '${connectionArn}': region`, region);
  const expected = partitionOf(region);
  if (expected !== undefined && partition !== expected) {
    throw new Error(`${owner}: connectionArn '${connectionArn}' is in partition '${partition}', but region ${region} is in '${expected}'; use arn:${expected}:codeconnections:${region}:...`);
  }
  const projectRegion = knownRegion(scope);
  if (projectRegion !== undefined && region !== projectRegion) {
    throw new Error(`${owner}: connectionArn '${connectionArn}' is a connection of region ${region}, but the pipeline is created in ${projectRegion}, and CodePipeline uses connections of its own region only; create a connection in ${projectRegion} and use its ARN`);
  }
}

/** A string parameter of the stack, made once however many pipelines use it. */
interface ParameterProps {
  readonly description: string;
  readonly allowedPattern: string;
  readonly constraintDescription: string;
  readonly maxLength?: number;
}

/** A parameter of the git connection, shared by both pipelines of a stack. */
class GitConnectionParameter extends CfnParameter {}

/** The parameter `name` of the stack, created in `scope` (the first pipeline that needs it) once. */
function parameter(scope: Construct, name: string, props: ParameterProps): string {
  const stack = Stack.of(scope);
  const existing = stack.node.findAll()
    .find((c): c is GitConnectionParameter => c instanceof GitConnectionParameter && Stack.of(c) === stack && stack.resolve(c.logicalId) === name);
  if (existing) return existing.valueAsString;
  const created = new GitConnectionParameter(scope, `GitParameter${name}`, { type: 'String', minLength: 1, ...props });
  created.overrideLogicalId(name);
  return created.valueAsString;
}
