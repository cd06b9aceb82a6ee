import { Aws, CfnCondition, CfnElement, CfnParameter, CfnParameterProps, CfnRule, Fn, Stack, Token } from 'aws-cdk-lib';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import { Construct } from 'constructs';
import { DeploymentStage, StageNetwork } from '../deployment-stage';
import { partitionOf, requireParameterUnder, validateKnownRegion, validateRoleArn, validateSsmParameterName } from './input-checks';
import { pascalStageName } from './pipeline-deploy';

/** A deployment stage with every default applied and every parameter turned into a token. */
export interface ResolvedStage {
  readonly name: string;
  /** Literal 12 digits, a parameter reference, or `AWS::AccountId`. */
  readonly account: string;
  readonly region: string;
  /** True when `account` is the project's own account, known at synth time. */
  readonly isProjectAccount: boolean;
  readonly requireApproval: boolean;
  readonly actionRoleArn?: string;
  readonly deploymentRoleArn?: string;
  readonly network?: StageNetwork;
}

const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;
/** CodePipeline's 50 stages, less the deploy pipeline's Source and Build. */
export const MAX_STAGES = 48;
export const ACCOUNT_PATTERN = '^\\d{12}$';
/** Region names as AWS forms them, e.g. `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`. */
export const REGION_PATTERN = '^[a-z]{2,4}(-[a-z]+)+-\\d{1,2}$';

/**
 * Validate stages and resolve their accounts and regions, creating the parameters they name in
 * `scope` (once per stack and name: stages that name one parameter share it).
 */
export function resolveStages(scope: Construct, stages: DeploymentStage[], owner: string): ResolvedStage[] {
  if (stages.length === 0) {
    throw new Error(`${owner}: stages is empty; give at least one deployment stage (for example { name: 'dev' })`);
  }
  if (stages.length > MAX_STAGES) {
    throw new Error(`${owner}: stages has ${stages.length} stages; use at most ${MAX_STAGES}: a CodePipeline has at most 50 stages, and the deploy pipeline has Source and Build before one stage per deployment stage`);
  }
  validateParameterNames(scope, stages, owner);
  const seen = new Set<string>();
  const resolved = stages.map((stage, index) => {
    if (!STAGE_NAME.test(stage.name)) {
      throw new Error(`${owner}: stages[${index}].name '${stage.name}' is invalid; use 1-20 lowercase letters, digits or hyphens, starting with a letter (${STAGE_NAME.source})`);
    }
    if (seen.has(stage.name)) {
      throw new Error(`${owner}: stages[${index}].name '${stage.name}' is used twice; stage names must be unique`);
    }
    seen.add(stage.name);
    if (stage.account !== undefined && stage.accountParameterName !== undefined) {
      throw new Error(`${owner}: stages[${index}] ('${stage.name}') sets both account and accountParameterName; give one`);
    }
    if (stage.region !== undefined && stage.regionParameterName !== undefined) {
      throw new Error(`${owner}: stages[${index}] ('${stage.name}') sets both region and regionParameterName; give one`);
    }
    if (stage.account !== undefined && !Token.isUnresolved(stage.account) && !new RegExp(ACCOUNT_PATTERN).test(stage.account)) {
      throw new Error(`${owner}: stages[${index}].account '${stage.account}' is not an AWS account id; use exactly 12 digits`);
    }
    if (stage.region !== undefined && !Token.isUnresolved(stage.region) && !new RegExp(REGION_PATTERN).test(stage.region)) {
      throw new Error(`${owner}: stages[${index}].region '${stage.region}' is not an AWS region name; use a name such as 'eu-west-1'`);
    }
    if (stage.region !== undefined) validateKnownRegion(owner, `stages[${index}].region`, stage.region);
    validateStageRoles(owner, index, stage, knownRegion(scope));
    const account = stage.account
      ?? (stage.accountParameterName ? accountParameter(scope, stage.accountParameterName, stage.name).valueAsString : Aws.ACCOUNT_ID);
    const region = stage.region
      ?? (stage.regionParameterName ? regionParameter(scope, stage.regionParameterName).valueAsString : Aws.REGION);
    return {
      name: stage.name,
      account,
      region,
      isProjectAccount: stage.account === undefined && stage.accountParameterName === undefined,
      requireApproval: stage.requireApproval ?? index > 0,
      actionRoleArn: stage.actionRoleArn,
      deploymentRoleArn: stage.deploymentRoleArn,
      network: validateStageNetwork(owner, index, stage.network),
    };
  });
  requireProjectRegion(scope, resolved);
  return resolved;
}

/**
 * A resolved stage as a stage to give a pipeline: its account and region are literals or the
 * references of the parameters made for it, so resolving it again creates nothing.
 */
export function stageOfResolved(stage: ResolvedStage): DeploymentStage {
  return {
    name: stage.name,
    account: stage.isProjectAccount ? undefined : stage.account,
    region: stage.region === Aws.REGION ? undefined : stage.region,
    requireApproval: stage.requireApproval,
    actionRoleArn: stage.actionRoleArn,
    deploymentRoleArn: stage.deploymentRoleArn,
    network: stage.network,
  };
}

const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SECURITY_GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;

/** Throw unless a stage's network names subnets and security groups (or SSM parameters) correctly. */
function validateStageNetwork(owner: string, index: number, network?: StageNetwork): StageNetwork | undefined {
  if (!network) return undefined;
  const lists: Array<[string, string[] | undefined, RegExp, string, string | undefined, number]> = [
    ['subnetIds', network.subnetIds, SUBNET_ID, 'subnet-0a1b2c3d4e5f60718', network.subnetIdsParameterName, 16],
    ['securityGroupIds', network.securityGroupIds, SECURITY_GROUP_ID, 'sg-0a1b2c3d4e5f60718', network.securityGroupIdsParameterName, 5],
  ];
  for (const [property, values, pattern, example, parameterName, most] of lists) {
    const given = `${owner}: stages[${index}].network.${property}`;
    if (values !== undefined && parameterName !== undefined) {
      throw new Error(`${given} is given together with ${property}ParameterName; give the ids or the SSM parameter that holds them, not both`);
    }
    if (parameterName !== undefined) {
      validateSsmParameterName(owner, `stages[${index}].network.${property}ParameterName`, parameterName);
      requireParameterUnder(owner, `stages[${index}].network.${property}ParameterName`, parameterName, '/mlops/network/',
        'the stage\'s CloudFormation execution role (DeploymentTargetPolicy) reads SSM parameters under /mlops/network/ only');
    }
    if (values === undefined) continue;
    if (values.length === 0 || values.length > most) {
      throw new Error(`${given} has ${values.length} entries; give 1-${most}, such as ${example}`);
    }
    values.forEach((value, i) => {
      if (!Token.isUnresolved(value) && !pattern.test(value)) {
        throw new Error(`${given}[${i}] '${value}' is not ${property === 'subnetIds' ? 'a subnet' : 'a security group'} id; use ${example.split('-')[0]}- followed by 8 or 17 hexadecimal digits, such as ${example}`);
      }
    });
  }
  return network;
}

/**
 * The region a template in `scope` is deployed to, when synthesis knows it: its stack's, or for a
 * Service Catalog product stack (whose region is that of the launch) its portfolio stack's, as
 * products are launched in their portfolio's region.
 */
export function knownRegion(scope: Construct): string | undefined {
  let stack = Stack.of(scope);
  while (Token.isUnresolved(stack.region)) {
    const parent = stack.node.scope;
    if (!parent || !(stack instanceof servicecatalog.ProductStack || stack.nested)) return undefined;
    stack = Stack.of(parent);
  }
  return stack.region;
}

/**
 * Whether a stage may deploy in another region than the pipeline's, and so is deployed by a
 * build that deploys there (see `DeployPipeline`): its region is entered at creation (a
 * parameter) or otherwise unknown to synthesis, or it is fixed and the pipeline's is another or
 * unknown.
 */
export function deploysInAnotherRegion(stage: ResolvedStage, projectRegion: string | undefined): boolean {
  if (stage.region === Aws.REGION) return false;
  if (Token.isUnresolved(stage.region)) return true;
  return stage.region !== projectRegion;
}

/**
 * One template rule per stage region that the pipeline's CloudFormation actions assume to be
 * the project's (a fixed region that is the one synthesis knows): the region must be the one the
 * stack is created in, else CloudFormation (and Service Catalog, which launches products through
 * it) refuses the launch before it creates anything. A product may be launched elsewhere than its
 * portfolio's region, and a CloudFormation action runs in the pipeline's region, so the stage
 * would deploy there under roles named for the other region.
 *
 * Created once per stack and region: the template and its pipelines resolve the same stages.
 */
function requireProjectRegion(scope: Construct, resolved: ResolvedStage[]): void {
  const stack = Stack.of(scope);
  const projectRegion = knownRegion(scope);
  const groups = new Map<string, string[]>();
  resolved.forEach(stage => {
    if (stage.region === Aws.REGION || deploysInAnotherRegion(stage, projectRegion)) return;
    groups.set(stage.region, [...groups.get(stage.region) ?? [], stage.name]);
  });
  for (const [region, names] of groups) {
    const id = `${pascalStageName(names[0])}StageRegionIsProjectRegion`;
    if (stack.node.tryFindChild(id)) continue;
    const quoted = names.map(name => `'${name}'`);
    const which = names.length === 1 ? `Stage ${quoted[0]}` : `Stages ${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
    new CfnRule(stack, id, {
      assertions: [{
        assert: Fn.conditionEquals(region, Aws.REGION),
        assertDescription: `${which} of this project deploy${names.length === 1 ? 's' : ''} to region ${region} by a CloudFormation action of the project's region, `
          + `so the project must be created in ${region}: create it there, or leave the stage's region out (the project's own).`,
      }],
    });
  }
}

function accountParameter(scope: Construct, name: string, stageName: string): CfnParameter {
  return stageParameter(scope, name, 'account', {
    type: 'String',
    description: `AWS account id of the ${stageName} deployment stage`,
    allowedPattern: ACCOUNT_PATTERN,
    constraintDescription: 'must be a 12-digit AWS account id',
  });
}

function regionParameter(scope: Construct, name: string): CfnParameter {
  return stageParameter(scope, name, 'region', {
    type: 'String',
    description: 'AWS region the model is deployed to',
    allowedPattern: REGION_PATTERN,
    constraintDescription: "must be an AWS region name such as 'eu-west-1'",
  });
}

/** A parameter made for stages, and what it holds. */
class StageParameter extends CfnParameter {
  constructor(scope: Construct, id: string, public readonly kind: 'account' | 'region', props: CfnParameterProps) {
    super(scope, id, props);
  }
}

/** The stage parameter of this name in the stack, if one was made. */
function existingStageParameter(stack: Stack, name: string): StageParameter | undefined {
  return stack.node.findAll()
    .find((c): c is StageParameter => c instanceof StageParameter && Stack.of(c) === stack && stack.resolve(c.logicalId) === name);
}

/**
 * A stage parameter, once per stack and name, created in `scope`. Its construct id is prefixed,
 * so that it never takes the id of a construct the scope creates later (`ProjectKey`, ...); its
 * logical id is the name given.
 */
function stageParameter(scope: Construct, name: string, kind: 'account' | 'region', props: CfnParameterProps): CfnParameter {
  const existing = existingStageParameter(Stack.of(scope), name);
  if (existing) return existing;
  const parameter = new StageParameter(scope, `StageParameter${name}`, kind, props);
  parameter.overrideLogicalId(name);
  return parameter;
}

/** CloudFormation logical ids, which parameter names are: letters and digits. */
const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9]{0,254}$/;

/** Parameters the templates create for something else than a stage's account or region. */
export const RESERVED_PARAMETER_NAMES = ['SageMakerProjectName', 'SageMakerProjectId', 'GitConnectionArn', 'GitOwner'];

/**
 * Throw unless each parameter name is one CloudFormation takes, is not a parameter the template
 * sets for another purpose (the project name or id, the git connection or owner), nor the logical
 * id of another element of the stack, and holds either accounts or regions, not both.
 */
function validateParameterNames(scope: Construct, stages: DeploymentStage[], owner: string): void {
  const stack = Stack.of(scope);
  const kinds = new Map<string, string>();
  stages.forEach((stage, index) => {
    const named: Array<[string, string, string | undefined]> = [
      ['account', 'accountParameterName', stage.accountParameterName],
      ['region', 'regionParameterName', stage.regionParameterName],
    ];
    for (const [kind, property, name] of named) {
      if (name === undefined) continue;
      const given = `${owner}: stages[${index}].${property} '${name}'`;
      if (!PARAMETER_NAME.test(name)) {
        throw new Error(`${given} is not a CloudFormation parameter name; use 1-255 letters and digits, starting with a letter, such as '${kind === 'account' ? 'ProdAccount' : 'DeploymentRegion'}'`);
      }
      if (RESERVED_PARAMETER_NAMES.includes(name)) {
        throw new Error(`${given} is a parameter the template sets itself (reserved: ${RESERVED_PARAMETER_NAMES.join(', ')}), which would be taken as the stage's ${kind}; use another name, such as '${kind === 'account' ? 'ProdAccount' : 'DeploymentRegion'}'`);
      }
      const other = kinds.get(name);
      if (other !== undefined && other !== kind) {
        throw new Error(`${given} names the parameter that holds the ${other} of another stage; a parameter holds either an account or a region: give the ${kind} a parameter of its own`);
      }
      kinds.set(name, kind);
      const element = stack.node.findAll().find((c): c is CfnElement =>
        c instanceof CfnElement && Stack.of(c) === stack && !Token.isUnresolved(name) && stack.resolve(c.logicalId) === name);
      if (element && !(element instanceof StageParameter && element.kind === kind)) {
        const what = element instanceof StageParameter ? `the parameter of a stage ${element.kind}` : `the logical id of '${element.node.path}'`;
        throw new Error(`${given} is already ${what} in stack '${stack.stackName}'; use another name`);
      }
    }
  });
}

/**
 * Throw unless the roles given for a stage are IAM role ARNs of the stage's account (when both
 * are literal) and of the partition of its region (when known): the CloudFormation action
 * assumes them in the account it deploys to.
 */
function validateStageRoles(owner: string, index: number, stage: DeploymentStage, projectRegion: string | undefined): void {
  const named: Array<[string, string | undefined]> = [['actionRoleArn', stage.actionRoleArn], ['deploymentRoleArn', stage.deploymentRoleArn]];
  for (const [property, arn] of named) {
    if (arn === undefined) continue;
    const given = `${owner}: stages[${index}].${property} '${arn}'`;
    const parsed = validateRoleArn(owner, `stages[${index}].${property}`, arn);
    if (!parsed) continue;
    if (stage.account !== undefined && !Token.isUnresolved(stage.account) && parsed.account !== stage.account) {
      throw new Error(`${given} is a role of account ${parsed.account}, not of the stage's account ${stage.account}; the stage deploys with roles of the account it deploys to: use a role of ${stage.account}`);
    }
    const region = stage.region ?? projectRegion;
    const partition = region === undefined ? undefined : partitionOf(region);
    if (partition !== undefined && parsed.partition !== partition) {
      throw new Error(`${given} is in partition '${parsed.partition}', but the stage deploys in ${region}, of partition '${partition}'; use arn:${partition}:iam::...`);
    }
  }
}

/**
 * Throw unless the accounts and region of a preset template are an account id and a known
 * region, naming the property given (they become `stages[1]` and `stages[2]`).
 */
export function validatePresetStages(
  owner: string, props: { preProdAccount?: string; prodAccount?: string; deploymentRegion?: string }, regionProperty: string = 'deploymentRegion',
): void {
  const accounts: Array<[string, string | undefined]> = [['preProdAccount', props.preProdAccount], ['prodAccount', props.prodAccount]];
  for (const [property, account] of accounts) {
    if (account !== undefined && !Token.isUnresolved(account) && !new RegExp(ACCOUNT_PATTERN).test(account)) {
      throw new Error(`${owner}: ${property} '${account}' is not an AWS account id; use exactly 12 digits`);
    }
  }
  const region = props.deploymentRegion;
  if (region !== undefined && !Token.isUnresolved(region)) {
    if (!new RegExp(REGION_PATTERN).test(region)) {
      throw new Error(`${owner}: ${regionProperty} '${region}' is not an AWS region name; use a name such as 'eu-west-1'`);
    }
    validateKnownRegion(owner, regionProperty, region);
  }
}

/** What decides whether two principals are the same: of one kind, they are when their values are. */
export interface PrincipalKey {
  /** Principals of different kinds are never the same. */
  readonly kind: string;
  /** A literal, a parameter reference (`{ Ref }`, also `AWS::AccountId`), or another token. */
  readonly value: string;
}

/** A principal to list, and the condition under which it is listed (`undefined`: always). */
export interface DistinctEntry<T> {
  readonly item: T;
  readonly condition?: CfnCondition;
}

/**
 * Keep each principal once, also when parameters make two of them the same at deploy time: a
 * principal list may not hold one principal twice (SageMaker, KMS and IAM reject it).
 *
 * Literal values compare at synth time. A value that is a parameter (or pseudo parameter)
 * reference gets a CloudFormation condition that holds when it differs from every earlier value
 * of its kind (`Fn::Not` of `Fn::Equals`), under which the principal is listed. Other tokens
 * cannot be compared in a condition (`Fn::Equals` takes references and literals) and count as
 * distinct unless they are the same token.
 *
 * @param conditionId the construct id of the condition of an item, created in `scope`
 */
export function keepDistinct<T>(
  scope: Construct, items: T[], keyOf: (item: T) => PrincipalKey, conditionId: (item: T) => string,
): DistinctEntry<T>[] {
  const stack = Stack.of(scope);
  const comparable = (value: string) => !Token.isUnresolved(value) || isReference(stack.resolve(value));
  const earlier: PrincipalKey[] = [];
  const conditions = new Map<string, CfnCondition>();
  const result: DistinctEntry<T>[] = [];
  for (const item of items) {
    const key = keyOf(item);
    const sameKind = earlier.filter(other => other.kind === key.kind);
    if (sameKind.some(other => other.value === key.value)) continue;
    // An earlier principal that is itself left out equals one before it, so comparing with it
    // leaves nothing out that is not a repeat.
    // Two literals that differ (the same ones were skipped above) never coincide.
    const mayEqual = (other: string) => comparable(other) && (Token.isUnresolved(other) || Token.isUnresolved(key.value));
    const rivals = comparable(key.value) ? [...new Set(sameKind.map(other => other.value))].filter(mayEqual) : [];
    earlier.push(key);
    if (rivals.length === 0) {
      result.push({ item });
      continue;
    }
    const cacheKey = JSON.stringify([key.value, rivals]);
    let condition = conditions.get(cacheKey);
    if (!condition) {
      let id = conditionId(item);
      for (let n = 2; scope.node.tryFindChild(id); n++) id = `${conditionId(item)}${n}`;
      condition = new CfnCondition(scope, id, {
        expression: Fn.conditionNot(Fn.conditionOr(...rivals.map(other => Fn.conditionEquals(key.value, other)))),
      });
      conditions.set(cacheKey, condition);
    }
    result.push({ item, condition });
  }
  return result;
}

/** `value` when `condition` holds, else nothing (`AWS::NoValue`, which leaves a list entry out). */
export function listedIf(value: string, condition?: CfnCondition): string {
  return condition ? Token.asString(Fn.conditionIf(condition.logicalId, value, Aws.NO_VALUE)) : value;
}

function isReference(resolved: unknown): boolean {
  return typeof resolved === 'object' && resolved !== null && Object.keys(resolved).length === 1 && 'Ref' in resolved;
}
