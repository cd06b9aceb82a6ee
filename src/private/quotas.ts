import { CfnElement, CfnOutput, CfnParameter, CfnResource, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { ACCOUNT_PATTERN, REGION_PATTERN } from './stages';

/**
 * CloudFormation, IAM, KMS, S3, SageMaker and ECR quotas that a template can exceed only when it
 * is deployed (stages, accounts and roles add statements to resource policies), checked when the
 * app is synthesized, so that `cdk synth` says what to change instead of a failed launch.
 */
export const QUOTAS = {
  resources: 500,
  parameters: 200,
  outputs: 200,
  /** A template that CloudFormation (and Service Catalog) reads from S3. */
  templateBytes: 1_000_000,
  keyPolicy: 32_768,
  bucketPolicy: 20_480,
  modelPackageGroupPolicy: 20_480,
  repositoryPolicy: 10_240,
  /** All inline policies of one role together (IAM counts without whitespace). */
  roleInlinePolicies: 10_240,
};

/** The resource types whose policies are measured. */
const POLICY_HOLDERS = ['AWS::KMS::Key', 'AWS::S3::BucketPolicy', 'AWS::SageMaker::ModelPackageGroup', 'AWS::ECR::Repository', 'AWS::IAM::Policy', 'AWS::IAM::Role'];

/** Resources past which the whole template is measured (below it, a template is far from 1 MB). */
const MEASURE_TEMPLATE_FROM = 150;

/** Stacks whose quotas are checked already. */
const checkedStacks = new WeakSet<Stack>();

/**
 * Check the quotas of `scope`'s stack when the app is synthesized; once per stack, however many
 * constructs ask.
 */
export function checkQuotas(scope: IConstruct, owner: string): void {
  const stack = Stack.of(scope);
  if (checkedStacks.has(stack)) return;
  checkedStacks.add(stack);
  stack.node.addValidation({ validate: () => quotaProblems(stack, owner) });
}

function quotaProblems(stack: Stack, owner: string): string[] {
  const elements = stack.node.findAll().filter((c): c is CfnElement => c instanceof CfnElement && Stack.of(c) === stack);
  const problems: string[] = [];
  const count = (kind: string, n: number, max: number, what: string) => {
    if (n > max) problems.push(`${owner}: stack '${stack.stackName}' has ${n} ${kind}; CloudFormation allows at most ${max} per template; ${what}`);
  };
  const resources = elements.filter((e): e is CfnResource => e instanceof CfnResource);
  count('resources', resources.length, QUOTAS.resources, 'use fewer stages or split the template');
  count('parameters', elements.filter(e => e instanceof CfnParameter).length, QUOTAS.parameters, 'let stages share account and region parameters');
  count('outputs', elements.filter(e => e instanceof CfnOutput).length, QUOTAS.outputs, 'remove outputs');

  const parameters = new Map<string, CfnParameter>();
  for (const e of elements) if (e instanceof CfnParameter) parameters.set(stack.resolve(e.logicalId), e);
  const types = new Map<string, string>(resources.map(r => [stack.resolve(r.logicalId) as string, r.cfnResourceType]));
  const estimate = new SizeEstimate(parameters, types);
  const roleSizes = new Map<string, { size: number; path: string }>();
  for (const resource of resources) {
    if (!POLICY_HOLDERS.includes(resource.cfnResourceType)) continue;
    const rendered = renderedProperties(stack, resource);
    if (!rendered) continue;
    const limit = (label: string, value: unknown, max: number, what: string) => {
      if (value === undefined) return;
      const size = estimate.json(value);
      if (size > max) {
        problems.push(`${owner}: the ${label} of '${resource.node.path}' would have about ${size} characters once deployed; ${what} allows at most ${max}; use fewer deployment stages or accounts, or shorter role ARNs`);
      }
    };
    switch (resource.cfnResourceType) {
      case 'AWS::KMS::Key': limit('key policy', rendered.KeyPolicy, QUOTAS.keyPolicy, 'KMS'); break;
      case 'AWS::S3::BucketPolicy': limit('bucket policy', rendered.PolicyDocument, QUOTAS.bucketPolicy, 'S3'); break;
      case 'AWS::SageMaker::ModelPackageGroup': limit('model package group policy', rendered.ModelPackageGroupPolicy, QUOTAS.modelPackageGroupPolicy, 'SageMaker'); break;
      case 'AWS::ECR::Repository': limit('repository policy', rendered.RepositoryPolicyText, QUOTAS.repositoryPolicy, 'ECR'); break;
      case 'AWS::IAM::Policy':
        for (const role of (rendered.Roles ?? []) as unknown[]) {
          const key = JSON.stringify(role);
          const entry = roleSizes.get(key) ?? { size: 0, path: resource.node.path };
          entry.size += estimate.json(rendered.PolicyDocument);
          roleSizes.set(key, entry);
        }
        break;
      case 'AWS::IAM::Role':
        for (const policy of (rendered.Policies ?? []) as any[]) {
          const key = JSON.stringify({ Ref: stack.resolve(resource.logicalId) });
          const entry = roleSizes.get(key) ?? { size: 0, path: resource.node.path };
          entry.size += estimate.json(policy.PolicyDocument);
          roleSizes.set(key, entry);
        }
        break;
      default:
    }
  }
  for (const [role, { size, path }] of roleSizes) {
    if (size > QUOTAS.roleInlinePolicies) {
      problems.push(`${owner}: the inline policies of role ${role} (policy '${path}') would have about ${size} characters once deployed; IAM allows at most ${QUOTAS.roleInlinePolicies} per role; use fewer deployment stages or accounts`);
    }
  }
  if (resources.length > MEASURE_TEMPLATE_FROM) {
    const size = JSON.stringify(stack.resolve((stack as any)._toCloudFormation())).length;
    if (size > QUOTAS.templateBytes) {
      problems.push(`${owner}: stack '${stack.stackName}' has a template of ${size} bytes; CloudFormation reads templates of at most ${QUOTAS.templateBytes} bytes from S3; use fewer stages or split the template`);
    }
  }
  return problems;
}

/** A resource's properties as rendered into the template (with tokens resolved to intrinsics). */
function renderedProperties(stack: Stack, resource: CfnResource): any {
  const rendered = stack.resolve((resource as any)._toCloudFormation());
  const entry = Object.values<any>(rendered?.Resources ?? {})[0];
  return entry?.Properties;
}

/**
 * The length a rendered value will have once CloudFormation has resolved its intrinsic
 * functions, estimated from above: references to parameters count as their longest value, a
 * condition's branch as the longer one, `AWS::NoValue` as nothing.
 */
class SizeEstimate {
  constructor(private readonly parameters: Map<string, CfnParameter>, private readonly types: Map<string, string>) {}

  /** Length of `value` as compact JSON once deployed (IAM, KMS and S3 do not count whitespace). */
  public json(value: unknown): number {
    return this.length(value);
  }

  private length(value: unknown): number {
    if (value === null || value === undefined) return 4;
    if (typeof value === 'string') return JSON.stringify(value).length;
    if (typeof value !== 'object') return String(value).length;
    if (Array.isArray(value)) {
      const items = value.filter(item => !isNoValue(item)).map(item => this.length(item));
      return 2 + items.reduce((a, b) => a + b, 0) + Math.max(items.length - 1, 0);
    }
    const intrinsic = this.stringLength(value);
    if (intrinsic !== undefined) return intrinsic + 2;
    const entries = Object.entries(value as object).filter(([, v]) => !isNoValue(v));
    return 2 + entries.reduce((sum, [k, v]) => sum + JSON.stringify(k).length + 1 + this.length(v), 0) + Math.max(entries.length - 1, 0);
  }

  /** Length of the string an intrinsic function gives, or undefined for an object that is none. */
  private stringLength(value: any): number | undefined {
    if (typeof value === 'string') return value.length;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const keys = Object.keys(value);
    if (keys.length !== 1) return undefined;
    const [key] = keys;
    const arg = value[key];
    switch (key) {
      case 'Ref': return this.refLength(String(arg));
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        const lengths = (Array.isArray(parts) ? parts : [parts]).map(part => this.stringLength(part) ?? 64);
        return lengths.reduce((a, b) => a + b, 0) + separator.length * Math.max(lengths.length - 1, 0);
      }
      case 'Fn::Sub': {
        const [template, variables] = Array.isArray(arg) ? arg : [arg, {}];
        return String(template).replace(/\$\{([^}!]+)\}/g, (_, name: string) => 'x'.repeat(
          variables && name in variables ? this.stringLength(variables[name]) ?? 64 : this.refLength(name.includes('.') ? '' : name)),
        ).length;
      }
      case 'Fn::If': {
        const [, a, b] = arg as unknown[];
        return Math.max(isNoValue(a) ? 0 : this.stringLength(a) ?? this.length(a), isNoValue(b) ? 0 : this.stringLength(b) ?? this.length(b));
      }
      case 'Fn::GetAtt': return this.attributeLength(arg as [string, string]);
      case 'Fn::Select': case 'Fn::ImportValue': case 'Fn::FindInMap': case 'Fn::Base64': return 128;
      default: return undefined;
    }
  }

  /** The longest value of an attribute: ARNs by the resource types' name limits, others 128. */
  private attributeLength([logicalId, attribute]: [string, string]): number {
    const type = this.types.get(logicalId);
    if (attribute !== 'Arn' || type === undefined) return 128;
    // arn:<partition>:<service>:<region>:<account>:<resource>, partition and region at their longest.
    const prefix = (service: string, regional = true) => `arn:aws-us-gov:${service}:${regional ? 'ap-southeast-4' : ''}:${regional || service === 'iam' ? '123456789012' : ''}:`.length;
    switch (type) {
      case 'AWS::S3::Bucket': return prefix('s3', false) + 63;
      case 'AWS::KMS::Key': return prefix('kms') + 'key/'.length + 36;
      // The library's roles are under one short path (ROLE_PATH), with generated names of up to 64 characters.
      case 'AWS::IAM::Role': return prefix('iam', false) + 'role'.length + 40 + 64;
      default: return 128;
    }
  }

  private refLength(name: string): number {
    switch (name) {
      case 'AWS::AccountId': return 12;
      case 'AWS::Region': return 16;
      case 'AWS::Partition': return 10;
      case 'AWS::URLSuffix': return 13;
      case 'AWS::StackName': return 128;
      case 'AWS::NoValue': return 0;
      default: {
        const parameter = this.parameters.get(name);
        if (!parameter) return 128;
        if (parameter.allowedPattern === ACCOUNT_PATTERN) return 12;
        if (parameter.allowedPattern === REGION_PATTERN) return 16;
        return parameter.maxLength ?? 64;
      }
    }
  }
}

function isNoValue(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as any).Ref === 'AWS::NoValue';
}
