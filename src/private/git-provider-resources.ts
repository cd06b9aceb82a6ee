import * as path from 'path';
import { CfnResource, CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { SeedCode } from '../seed-code';
import { addNagSuppressions } from './nag-suppressions';

/** Connections of CodeConnections, or of CodeStar Connections (its former name). */
export const CONNECTION_ARN_PATTERN = '^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]+$';

/** GitHub users and organizations, GitLab groups and subgroups, Bitbucket workspaces. */
export const OWNER_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9_])?(/[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9_])?)*$';

/** What the custom resource needs to create one repository. */
export interface GitRepositoryOptions {
  /** The handler's provider id: 'github', 'github-enterprise' or 'gitlab'. */
  readonly provider: string;
  /** API base URL, or '' for the provider's public default. */
  readonly apiUrl: string;
  readonly owner: string;
  readonly repositoryName: string;
  readonly branch: string;
  readonly seedCode: SeedCode;
  /** ARN of the secret with the token. */
  readonly tokenSecretArn: string;
  /** Lets the handler read the token (adds its key's permissions too). */
  readonly grantTokenRead: (grantee: iam.IGrantable) => void;
  readonly removalPolicy: RemovalPolicy;
  readonly description: string;
}

export const HANDLER_RUNTIME_REASON = 'The git provider handler runs on nodejs22.x, fixed so that a product version\'s template does not change with aws-cdk-lib upgrades; it uses only Node.js built-ins and the AWS SDK v3 that the runtime provides.';

/**
 * The one Lambda function per stack that creates repositories on git providers: a role that may
 * write its own log group, read the token secrets and seed code objects it is given, and nothing else.
 */
class GitProviderHandler extends Construct {
  public static of(scope: Construct): GitProviderHandler {
    const stack = Stack.of(scope);
    return (stack.node.tryFindChild('GitProviderHandler') as GitProviderHandler | undefined) ?? new GitProviderHandler(stack, 'GitProviderHandler');
  }

  public readonly role: iam.Role;
  public readonly function: lambda.Function;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: logs.RetentionDays.THREE_MONTHS,
      // The log explains a failed project creation after the rollback.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Creates the git repositories of SageMaker projects on their git provider',
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
    this.function = new lambda.Function(this, 'Function', {
      description: 'Creates a SageMaker project\'s repository on its git provider and pushes the seed code',
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      // Runtime code, compiled into lib/handlers/git-provider; the handler has no dependencies to bundle.
      code: lambda.Code.fromAsset(path.join(__dirname, '..', 'handlers', 'git-provider'), { exclude: ['*.d.ts'] }),
      timeout: Duration.minutes(5),
      memorySize: 256,
      role: this.role,
      logGroup,
    });
    addNagSuppressions(this.function.node.defaultChild as CfnResource, [{ id: 'AwsSolutions-L1', reason: HANDLER_RUNTIME_REASON }]);
  }
}

/** A repository on a git provider whose first commit, on `branch`, is the seed code. */
export function createGitRepository(scope: Construct, id: string, options: GitRepositoryOptions): CustomResource {
  const handler = GitProviderHandler.of(scope);
  const seed = options.seedCode.bind(scope, handler.role);
  options.grantTokenRead(handler.role);
  const resource = new CustomResource(scope, id, {
    serviceToken: handler.function.functionArn,
    resourceType: 'Custom::GitRepository',
    properties: {
      Provider: options.provider,
      ApiUrl: options.apiUrl,
      Owner: options.owner,
      RepositoryName: options.repositoryName,
      Branch: options.branch,
      TokenSecretArn: options.tokenSecretArn,
      SeedBucket: seed.bucketName,
      SeedKey: seed.objectKey,
      // The handler deletes the repository only for 'destroy'; CloudFormation always asks it.
      RemovalPolicy: options.removalPolicy === RemovalPolicy.DESTROY ? 'destroy' : 'retain',
      Description: options.description,
    },
  });
  // The handler's permissions come before it runs.
  resource.node.addDependency(handler.role);
  return resource;
}
