import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { templatesOf } from './scenarios';

/** CloudFormation quotas a template is measured against. */
export const LIMITS = {
  /** Resources per template (stack). */
  resources: 500,
  /** Template body uploaded to S3 (how CDK and Service Catalog deploy). */
  bytes: 1_048_576,
  /** Parameters per template. */
  parameters: 200,
  /** Outputs per template. */
  outputs: 200,
};

/** Size of one synthesized template against the CloudFormation quotas. */
export interface TemplateSize {
  readonly kind: 'portfolio stack' | 'product template';
  readonly name: string;
  readonly file: string;
  readonly resources: number;
  readonly bytes: number;
  readonly parameters: number;
  readonly outputs: number;
}

/** What a project provisioned from one product template creates, and its fixed monthly cost. */
export interface ProjectFootprint {
  readonly template: string;
  readonly productName: string;
  readonly resources: number;
  readonly kmsKeys: number;
  readonly kmsKeysWithRotation: number;
  readonly buckets: number;
  readonly pipelines: { readonly logicalId: string; readonly type: string }[];
  readonly codeCommitRepositories: number;
  readonly ecrRepositories: number;
  readonly codeBuildProjects: number;
  readonly lambdaFunctions: number;
  readonly customResources: number;
  readonly resourceTypes: { [type: string]: number };
  /** Fixed monthly fees while the project is idle, USD, at the prices of `PRICES`. */
  readonly idleMonthlyUsd: number;
  /** The same once each rotating key has been rotated twice (from its second year on). */
  readonly idleMonthlyUsdAfterRotations: number;
  readonly costBreakdown: string[];
}

/**
 * List prices the idle cost is computed from. No network here: these are us-east-1 list prices
 * as published by AWS in 2025, from the pricing pages, not fetched at run time.
 */
export const PRICES = {
  source: 'us-east-1 list prices as published on the AWS pricing pages in 2025 (not fetched: check before quoting)',
  kmsCustomerManagedKeyPerMonth: 1.0,
  kmsRotationSurchargePerMonth: 1.0,
  kmsRotationSurchargeNote: 'automatic rotation: the 1st and 2nd rotation each add $1/month to the key (so $2 from year 1, $3 from year 2 with yearly rotation); later rotations are free',
  codePipelineV1PerActivePipelineMonth: 1.0,
  codePipelineV1Note: 'V1: $1 per active pipeline per month (active = older than 30 days with at least one new code change that month)',
  codePipelineV2PerActionMinute: 0.002,
  codePipelineV2Note: 'V2: no monthly fee, $0.002 per action execution minute after 100 free minutes per account per month',
  s3StandardPerGbMonth: 0.023,
  ecrStoragePerGbMonth: 0.10,
  codeCommitNote: 'CodeCommit: no fee per repository; 5 active users per account per month free, then $1 per active user',
  zeroIdleNote: 'S3 and ECR bill stored GB only (an empty or seed-code-only bucket/repository is ~$0); CodeBuild, Lambda, EventBridge rules on AWS events, SageMaker model package groups, IAM and standard SSM parameters are free or pay-per-use: $0 idle',
};

/** Resources, bytes, parameters and outputs of the portfolio stack and each product template. */
export function templateSizes(app: App): TemplateSize[] {
  const assembly = app.synth();
  const sizes: TemplateSize[] = [];
  for (const stack of assembly.stacks) {
    sizes.push(measure('portfolio stack', stack.stackName, stack.templateFullPath));
  }
  for (const template of templatesOf(app)) {
    sizes.push(measure('product template', `${template.node.id} (${template.productName})`, path.join(assembly.directory, template.templateFile)));
  }
  return sizes;
}

/** Number of resources in each portfolio stack of an app, by stack name. */
export function portfolioStackResources(app: App): number {
  const assembly = app.synth();
  return assembly.stacks.reduce((sum, stack) => sum + Object.keys(stack.template.Resources ?? {}).length, 0);
}

/** Resource types of the portfolio stacks of an app, with their counts. */
export function portfolioStackResourceTypes(app: App): { [type: string]: number } {
  const assembly = app.synth();
  const types: { [type: string]: number } = {};
  for (const stack of assembly.stacks) {
    for (const resource of Object.values<any>(stack.template.Resources ?? {})) {
      types[resource.Type] = (types[resource.Type] ?? 0) + 1;
    }
  }
  return types;
}

/** Number of versions each product of the app's portfolio stacks offers. */
export function productVersionCounts(app: App): number[] {
  const assembly = app.synth();
  const counts: number[] = [];
  for (const stack of assembly.stacks) {
    for (const resource of Object.values<any>(stack.template.Resources ?? {})) {
      if (resource.Type === 'AWS::ServiceCatalog::CloudFormationProduct') {
        counts.push((resource.Properties?.ProvisioningArtifactParameters ?? []).length);
      }
    }
  }
  return counts;
}

/** What each product template of the app provisions per SageMaker project. */
export function projectFootprints(app: App): ProjectFootprint[] {
  const assembly = app.synth();
  return templatesOf(app).map(template => {
    const body = JSON.parse(fs.readFileSync(path.join(assembly.directory, template.templateFile), 'utf-8'));
    return footprint(template.node.id, template.productName, body);
  });
}

function footprint(name: string, productName: string, body: any): ProjectFootprint {
  const resources = Object.entries<any>(body.Resources ?? {});
  const resourceTypes: { [type: string]: number } = {};
  for (const [, r] of resources) resourceTypes[r.Type] = (resourceTypes[r.Type] ?? 0) + 1;
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

  const keys = ofType('AWS::KMS::Key');
  const rotating = keys.filter(([, r]) => r.Properties?.EnableKeyRotation === true).length;
  const pipelines = ofType('AWS::CodePipeline::Pipeline').map(([logicalId, r]) => ({
    logicalId,
    // CloudFormation makes a V1 pipeline when PipelineType is left out.
    type: String(r.Properties?.PipelineType ?? 'V1'),
  }));
  const v1 = pipelines.filter(p => p.type === 'V1').length;

  const breakdown: string[] = [];
  if (keys.length > 0) breakdown.push(`${keys.length} KMS key × $${PRICES.kmsCustomerManagedKeyPerMonth.toFixed(2)}`);
  if (v1 > 0) breakdown.push(`${v1} V1 pipeline × $${PRICES.codePipelineV1PerActivePipelineMonth.toFixed(2)}`);
  const v2 = pipelines.length - v1;
  if (v2 > 0) breakdown.push(`${v2} V2 pipeline × $0 idle`);
  const idle = keys.length * PRICES.kmsCustomerManagedKeyPerMonth + v1 * PRICES.codePipelineV1PerActivePipelineMonth;

  return {
    template: name,
    productName,
    resources: resources.length,
    kmsKeys: keys.length,
    kmsKeysWithRotation: rotating,
    buckets: ofType('AWS::S3::Bucket').length,
    pipelines,
    codeCommitRepositories: ofType('AWS::CodeCommit::Repository').length,
    ecrRepositories: ofType('AWS::ECR::Repository').length,
    codeBuildProjects: ofType('AWS::CodeBuild::Project').length,
    lambdaFunctions: ofType('AWS::Lambda::Function').length,
    customResources: resources.filter(([, r]) => r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource').length,
    resourceTypes,
    idleMonthlyUsd: idle,
    idleMonthlyUsdAfterRotations: idle + rotating * 2 * PRICES.kmsRotationSurchargePerMonth,
    costBreakdown: breakdown,
  };
}

function measure(kind: TemplateSize['kind'], name: string, file: string): TemplateSize {
  const text = fs.readFileSync(file, 'utf-8');
  const body = JSON.parse(text);
  return {
    kind,
    name,
    file: path.basename(file),
    resources: Object.keys(body.Resources ?? {}).length,
    bytes: Buffer.byteLength(text, 'utf-8'),
    parameters: Object.keys(body.Parameters ?? {}).length,
    outputs: Object.keys(body.Outputs ?? {}).length,
  };
}

