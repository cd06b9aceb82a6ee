import { validatePresetStages } from './private/stages';

/**
 * One place a project's model is deployed to, in order.
 *
 * Account and region are each either fixed when the template is synthesized, or a
 * CloudFormation parameter that the data scientist fills in when creating the project
 * (the original system's "dynamic accounts").
 */
export interface DeploymentStage {
  /**
   * Stage name: lowercase letters, digits and hyphens, starting with a letter, at most 20
   * characters. Used in the stack name `<project-name>-deploy-<stage>`, the SSM parameters
   * `/mlops/<project-name>/<stage>/...` and the template file `<stage>.template.json`.
   */
  readonly name: string;

  /**
   * The 12-digit account to deploy to.
   *
   * @default - the project's own account, unless `accountParameterName` is set
   */
  readonly account?: string;

  /**
   * Name of a CloudFormation parameter (12 digits) that holds the account, entered when the
   * project is created. Stages that name the same parameter share it.
   *
   * @default - no parameter
   */
  readonly accountParameterName?: string;

  /**
   * The region to deploy to. A region other than the project's is deployed there: a build in
   * the pipeline's region publishes the stage's file assets and deploys its template through
   * that account's CDK bootstrap roles of that region (bootstrap each account and region of a
   * stage, trusting the project's account). A region that synthesis takes for the project's (the
   * portfolio stack's) is deployed by a CloudFormation action, and a template rule requires it to
   * be the one the project is created in.
   *
   * @default - the project's own region, unless `regionParameterName` is set
   */
  readonly region?: string;

  /**
   * Name of a CloudFormation parameter that holds the region, entered when the project is
   * created. Stages that name the same parameter share it.
   *
   * The stage is deployed in the region entered, the project's or another, by a build in the
   * pipeline's region (see `region`), which the parameter also tells the deploy app.
   *
   * @default - no parameter
   */
  readonly regionParameterName?: string;

  /**
   * Whether a manual approval precedes the deployment.
   *
   * @default - true for every stage but the first
   */
  readonly requireApproval?: boolean;

  /**
   * ARN of the role the pipeline assumes in the target account to run the CloudFormation action.
   *
   * @default - the CDK bootstrap deploy role `cdk-<qualifier>-deploy-role-<account>-<region>`
   */
  readonly actionRoleArn?: string;

  /**
   * ARN of the role CloudFormation runs as in the target account.
   *
   * @default - the CDK bootstrap execution role `cdk-<qualifier>-cfn-exec-role-<account>-<region>`
   */
  readonly deploymentRoleArn?: string;

  /**
   * Private subnets and security groups of the stage's endpoints or transform jobs, in the
   * stage's account (the bundled deploy apps read them from the synth build's `STAGE_NETWORKS`).
   *
   * @default - not in a VPC
   */
  readonly network?: StageNetwork;
}

/**
 * Where a stage's endpoints or transform jobs run in the stage's account: subnets and security
 * groups given here, or read from SSM parameters of that account when the stage is deployed.
 */
export interface StageNetwork {
  /**
   * Subnets of the stage's account (`subnet-...`).
   *
   * @default - the StringList SSM parameter `subnetIdsParameterName` of the stage's account
   */
  readonly subnetIds?: string[];

  /**
   * Security groups of the stage's account (`sg-...`).
   *
   * @default - the StringList SSM parameter `securityGroupIdsParameterName` of the stage's account
   */
  readonly securityGroupIds?: string[];

  /**
   * SSM parameter of the stage's account with its subnet ids, read when the stage is deployed;
   * under `/mlops/network/`, which the stage's `DeploymentTargetPolicy` lets CloudFormation read.
   *
   * @default '/mlops/network/subnet_ids'
   */
  readonly subnetIdsParameterName?: string;

  /**
   * SSM parameter of the stage's account with its security group ids, read when the stage is
   * deployed; under `/mlops/network/`, which the stage's `DeploymentTargetPolicy` lets CloudFormation read.
   *
   * @default '/mlops/network/security_group_ids'
   */
  readonly securityGroupIdsParameterName?: string;
}

/**
 * Accounts and region of the `preprod` and `prod` stages, each fixed now or entered when a
 * project is created.
 */
export interface DevPreProdProdOptions {
  /**
   * The 12-digit PREPROD account.
   *
   * @default - entered when the project is created (parameter `PreProdAccount`)
   */
  readonly preProdAccount?: string;

  /**
   * The 12-digit PROD account.
   *
   * @default - entered when the project is created (parameter `ProdAccount`)
   */
  readonly prodAccount?: string;

  /**
   * Region of the PREPROD and PROD deployments.
   *
   * @default - entered when the project is created (parameter `DeploymentRegion`)
   */
  readonly region?: string;
}

/**
 * Accounts and region of the `preprod` and `prod` stages, fixed when the template is synthesized.
 */
export interface FixedAccountsOptions {
  /** The 12-digit PREPROD account. */
  readonly preProdAccount: string;

  /** The 12-digit PROD account. */
  readonly prodAccount: string;

  /** Region of the PREPROD and PROD deployments. */
  readonly region: string;
}

/**
 * The original system's stage layouts, for `stages`: `dev` in the project's own account, then
 * `preprod` and `prod` after a manual approval each.
 */
export class DeploymentStages {
  /**
   * PREPROD and PROD accounts and their region entered when a project is created (parameters
   * `PreProdAccount`, `ProdAccount` and `DeploymentRegion`): the original "dynamic accounts"
   * template, and the default stages of `MLOpsProjectTemplate`.
   */
  public static enteredAtCreation(): DeploymentStage[] {
    return DeploymentStages.devPreProdProd({});
  }

  /**
   * PREPROD and PROD accounts and their region fixed now: the original "basic" template.
   */
  public static fixedAccounts(options: FixedAccountsOptions): DeploymentStage[] {
    validatePresetStages('DeploymentStages.fixedAccounts', { ...options, deploymentRegion: options.region }, 'region');
    return DeploymentStages.devPreProdProd(options);
  }

  /**
   * Each of the PREPROD account, the PROD account and their region fixed now or, when left out,
   * entered when a project is created (parameters `PreProdAccount`, `ProdAccount`, `DeploymentRegion`).
   */
  public static devPreProdProd(options: DevPreProdProdOptions = {}): DeploymentStage[] {
    validatePresetStages('DeploymentStages.devPreProdProd', { ...options, deploymentRegion: options.region }, 'region');
    const region = options.region !== undefined ? { region: options.region } : { regionParameterName: 'DeploymentRegion' };
    return [
      { name: 'dev' },
      { name: 'preprod', ...(options.preProdAccount !== undefined ? { account: options.preProdAccount } : { accountParameterName: 'PreProdAccount' }), ...region },
      { name: 'prod', ...(options.prodAccount !== undefined ? { account: options.prodAccount } : { accountParameterName: 'ProdAccount' }), ...region },
    ];
  }

  private constructor() {}
}
