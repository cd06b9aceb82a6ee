import { CfnDeletionPolicy, CfnResource, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { SeedCode } from '../seed-code';

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

/**
 * Keep a stateful resource when CloudFormation replaces it on an update (a new name), whatever
 * its removal policy: `RemovalPolicy.DESTROY` deletes it only with its project.
 */
export function retainOnReplacement(resource: IConstruct): void {
  const cfn = (resource instanceof CfnResource ? resource : resource.node.defaultChild) as CfnResource | undefined;
  if (cfn) cfn.cfnOptions.updateReplacePolicy = CfnDeletionPolicy.RETAIN;
}

/** Options every pipeline's repository takes. */
export interface RepositoryOptions {
  readonly repositoryName: string;
  readonly seedCode: SeedCode;
  readonly branch: string;
  readonly removalPolicy?: RemovalPolicy;
}

/** A CodeCommit repository whose first commit, on `branch`, is the seed code. */
export function createSeededRepository(scope: Construct, id: string, options: RepositoryOptions): codecommit.Repository {
  const repository = new codecommit.Repository(scope, id, {
    repositoryName: options.repositoryName,
    code: options.seedCode.repositoryCode(scope, options.branch),
  });
  repository.applyRemovalPolicy(options.removalPolicy ?? RemovalPolicy.RETAIN);
  // A new repository name (a project renamed on update) must not delete the old repository.
  retainOnReplacement(repository);
  return repository;
}

/** The key that encrypts the model artifact bucket. */
export function artifactKeyOf(owner: string, bucket: s3.IBucket, key?: kms.IKey): kms.IKey {
  const resolved = key ?? bucket.encryptionKey;
  if (!resolved) {
    throw new Error(`${owner}: artifactBucket '${bucket.node.path}' has no encryptionKey; give a bucket encrypted with a KMS key, or pass the key as artifactKey`);
  }
  return resolved;
}

/** Plain-text CodeBuild environment variables, `extra` winning over `defaults`. */
export function plainTextEnvironment(
  defaults: { [key: string]: string },
  extra: { [key: string]: string } = {},
): { [name: string]: codebuild.BuildEnvironmentVariable } {
  const merged = { ...defaults, ...extra };
  const result: { [name: string]: codebuild.BuildEnvironmentVariable } = {};
  for (const [name, value] of Object.entries(merged)) {
    result[name] = { type: codebuild.BuildEnvironmentVariableType.PLAINTEXT, value };
  }
  return result;
}

/**
 * The names to put in SageMaker resource ARNs for a resource called `name`.
 *
 * SageMaker puts some resource names into ARNs in lower case; IAM compares ARNs case
 * sensitively, so a literal mixed-case name is listed both ways. A name only known at deploy
 * time (a project name may hold capitals) that ends in the lowercase project id is also listed
 * as `*-<project id>`, which matches its lowercase form and no other project's.
 */
export function sageMakerNameVariants(name: string, projectId?: string): string[] {
  if (Token.isUnresolved(name)) {
    return projectId !== undefined && name.endsWith(`-${projectId}`) ? [name, `*-${projectId}`] : [name];
  }
  return name === name.toLowerCase() ? [name] : [name, name.toLowerCase()];
}
