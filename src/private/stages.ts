import { Aws, CfnParameter, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DeploymentStage } from '../deployment-stage';

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
}

const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;
export const ACCOUNT_PATTERN = '^\\d{12}$';
/** Region names as AWS forms them, e.g. `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`. */
export const REGION_PATTERN = '^[a-z]{2,4}(-[a-z]+)+-\\d{1,2}$';

/**
 * Validate stages and resolve their accounts and regions in the stack of `scope`.
 *
 * Parameters are created once per stack and name, so the template and both pipelines that
 * call this get the same tokens.
 */
export function resolveStages(scope: Construct, stages: DeploymentStage[], owner: string): ResolvedStage[] {
  if (stages.length === 0) {
    throw new Error(`${owner}: stages is empty; give at least one deployment stage (for example { name: 'dev' })`);
  }
  const seen = new Set<string>();
  return stages.map((stage, index) => {
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
    };
  });
}

function accountParameter(scope: Construct, name: string, stageName: string): CfnParameter {
  const stack = Stack.of(scope);
  return (stack.node.tryFindChild(name) as CfnParameter | undefined) ?? new CfnParameter(stack, name, {
    type: 'String',
    description: `AWS account id of the ${stageName} deployment stage`,
    allowedPattern: ACCOUNT_PATTERN,
    constraintDescription: 'must be a 12-digit AWS account id',
  });
}

function regionParameter(scope: Construct, name: string): CfnParameter {
  const stack = Stack.of(scope);
  return (stack.node.tryFindChild(name) as CfnParameter | undefined) ?? new CfnParameter(stack, name, {
    type: 'String',
    description: 'AWS region the model is deployed to',
    allowedPattern: REGION_PATTERN,
    constraintDescription: "must be an AWS region name such as 'eu-west-1'",
  });
}

/** The original system's dynamic accounts: dev here, preprod and prod entered at project creation. */
export function defaultStages(): DeploymentStage[] {
  return [
    { name: 'dev' },
    { name: 'preprod', accountParameterName: 'PreProdAccount', regionParameterName: 'DeploymentRegion' },
    { name: 'prod', accountParameterName: 'ProdAccount', regionParameterName: 'DeploymentRegion' },
  ];
}

