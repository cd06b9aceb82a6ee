import { Aws, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Path every role the library creates gets, so the launch role can pass and manage exactly those. */
export const ROLE_PATH = '/sagemaker-project-templates/';

/** Prefix of every bucket a project template creates; the launch role manages only these. */
export const BUCKET_PREFIX = 'mlops-';

/** Tags SageMaker uses to connect resources to a project. */
export const PROJECT_NAME_TAG = 'sagemaker:project-name';
export const PROJECT_ID_TAG = 'sagemaker:project-id';

/** SageMaker's own pattern for project names (1-32 characters). */
export const PROJECT_NAME_PATTERN = '^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$';

/**
 * Project ids as SageMaker generates them (`p-` and 12 lowercase letters or digits), and any
 * lowercase id up to 16 characters: the id goes into S3 bucket names, which must be lowercase.
 */
export const PROJECT_ID_PATTERN = '^[a-z0-9](-*[a-z0-9]){0,15}$';

/**
 * First segments of the `/mlops/<segment>/...` SSM parameters the library itself uses: the seed
 * code locations (`/mlops/code/...`) and the role given access to a portfolio (`/mlops/role/lead`).
 * A project's own parameters are `/mlops/<project-name>/<stage>/...`, and its builds may read
 * `/mlops/<project-name>/*`: a project named like one of these would read the platform's.
 */
export const RESERVED_PARAMETER_SEGMENTS = ['code', 'role'];

/** Per app (its root construct): the segments reserved by its constructs. */
const reservedByApp = new WeakMap<IConstruct, Set<string>>();

function reservedSegments(scope: IConstruct): Set<string> {
  const root = scope.node.root;
  let segments = reservedByApp.get(root);
  if (!segments) {
    segments = new Set<string>(RESERVED_PARAMETER_SEGMENTS);
    reservedByApp.set(root, segments);
  }
  return segments;
}

/**
 * Record an SSM parameter the app reads or writes outside of projects (seed code locations, the
 * portfolio's execution role): a literal `/mlops/<segment>` or `/mlops/<segment>/...` name makes
 * `<segment>` a project name that templates of the same app refuse at launch.
 */
export function reserveParameterName(scope: IConstruct, parameterName: string): void {
  if (Token.isUnresolved(parameterName)) return;
  const match = /^\/mlops\/([^/]+)(\/|$)/.exec(parameterName);
  if (match) reservedSegments(scope).add(match[1]);
}

/** Every reserved segment of the app, sorted: the platform's parameters are `/mlops/<segment>` and below. */
export function reservedParameterSegments(scope: IConstruct): string[] {
  return [...reservedSegments(scope)].sort();
}

/** The project names refused at launch: the reserved segments that are valid project names, sorted. */
export function reservedProjectNames(scope: IConstruct): string[] {
  const valid = new RegExp(PROJECT_NAME_PATTERN);
  return reservedParameterSegments(scope).filter(name => name.length <= 32 && valid.test(name));
}

/**
 * `PROJECT_NAME_PATTERN` that also refuses the reserved names (exactly; SSM names are case
 * sensitive). CloudFormation's patterns are Java regular expressions, which have lookahead.
 */
export function projectNamePattern(reserved: string[]): string {
  if (reserved.length === 0) return PROJECT_NAME_PATTERN;
  // Project names hold only letters, digits and '-', none of them special outside a character class.
  return `^(?!(?:${reserved.join('|')})$)${PROJECT_NAME_PATTERN.slice(1)}`;
}

/** Id of the warning that a portfolio's own launch role works without a permissions boundary. */
export const NO_PERMISSIONS_BOUNDARY_WARNING = 'cdk-sagemaker-project-templates:noPermissionsBoundary';

/** The ARN of a permissions boundary in the account the role is created in. */
export function permissionsBoundaryArn(name: string): string {
  return `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:policy/${name}`;
}
