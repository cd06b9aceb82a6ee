import { CfnDeletionPolicy, CfnResource, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, IConstruct } from 'constructs';
import { SeedCode } from '../seed-code';

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
