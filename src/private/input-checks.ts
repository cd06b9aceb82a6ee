import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Fact, RegionInfo } from 'aws-cdk-lib/region-info';
import { Node } from 'constructs';
import { PROJECT_ID_PATTERN, PROJECT_NAME_PATTERN } from './names';
import { pascalStageName } from './pipeline-deploy';
import type { ResolvedStage } from './stages';

/**
 * The library's one validation module: checks of literal input, shared by all constructs. Each throws an error that names the
 * owner, the property, the value given and what is allowed, in the library's usual form:
 * `<Owner> <id>: <prop> '<value>' ...; use ...`. Tokens (values known at deploy time) pass.
 */

/** What a project's stateful resources may do when deleted; SNAPSHOT is refused by their types. */
const REMOVAL_POLICIES: string[] = [RemovalPolicy.RETAIN, RemovalPolicy.DESTROY, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE];

export function validateRemovalPolicy(owner: string, property: string, policy: RemovalPolicy | undefined): void {
  if (policy === undefined || REMOVAL_POLICIES.includes(policy)) return;
  const why = policy === RemovalPolicy.SNAPSHOT
    ? 'buckets, keys, repositories and model package groups take no snapshot, and CloudFormation refuses the Snapshot policy on them (cfn-lint E3035)'
    : 'it is not a RemovalPolicy';
  throw new Error(`${owner}: ${property} '${policy}' is not supported (${why}); use RemovalPolicy.RETAIN (the default), RemovalPolicy.DESTROY or RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`);
}

/** The region names aws-cdk-lib knows of (its region facts), sorted. */
export function knownRegions(): string[] {
  return [...Fact.regions].sort();
}

/**
 * Throw unless a literal region is one aws-cdk-lib knows: a typo such as `eu-wset-1` matches
 * the shape of a region name but is none.
 */
export function validateKnownRegion(owner: string, property: string, region: string): void {
  if (Token.isUnresolved(region) || Fact.regions.includes(region)) return;
  const closest = closestRegion(region);
  const hint = closest ? ` (did you mean '${closest}'?)` : '';
  throw new Error(`${owner}: ${property} '${region}' is not an AWS region${hint}; use a region name aws-cdk-lib knows, such as 'eu-west-1' or 'us-east-1' (for a region newer than your aws-cdk-lib, upgrade aws-cdk-lib)`);
}

/** The partition (`aws`, `aws-cn`, `aws-us-gov`, ...) of a known region. */
export function partitionOf(region: string): string | undefined {
  if (Token.isUnresolved(region) || !Fact.regions.includes(region)) return undefined;
  return RegionInfo.get(region).partition;
}

function closestRegion(region: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of Fact.regions) {
    const distance = editDistance(region, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, with a swap of two neighbouring characters counting as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Throw unless `name` is an SSM parameter name: letters, digits, `_ . -`, and `/` between the
 * levels of a hierarchy, which then starts with `/` (at most 15 levels). With `creating`, names
 * starting with `aws` or `ssm` (reserved by SSM) are refused too.
 */
export function validateSsmParameterName(owner: string, property: string, name: string, creating: boolean = false): void {
  if (Token.isUnresolved(name)) return;
  const fail = (problem: string) => {
    throw new Error(`${owner}: ${property} '${name}' is not an SSM parameter name (${problem}); use letters, digits, '_', '.', '-' and '/' between levels, starting with '/' when there are levels, such as '/mlops/code/build'`);
  };
  if (name.trim().length === 0) fail('it is empty');
  if (name.length > 1011) fail('it is longer than 1011 characters');
  if (!/^[A-Za-z0-9_.\-/]+$/.test(name)) fail('it holds a character other than a letter, digit, \'_\', \'.\', \'-\' or \'/\'');
  if (name.includes('/') && !name.startsWith('/')) fail('it has levels but does not start with \'/\'');
  if (name.includes('//') || (name.length > 1 && name.endsWith('/')) || name === '/') fail('it has an empty level');
  if (name.split('/').length - 1 > 15) fail('it has more than 15 levels');
  if (creating && /^\/?(aws|ssm)/i.test(name)) fail('names starting with \'aws\' or \'ssm\' are reserved by SSM');
}

/** S3's rules for bucket names (general purpose buckets). */
export function s3BucketNameProblem(name: string): string | undefined {
  if (name.startsWith('s3://') || name.startsWith('arn:')) return 'give the bucket name alone, without \'s3://\' or \'arn:...:::\'';
  if (name.length < 3 || name.length > 63) return `it has ${name.length} characters, S3 allows 3-63`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'S3 allows lowercase letters, digits, \'.\' and \'-\', starting and ending with a letter or digit';
  if (name.includes('..')) return 'it contains \'..\'';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'it is formatted as an IP address';
  return undefined;
}

export function validateS3BucketName(owner: string, property: string, name: string): void {
  if (Token.isUnresolved(name)) return;
  const problem = s3BucketNameProblem(name);
  if (problem) {
    throw new Error(`${owner}: ${property} '${name}' is not an S3 bucket name (${problem}); use 3-63 lowercase letters, digits, '.' or '-', such as 'my-seed-code'`);
  }
}

/** An IAM role ARN: `arn:<partition>:iam::<12 digits>:role/<optional path/>name`. */
export const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** Throw unless a literal ARN is an IAM role ARN; returns its partition and account when literal. */
export function validateRoleArn(owner: string, property: string, arn: string): { partition: string; account: string } | undefined {
  if (Token.isUnresolved(arn)) return undefined;
  const match = ROLE_ARN.exec(arn);
  if (!match) {
    throw new Error(`${owner}: ${property} '${arn}' is not the ARN of an IAM role; use arn:aws:iam::<12-digit account>:role/<name>`);
  }
  return { partition: match[1], account: match[2] };
}

/** Environment variable names a shell can export; CodeBuild reserves `CODEBUILD_`. */
export function validateEnvironmentVariableNames(owner: string, variables: { [name: string]: string } | undefined): void {
  for (const name of Object.keys(variables ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`${owner}: environmentVariables name '${name}' is not a variable name a build can read; use letters, digits and '_', not starting with a digit`);
    }
    if (name.toUpperCase().startsWith('CODEBUILD_')) {
      throw new Error(`${owner}: environmentVariables name '${name}' starts with 'CODEBUILD_', which CodeBuild reserves for its own variables; use another name`);
    }
  }
}

/** CodeBuild build timeouts: whole minutes, 5 minutes to 36 hours. */
export function validateBuildTimeout(owner: string, timeout: Duration | undefined): void {
  if (timeout === undefined || Token.isUnresolved(timeout.toSeconds())) return;
  const seconds = timeout.toSeconds();
  if (seconds % 60 !== 0 || seconds < 5 * 60 || seconds > 36 * 60 * 60) {
    throw new Error(`${owner}: timeout '${timeout.toHumanString()}' is not a CodeBuild timeout; use whole minutes from 5 minutes to 36 hours, such as Duration.hours(1)`);
  }
}

/** Throw if a literal string is longer than `max` (or shorter than `min`) characters. */
export function validateLength(owner: string, property: string, value: string | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (value.length < min || value.length > max) {
    const shown = value.length > 60 ? `${value.slice(0, 40)}...` : value;
    throw new Error(`${owner}: ${property} '${shown}' has ${value.length} characters; use ${min}-${max}`);
  }
}

/** CodePipeline's quota of stages per pipeline. */
export const MAX_PIPELINE_STAGES = 50;

/** Fail synthesis when stages added to a pipeline (by the library or later) exceed CodePipeline's 50. */
export function limitPipelineStages(owner: string, pipeline: { readonly stageCount: number; readonly node: Node }): void {
  pipeline.node.addValidation({
    validate: () => pipeline.stageCount > MAX_PIPELINE_STAGES
      ? [`${owner}: the pipeline has ${pipeline.stageCount} stages; CodePipeline allows at most ${MAX_PIPELINE_STAGES}; remove or merge stages`]
      : [],
  });
}

/** Throw if a literal project name or id breaks SageMaker's rules; parameters carry the same rules as constraints. */
export function validateProjectNameAndId(owner: string, projectName: string, projectId: string): void {
  if (!Token.isUnresolved(projectName) && (projectName.length > 32 || !new RegExp(PROJECT_NAME_PATTERN).test(projectName))) {
    throw new Error(`${owner}: projectName '${projectName}' is invalid; use 1-32 letters, digits or hyphens, starting and ending with a letter or digit (${PROJECT_NAME_PATTERN})`);
  }
  if (!Token.isUnresolved(projectId) && (projectId.length > 16 || !new RegExp(PROJECT_ID_PATTERN).test(projectId))) {
    throw new Error(`${owner}: projectId '${projectId}' is invalid; use 1-16 lowercase letters, digits or hyphens (${PROJECT_ID_PATTERN})`);
  }
}

/** A customer managed policy name, optionally under a path: `Boundary`, `ml/Boundary`. */
const POLICY_NAME = /^[\w+=,.@-]{1,128}(\/[\w+=,.@-]{1,128})*$/;

/** Throw unless a permissions boundary name is the name of a customer managed policy. */
export function validatePermissionsBoundaryName(owner: string, name: string | undefined): void {
  if (name === undefined || Token.isUnresolved(name)) return;
  if (!POLICY_NAME.test(name)) {
    const hint = name.startsWith('arn:') ? '; give the policy name after \'policy/\', not the ARN' : '';
    throw new Error(`${owner}: permissionsBoundaryPolicyName '${name}' is not a customer managed policy name; use 1-128 letters, digits or +=,.@_- (after an optional path such as 'boundaries/')${hint}`);
  }
}

/**
 * Throw unless `branch` is a name git accepts (`git check-ref-format --branch`).
 *
 * Checked here because CodeCommit only rejects a bad branch when the stack is deployed,
 * after the repository and pipeline have been half created.
 */
export function validateBranchName(owner: string, branch: string): void {
  if (Token.isUnresolved(branch)) return;
  const problem = branchNameProblem(branch);
  if (problem) {
    throw new Error(`${owner}: branch '${branch}' is not a valid git branch name (${problem}); use letters, digits and '-', '_', '.', '/' such as 'main' or 'release/v1', following git's ref name rules`);
  }
}

function branchNameProblem(branch: string): string | undefined {
  if (branch.length === 0) return 'it is empty';
  if (branch.length > 256) return 'it is longer than 256 characters';
  // Control characters, space and ~ ^ : ? * [ \ are never allowed in a ref.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(branch)) return 'it contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (branch.includes('..')) return "it contains '..'";
  if (branch.includes('@{')) return "it contains '@{'";
  if (branch === '@') return "it is '@'";
  if (branch.startsWith('-')) return "it starts with '-'";
  if (branch.startsWith('/') || branch.endsWith('/') || branch.includes('//')) return "it has an empty '/'-separated part";
  if (branch.endsWith('.')) return "it ends with '.'";
  for (const part of branch.split('/')) {
    if (part.startsWith('.')) return `its part '${part}' starts with '.'`;
    if (part.endsWith('.lock')) return `its part '${part}' ends with '.lock'`;
  }
  return undefined;
}

/**
 * Throw if a literal physical name breaks the service's rules. Token names (CloudFormation
 * parameters) are checked by their parameters' own constraints.
 */
export function validatePhysicalName(owner: string, property: string, name: string, maxLength: number, pattern: RegExp, allowed: string): void {
  if (Token.isUnresolved(name)) return;
  if (name.length < 1 || name.length > maxLength || !pattern.test(name)) {
    throw new Error(`${owner}: ${property} '${name}' is invalid; use 1-${maxLength} characters: ${allowed}`);
  }
}

/** CodeCommit: letters, digits, '.', '_' and '-', up to 100 characters, not ending in '.git'. */
export function validateRepositoryName(owner: string, name: string): void {
  validatePhysicalName(owner, 'repositoryName', name, 100, /^[\w.-]+$/, "letters, digits, '.', '_' or '-'");
  if (!Token.isUnresolved(name) && name.toLowerCase().endsWith('.git')) {
    throw new Error(`${owner}: repositoryName '${name}' is invalid; CodeCommit repository names cannot end in '.git'; use a name without it`);
  }
}

/** CodePipeline: letters, digits, '.', '@', '_' and '-', up to 100 characters. */
export function validatePipelineName(owner: string, name: string): void {
  validatePhysicalName(owner, 'pipelineName', name, 100, /^[A-Za-z0-9.@_-]+$/, "letters, digits, '.', '@', '_' or '-'");
}

/** SageMaker: letters and digits with single or repeated '-' between them, up to 63 characters. */
export function validateModelPackageGroupName(owner: string, name: string): void {
  validatePhysicalName(owner, 'modelPackageGroupName', name, 63, /^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/,
    "letters and digits, with '-' between them (SageMaker's model package group names)");
}

/** Approval statuses of a model package that SageMaker emits state-change events for. */
export const MODEL_APPROVAL_STATUSES = ['Approved', 'Rejected', 'PendingManualApproval'];

/** What `cdk bootstrap --qualifier` accepts. */
const QUALIFIER = /^[A-Za-z0-9_-]{1,10}$/;

export function validateQualifier(owner: string, qualifier: string): void {
  if (Token.isUnresolved(qualifier)) return;
  if (!QUALIFIER.test(qualifier)) {
    throw new Error(`${owner}: bootstrapQualifier '${qualifier}' is invalid; use 1-10 letters, digits, '_' or '-' (the qualifier given to 'cdk bootstrap', default 'hnb659fds')`);
  }
}

export function validateApprovalStatuses(owner: string, statuses: string[]): void {
  if (statuses.length === 0) {
    throw new Error(`${owner}: modelApprovalStatuses is empty; give one or more of ${MODEL_APPROVAL_STATUSES.join(', ')}`);
  }
  statuses.forEach((status, index) => {
    if (!MODEL_APPROVAL_STATUSES.includes(status)) {
      throw new Error(`${owner}: modelApprovalStatuses[${index}] '${status}' is not a model approval status; use ${MODEL_APPROVAL_STATUSES.join(', ')}`);
    }
    if (statuses.indexOf(status) !== index) {
      throw new Error(`${owner}: modelApprovalStatuses[${index}] '${status}' is listed twice; list each status once`);
    }
  });
}

/** Throw if two stage names give the same pipeline stage name, e.g. `eu-prod` and `euprod`. */
export function validatePascalNamesUnique(owner: string, stages: ResolvedStage[]): void {
  const seen = new Map<string, string>();
  for (const stage of stages) {
    const pascal = pascalStageName(stage.name);
    const other = seen.get(pascal);
    if (other !== undefined) {
      throw new Error(`${owner}: stages '${other}' and '${stage.name}' both become pipeline stage 'Deploy${pascal}'; rename one so that their names differ other than in '-'`);
    }
    seen.set(pascal, stage.name);
  }
}

/** Checkov and Prisma Cloud check ids, as `--skip-check` takes them: `CKV_AWS_123`, `CKV2_AWS_5`, `BC_AWS_GENERAL_12`. */
const CHECK_ID = /^(CKV2?|BC)_[A-Z0-9]+(_[A-Z0-9]+)*$/;

export function validateSkipChecks(owner: string, skipChecks: string[], property: string = 'securityScanSkipChecks'): void {
  skipChecks.forEach((check, index) => {
    if (Token.isUnresolved(check) || !CHECK_ID.test(check)) {
      throw new Error(`${owner}: ${property}[${index}] '${check}' is not a checkov check id; use ids such as CKV_AWS_123 or CKV2_AWS_5`);
    }
  });
}

/** Throw unless an SSM parameter name lies under `prefix`, which `why` explains. */
export function requireParameterUnder(owner: string, property: string, name: string, prefix: string, why: string): void {
  if (!Token.isUnresolved(name) && !name.startsWith(prefix)) {
    throw new Error(`${owner}: ${property} '${name}' is not under ${prefix}: ${why}; use a name such as '${prefix}${prefix === '/mlops/' ? 'network/' : ''}subnet_ids'`);
  }
}
