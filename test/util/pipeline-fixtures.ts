import * as fs from 'fs';
import * as path from 'path';
import { App, CfnElement, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import { IConstruct } from 'constructs';
import { testApp } from './temp-dir';
import { SeedCode } from '../../src/seed-code';

/** Seed code already in S3: no asset staging, so the tests stay fast and need no seed_code folder. */
export const BUILD_SEED = SeedCode.fromBucket('seed-bucket', 'build_app.zip');
export const DEPLOY_SEED = SeedCode.fromBucket('seed-bucket', 'deploy_app.zip');

/** A stack with a KMS-encrypted model artifact bucket, as a project template has. */
export function projectStack(id: string = 'Project'): { stack: Stack; artifactBucket: s3.Bucket } {
  const app = testApp();
  const stack = new Stack(app, id);
  const artifactBucket = projectArtifactBucket(stack);
  return { stack, artifactBucket };
}

export function projectArtifactBucket(stack: Stack): s3.Bucket {
  return new s3.Bucket(stack, 'ArtifactBucket', {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: new kms.Key(stack, 'ArtifactKey'),
    enforceSSL: true,
  });
}

/**
 * A Service Catalog product stack as the project templates make: project name and id are
 * the parameters SageMaker fills in.
 */
export function productStack(): { product: servicecatalog.ProductStack; artifactBucket: s3.Bucket; projectName: string; projectId: string } {
  const app = testApp();
  const parent = new Stack(app, 'Portfolio');
  const product = new servicecatalog.ProductStack(parent, 'P', {
    assetBucket: new s3.Bucket(parent, 'B', { bucketName: 'my-assets-bucket' }),
  });
  const projectName = new CfnParameter(product, 'SageMakerProjectName', { type: 'String', minLength: 1, maxLength: 32 }).valueAsString;
  const projectId = new CfnParameter(product, 'SageMakerProjectId', { type: 'String', minLength: 1, maxLength: 16 }).valueAsString;
  return { product, artifactBucket: projectArtifactBucket(product), projectName, projectId };
}

/** The synthesized template of a product stack (which `Template.fromStack` cannot read). */
export function productTemplate(product: servicecatalog.ProductStack): Template {
  const assembly = (product.node.root as App).synth();
  return Template.fromJSON(JSON.parse(fs.readFileSync(path.join(assembly.directory, product.templateFile), 'utf-8')));
}

/** Every IAM statement of the template's policies, with its policy's logical id. */
export interface Statement { policy: string; Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown }

export function iamStatements(template: Template): Statement[] {
  const result: Statement[] = [];
  for (const [policy, resource] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    for (const statement of resource.Properties.PolicyDocument.Statement) {
      result.push({ policy, ...statement });
    }
  }
  return result;
}

export function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** The logical id of the IAM role a `Fn::GetAtt [role, Arn]` points to. */
export function roleLogicalId(arn: any): string {
  return arn['Fn::GetAtt'][0];
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  return Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The `Properties` of the resource behind a construct. */
export function propertiesOf(template: Template, construct: IConstruct): any {
  return template.toJSON().Resources[logicalId(construct)].Properties;
}

/** Stage names, and per stage its actions' names in run order. */
export function stageLayout(pipelineProperties: any): Array<[string, Array<[string, number]>]> {
  return pipelineProperties.Stages.map((stage: any) => [
    stage.Name,
    stage.Actions.map((action: any) => [action.Name, action.RunOrder]),
  ]);
}

/** Names of a CodeBuild project's environment variables, sorted. */
export function environmentNames(projectProperties: any): string[] {
  return projectProperties.Environment.EnvironmentVariables.map((variable: any) => variable.Name).sort();
}

export function environmentValue(projectProperties: any, name: string): unknown {
  return projectProperties.Environment.EnvironmentVariables.find((variable: any) => variable.Name === name)?.Value;
}

/** Statements that give `*` as an action, or iam:PassRole on `*`. */
export function overlyBroadStatements(template: Template): unknown[] {
  return iamStatements(template).filter(statement => {
    const actions = asList(statement.Action);
    return actions.includes('*') || (actions.includes('iam:PassRole') && asList(statement.Resource as any).includes('*'));
  });
}

/** The actions granted on `Resource: '*'` in IAM policies. */
export function actionsOnAnyResource(template: Template): string[] {
  return iamStatements(template)
    .filter(statement => asList(statement.Resource as any).includes('*'))
    .flatMap(statement => asList(statement.Action))
    .sort();
}
