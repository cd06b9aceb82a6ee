import { CfnElement, CfnParameter, Names, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { reserveParameterName } from './names';

/** The default SSM parameter that holds the role of the people who create projects. */
export const DEFAULT_EXECUTION_ROLE_PARAMETER = '/mlops/role/lead';

export interface ExecutionRoleParameterOptions {
  /** The SSM parameter that holds the role's ARN. */
  readonly parameterName: string;
  /** The parameter's logical id, unless another element of the stack has it already. */
  readonly preferredLogicalId: string;
  /** What the role may use, for the parameter's description. */
  readonly grants: string;
}

/**
 * The CloudFormation parameter `AWS::SSM::Parameter::Value<String>` through which a channel
 * (portfolio or template bucket) gives access to the role in an SSM parameter, created in the
 * owner's scope. The first one of a stack keeps the logical id users know; others are told
 * apart by their owner's path.
 */
export function executionRoleArnParameter(owner: Construct, options: ExecutionRoleParameterOptions): CfnParameter {
  // A project named after the parameter's first segment ('role' for /mlops/role/lead) would read it.
  reserveParameterName(owner, options.parameterName);
  const parameter = new CfnParameter(owner, 'ExecutionRoleArn', {
    type: 'AWS::SSM::Parameter::Value<String>',
    description: `SSM parameter that holds the ARN of the role (e.g. the SageMaker Studio execution role) that may ${options.grants}`,
    default: options.parameterName,
    minLength: 1,
  });
  parameter.overrideLogicalId(freeLogicalId(Stack.of(owner), options.preferredLogicalId, owner));
  return parameter;
}

/** `preferred`, or `preferred` prefixed with the owner's unique id when another element of the stack has it. */
function freeLogicalId(stack: Stack, preferred: string, owner: Construct): string {
  const taken = stack.node.findAll()
    .filter((c): c is CfnElement => c instanceof CfnElement && Stack.of(c) === stack && !c.node.scopes.includes(owner))
    .some(element => stack.resolve(element.logicalId) === preferred);
  return taken ? `${Names.uniqueId(owner)}${preferred}` : preferred;
}
