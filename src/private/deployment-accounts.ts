import { Annotations, CfnParameter, CfnRule, Fn, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DeploymentStage } from '../deployment-stage';
import { pascalStageName } from './pipeline-deploy';
import { ACCOUNT_PATTERN, ResolvedStage } from './stages';

/**
 * The prefix of the artifact bucket that the bundled deploy app's endpoints write captured data
 * under (`datacapture/<project name>-<stage>/`, seed_code/deploy_app/deploy_endpoint/endpoint_stack.py),
 * and the only part of the bucket that deployment accounts may write.
 */
export const DATA_CAPTURE_PREFIX = 'datacapture/';

/** AWS Organizations ids: `o-` and 10 to 32 lowercase letters or digits. */
export const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;

/** Id of the warning a template gets when any account may be entered as a deployment account. */
export const UNRESTRICTED_ACCOUNTS_WARNING = 'cdk-sagemaker-project-templates:deploymentAccountsUnrestricted';

export interface DeploymentAccountRestrictions {
  readonly allowedDeploymentAccounts?: string[];
  readonly organizationId?: string;
}

/** Throw unless the allow-list holds distinct 12-digit accounts and the organization id is one. */
export function validateDeploymentAccountRestrictions(owner: string, restrictions: DeploymentAccountRestrictions): void {
  const allowed = restrictions.allowedDeploymentAccounts;
  if (allowed !== undefined) {
    if (allowed.length === 0) {
      throw new Error(`${owner}: allowedDeploymentAccounts is empty; list the 12-digit accounts that stages may deploy to, or leave it unset`);
    }
    const seen = new Set<string>();
    allowed.forEach((account, index) => {
      if (Token.isUnresolved(account)) {
        throw new Error(`${owner}: allowedDeploymentAccounts[${index}] is a token; list literal 12-digit account ids, which become the AllowedValues of the account parameters`);
      }
      if (!new RegExp(ACCOUNT_PATTERN).test(account)) {
        throw new Error(`${owner}: allowedDeploymentAccounts[${index}] '${account}' is not an AWS account id; use exactly 12 digits`);
      }
      if (seen.has(account)) {
        throw new Error(`${owner}: allowedDeploymentAccounts[${index}] '${account}' is listed twice; list each account once`);
      }
      seen.add(account);
    });
  }
  const organizationId = restrictions.organizationId;
  if (organizationId !== undefined && !Token.isUnresolved(organizationId) && !ORGANIZATION_ID_PATTERN.test(organizationId)) {
    throw new Error(`${owner}: organizationId '${organizationId}' is not an AWS Organizations id; use the form o-xxxxxxxxxx ('o-' and 10-32 lowercase letters or digits)`);
  }
}

/**
 * Hold the stage accounts of a template to the allow-list: account parameters get it as their
 * AllowedValues (CloudFormation refuses any other value when the project is created), a literal
 * account outside it is refused now, and any other token gets a template rule. Without an
 * allow-list or an organization, a template whose accounts are entered at launch gets a warning.
 */
export function restrictDeploymentAccounts(
  scope: Construct, owner: string, stages: DeploymentStage[], resolved: ResolvedStage[], restrictions: DeploymentAccountRestrictions,
): void {
  const stack = Stack.of(scope);
  const allowed = restrictions.allowedDeploymentAccounts;
  const entered = resolved.filter(stage => !stage.isProjectAccount && Token.isUnresolved(stage.account));
  if (allowed === undefined) {
    if (entered.length > 0 && restrictions.organizationId === undefined) {
      const names = [...new Set(stages.map(stage => stage.accountParameterName).filter(name => name !== undefined))];
      const what = names.length > 0 ? `the accounts entered as ${names.join(', ')}` : 'stage accounts given as tokens';
      Annotations.of(scope).addWarningV2(UNRESTRICTED_ACCOUNTS_WARNING,
        `Any AWS account can be entered as a deployment account: ${what} get read access to the project's artifact bucket, key, model packages and images, kept after the project is deleted. `
        + 'Set allowedDeploymentAccounts (the accounts stages may deploy to) and/or organizationId (your AWS Organizations id, checked as aws:PrincipalOrgID).');
    }
    return;
  }
  stages.forEach((stage, index) => {
    const account = resolved[index];
    if (account.isProjectAccount) return;
    if (stage.accountParameterName !== undefined) {
      parameterNamed(stack, stage.accountParameterName).allowedValues = allowed;
      return;
    }
    if (!Token.isUnresolved(account.account)) {
      if (!allowed.includes(account.account)) {
        throw new Error(`${owner}: stages[${index}].account '${account.account}' (stage '${stage.name}') is not in allowedDeploymentAccounts (${allowed.join(', ')}); add it there or deploy the stage to one of those accounts`);
      }
      return;
    }
    const id = `${pascalStageName(stage.name)}AccountIsAllowed`;
    if (stack.node.tryFindChild(id)) return;
    new CfnRule(stack, id, {
      assertions: [{
        assert: Fn.conditionContains(allowed, account.account),
        assertDescription: `Stage '${stage.name}' deploys to an account that is not one of the allowed deployment accounts (${allowed.join(', ')}).`,
      }],
    });
  });
}

/** The parameter of the stack whose logical id is `name` (the parameter a stage names). */
function parameterNamed(stack: Stack, name: string): CfnParameter {
  const parameter = stack.node.findAll().find((c): c is CfnParameter =>
    c instanceof CfnParameter && Stack.of(c) === stack && stack.resolve(c.logicalId) === name);
  if (!parameter) throw new Error(`no parameter ${name} in stack ${stack.node.path}`);
  return parameter;
}

/**
 * The condition that a resource-policy statement naming stage accounts adds: their principals
 * must belong to the organization.
 */
export function organizationCondition(organizationId: string | undefined): { [operator: string]: any } | undefined {
  return organizationId === undefined ? undefined : { StringEquals: { 'aws:PrincipalOrgID': organizationId } };
}
