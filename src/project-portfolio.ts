import * as fs from 'fs';
import { Annotations, AspectPriority, Aspects, CfnResource, Names, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { MLOpsProjectTemplate } from './mlops-project-template';
import { CdkHelperFunctions } from './private/cdk-helper-functions';
import { DEFAULT_EXECUTION_ROLE_PARAMETER, executionRoleArnParameter } from './private/execution-role-parameter';
import { validateLength, validatePermissionsBoundaryName, validateSsmParameterName } from './private/input-checks';
import { gitProviderLaunchStatements, launchRoleStatements } from './private/launch-role-policy';
import {
  addNagSuppressions,
  GIT_PROVIDER_LAUNCH_ROLE_SUPPRESSIONS,
  launchRoleSuppressions,
  ProjectNagSuppressions,
} from './private/nag-suppressions';
import { NO_PERMISSIONS_BOUNDARY_WARNING, permissionsBoundaryArn, ROLE_PATH } from './private/names';
import { checkQuotas } from './private/quotas';
import { RolePathAspect } from './private/role-path';
import { libraryVersion } from './private/version';
import { ITemplatePublisher } from './template-publisher';

/**
 * Properties for a `ProjectPortfolio`.
 */
export interface ProjectPortfolioProps {
  /**
   * Name of the portfolio.
   *
   * @default 'SageMaker Organization Templates'
   */
  readonly displayName?: string;

  /**
   * Who provides the portfolio, at most 50 characters.
   *
   * @default 'administrator'
   */
  readonly providerName?: string;

  /**
   * Description of the portfolio.
   *
   * @default 'SageMaker project templates of the organization'
   */
  readonly description?: string;

  /**
   * Name of an SSM parameter that holds the ARN of a role (typically the SageMaker Studio
   * execution role) given access to the portfolio. It is read when the stack is deployed,
   * through the CloudFormation parameter `ExecutionRoleArn`, whose default it is.
   *
   * @default - '/mlops/role/lead' when no other principal is given (`roles`, `users`,
   * `groups`, `principalArns`), otherwise none
   */
  readonly executionRoleParameterName?: string;

  /**
   * Roles given access to the portfolio.
   *
   * @default - none
   */
  readonly roles?: iam.IRole[];

  /**
   * Users given access to the portfolio.
   *
   * @default - none
   */
  readonly users?: iam.IUser[];

  /**
   * Groups given access to the portfolio.
   *
   * @default - none
   */
  readonly groups?: iam.IGroup[];

  /**
   * ARNs of IAM roles, users or groups given access to the portfolio.
   *
   * @default - none
   */
  readonly principalArns?: string[];

  /**
   * Role Service Catalog launches the products as.
   *
   * @default - a role allowed to create exactly what the templates of this library create
   */
  readonly launchRole?: iam.IRole;

  /**
   * Name for the launch role the portfolio creates. When set, the launch constraints name the
   * role by name, so that in every account the portfolio is shared with Service Catalog launches
   * with that account's own role of this name (create it there with the same permissions).
   *
   * @default - a generated name, and constraints that name this account's role by ARN
   */
  readonly launchRoleName?: string;

  /**
   * Name of a customer managed policy, in every account the products are launched in, set as
   * permissions boundary on the launch role and on every role the templates create.
   *
   * @default - no boundary
   */
  readonly permissionsBoundaryPolicyName?: string;

  /**
   * Accounts the portfolio is shared with.
   *
   * @default - not shared
   */
  readonly shareWithAccounts?: string[];

  /**
   * Organizational units (`ou-...`), or the organization root (`r-...`), the portfolio is
   * shared with, through AWS Organizations. Deploy the portfolio in the management account or a
   * delegated administrator account of Service Catalog, with organization sharing enabled.
   * Needs `organizationId`, so that their accounts may read the seed code.
   *
   * @default - not shared with organizational units
   */
  readonly shareWithOrganizationalUnits?: string[];

  /**
   * Id of the organization (`o-...`) of `shareWithOrganizationalUnits`.
   *
   * @default - none; required with `shareWithOrganizationalUnits`
   */
  readonly organizationId?: string;

  /**
   * TagOptions offered on every product of the portfolio: tag key to allowed values.
   *
   * @default - none
   */
  readonly tagOptions?: { [key: string]: string[] };

  /**
   * Name of the bucket that holds the templates' seed code for Service Catalog.
   *
   * Must be fixed at synth time: product templates refer to it by name, also in accounts the
   * portfolio is shared with.
   *
   * @default - `sagemaker-project-templates-<account>-<region>`, which needs the stack's account
   * and region at synth time (`env`); without them, give a name here
   */
  readonly assetBucketName?: string;
}

/**
 * Options for adding a template to the portfolio as a product.
 */
export interface AddTemplateOptions {
  /**
   * Name of the product.
   *
   * @default - the template's `productName`
   */
  readonly productName?: string;

  /**
   * Description of the product.
   *
   * @default - the template's description
   */
  readonly description?: string;

  /**
   * Owner of the product.
   *
   * @default - the portfolio's provider name
   */
  readonly owner?: string;

  /**
   * Distributor of the product.
   *
   * @default - none
   */
  readonly distributor?: string;

  /**
   * Email address to ask for support.
   *
   * @default - none
   */
  readonly supportEmail?: string;

  /**
   * URL to ask for support.
   *
   * @default - none
   */
  readonly supportUrl?: string;

  /**
   * How to get support.
   *
   * @default - none
   */
  readonly supportDescription?: string;

  /**
   * Name of the version this synthesis makes.
   *
   * A template that changes needs a new version name: the version's snapshot is locked.
   *
   * @default - `v<library version>`, so upgrading this library adds a new version
   */
  readonly versionName?: string;

  /**
   * Description of the version.
   *
   * @default - 'Made with cdk-sagemaker-project-templates <library version>'
   */
  readonly versionDescription?: string;

  /**
   * Folder with the snapshots of earlier versions. Commit it: every version found in it stays
   * available, so projects made from it keep working and can be updated in SageMaker Studio.
   *
   * @default 'product-stack-snapshots'
   */
  readonly snapshotDirectory?: string;
}

/**
 * The support email addresses aws-cdk-lib's `CloudFormationProduct` accepts (its own check):
 * a top-level domain of 2-4 letters, so `.company` or `.technology` addresses are refused.
 */
const EMAIL = /^[\w\d.%+\-]+@[a-z\d.\-]+\.[a-z]{2,4}$/i;
const ACCOUNT = /^\d{12}$/;
const ORGANIZATION_NODE = /^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$/;

/**
 * The Service Catalog portfolio through which SageMaker project templates reach data scientists.
 *
 * It gives principals access, holds the launch role and the bucket for the templates' seed
 * code, and turns each added `MLOpsProjectTemplate` into a product visible in SageMaker Studio.
 */
export class ProjectPortfolio extends Construct implements ITemplatePublisher {
  /** The portfolio. */
  public readonly portfolio: servicecatalog.Portfolio;

  /** Role Service Catalog launches products as. */
  public readonly launchRole: iam.IRole;

  /** Bucket that holds the templates' file assets (seed code). */
  public readonly assetBucket: s3.Bucket;

  /** Products added so far, in order. */
  public readonly products: servicecatalog.CloudFormationProduct[] = [];

  /** Bucket that holds the file assets of the templates created in the portfolio: `assetBucket`. */
  public readonly fileAssetBucket: s3.IBucket;

  /**
   * The permissions boundary set on the launch role and on every role of the templates created
   * in the portfolio.
   *
   * @default - no boundary
   */
  public readonly permissionsBoundaryPolicyName?: string;

  private readonly providerName: string;
  private readonly tagOptions?: servicecatalog.TagOptions;
  private readonly ownedLaunchRole?: iam.Role;
  private readonly addedTemplates = new Map<MLOpsProjectTemplate, string>();
  private readonly localLaunchRole: boolean;
  private gitProviderLaunchesAllowed = false;

  constructor(scope: Construct, id: string, props: ProjectPortfolioProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    validatePermissionsBoundaryName(`ProjectPortfolio ${id}`, props.permissionsBoundaryPolicyName);
    this.permissionsBoundaryPolicyName = props.permissionsBoundaryPolicyName;
    const boundaryArn = props.permissionsBoundaryPolicyName === undefined ? undefined : permissionsBoundaryArn(props.permissionsBoundaryPolicyName);
    this.providerName = props.providerName ?? 'administrator';
    if (!Token.isUnresolved(this.providerName) && (this.providerName.length < 1 || this.providerName.length > 50)) {
      throw new Error(`ProjectPortfolio ${id}: providerName '${this.providerName}' has ${this.providerName.length} characters; use 1-50`);
    }
    for (const account of props.shareWithAccounts ?? []) {
      if (!Token.isUnresolved(account) && !ACCOUNT.test(account)) {
        throw new Error(`ProjectPortfolio ${id}: shareWithAccounts contains '${account}', which is not an AWS account id; use exactly 12 digits`);
      }
    }
    validatePortfolioProps(`ProjectPortfolio ${id}`, stack, props);
    checkQuotas(this, `ProjectPortfolio ${id}`);

    this.portfolio = new servicecatalog.Portfolio(this, 'Portfolio', {
      displayName: props.displayName ?? 'SageMaker Organization Templates',
      providerName: this.providerName,
      description: props.description ?? 'SageMaker project templates of the organization',
    });

    this.assetBucket = new s3.Bucket(this, 'AssetBucket', {
      bucketName: assetBucketName(this, stack, props.assetBucketName),
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Provisioned projects keep pointing at the seed code of their version.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.fileAssetBucket = this.assetBucket;

    if (props.launchRole && props.launchRoleName) {
      throw new Error(`ProjectPortfolio ${id}: launchRoleName '${props.launchRoleName}' names a role to create, but launchRole is given too; give one`);
    }
    this.localLaunchRole = props.launchRoleName !== undefined;
    if (props.launchRole) {
      this.launchRole = props.launchRole;
    } else {
      this.ownedLaunchRole = new iam.Role(this, 'LaunchRole', {
        assumedBy: new iam.ServicePrincipal('servicecatalog.amazonaws.com'),
        path: '/service-role/',
        roleName: props.launchRoleName,
        description: 'Launches SageMaker project templates',
      });
      const statements = launchRoleStatements({
        assetBucket: this.assetBucket,
        permissionsBoundaryPolicyName: props.permissionsBoundaryPolicyName,
        scope: this,
      });
      for (const statement of statements) {
        this.ownedLaunchRole.addToPrincipalPolicy(statement);
      }
      this.launchRole = this.ownedLaunchRole;
      const policy = this.ownedLaunchRole.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource;
      addNagSuppressions(policy, launchRoleSuppressions());
      if (props.permissionsBoundaryPolicyName === undefined) {
        Annotations.of(this).addWarningV2(NO_PERMISSIONS_BOUNDARY_WARNING,
          `The portfolio has no permissionsBoundaryPolicyName: its launch role may create roles under ${ROLE_PATH} with any inline policy, and pass them to CodeBuild, CodePipeline, EventBridge and SageMaker, so whoever controls a product template controls what those roles may do. Set permissionsBoundaryPolicyName to a policy that caps every role of both stacks`);
      }
    }
    addNagSuppressions(this.assetBucket.node.defaultChild as CfnResource, [{
      id: 'AwsSolutions-S1',
      reason: 'Holds only the content-addressed seed code archives that CDK copies in at deployment; they are read once per project creation, which CloudTrail records.',
    }]);
    CdkHelperFunctions.of(stack, `ProjectPortfolio ${id}`).requirePermissionsBoundary(boundaryArn);

    this.giveAccess(props);
    for (const account of props.shareWithAccounts ?? []) {
      this.portfolio.shareWithAccount(account);
    }
    this.shareWithOrganizationalUnits(id, props);
    const shared = (props.shareWithAccounts ?? []).length + (props.shareWithOrganizationalUnits ?? []).length > 0;
    if (shared && !props.launchRoleName && !props.launchRole) {
      Annotations.of(this).addWarningV2('cdk-sagemaker-project-templates:sharedLaunchRole',
        'The portfolio is shared, but its launch constraints name this account\'s launch role, which other accounts cannot use: set launchRoleName and create a role of that name in each shared account');
    }
    if (props.tagOptions && Object.keys(props.tagOptions).length > 0) {
      this.tagOptions = new servicecatalog.TagOptions(this, 'TagOptions', { allowedValuesForTags: props.tagOptions });
      this.portfolio.associateTagOptions(this.tagOptions);
    }

    Aspects.of(this).add(new RolePathAspect(ROLE_PATH));
    if (props.permissionsBoundaryPolicyName !== undefined) {
      iam.PermissionsBoundary.of(this).apply(iam.ManagedPolicy.fromManagedPolicyName(this, 'PermissionsBoundary', props.permissionsBoundaryPolicyName));
    }
  }

  /**
   * Offer a template as a product of this portfolio, visible in SageMaker Studio.
   *
   * The current version is added, and every earlier version whose snapshot is in the snapshot
   * directory, so projects made from them keep working.
   */
  public addTemplate(template: MLOpsProjectTemplate, options: AddTemplateOptions = {}): servicecatalog.CloudFormationProduct {
    const id = template.node.id;
    if (this.addedTemplates.has(template)) {
      throw new Error(`ProjectPortfolio.addTemplate(${id}): the template is already a product of this portfolio, as version '${this.addedTemplates.get(template)}'; add each template once, and give a changed template a new versionName`);
    }
    validateProductOptions(id, options);
    this.validateTemplateHome(template);
    const versionName = options.versionName ?? `v${libraryVersion()}`;
    this.addedTemplates.set(template, versionName);
    const directory = options.snapshotDirectory ?? 'product-stack-snapshots';
    const history = new servicecatalog.ProductStackHistory(this, `${id}History`, {
      productStack: template,
      currentVersionName: versionName,
      currentVersionLocked: true,
      description: options.versionDescription ?? `Made with cdk-sagemaker-project-templates ${libraryVersion()}`,
      directory,
    });
    const earlier = snapshotVersions(directory, `${Names.uniqueId(history)}.${template.artifactId}.`)
      .filter(name => name !== versionName)
      .map(name => history.versionFromSnapshot(name));

    const product = new servicecatalog.CloudFormationProduct(this, `${id}Product`, {
      productName: options.productName ?? template.productName,
      description: options.description ?? template.productDescription,
      owner: options.owner ?? this.providerName,
      distributor: options.distributor,
      supportEmail: options.supportEmail,
      supportUrl: options.supportUrl,
      supportDescription: options.supportDescription,
      productVersions: [...earlier, history.currentVersion()],
    });
    // Only products with this tag appear in SageMaker Studio.
    Tags.of(product).add('sagemaker:studio-visibility', 'true');
    if (template.usesGitProviderConnection) this.allowGitProviderLaunches();
    this.portfolio.addProduct(product);
    if (this.localLaunchRole) {
      this.portfolio.setLocalLaunchRole(product, this.launchRole);
    } else {
      this.portfolio.setLaunchRole(product, this.launchRole);
    }
    this.products.push(product);
    return product;
  }

  /**
   * A template belongs to one publisher: its seed code is in that publisher's asset bucket,
   * which only this portfolio's launch role (and accounts) may read.
   */
  private validateTemplateHome(template: MLOpsProjectTemplate): void {
    const owner = `ProjectPortfolio.addTemplate(${template.node.id})`;
    if (template.publisher !== undefined && template.publisher !== this) {
      throw new Error(`${owner}: the template is published through '${template.publisher.node.path}', whose asset bucket holds its seed code, which this portfolio's launch role cannot read; create another template inside this portfolio (new ${template.constructor.name}(portfolio, ...)) and add that`);
    }
    if (template.fileAssetBucket !== undefined && template.fileAssetBucket !== this.assetBucket) {
      throw new Error(`${owner}: the template keeps its seed code in bucket '${template.fileAssetBucket.node.path}', not in this portfolio's asset bucket, which is the only one its launch role may read; create the template inside this portfolio, or pass assetBucket: portfolio.assetBucket`);
    }
  }

  /**
   * CloudFormation has no resource for sharing with organizational units: the share is made
   * and removed with Service Catalog's API when the stack is deployed and deleted.
   */
  private shareWithOrganizationalUnits(id: string, props: ProjectPortfolioProps): void {
    const nodes = props.shareWithOrganizationalUnits ?? [];
    if (nodes.length === 0) return;
    for (const node of nodes) {
      if (!Token.isUnresolved(node) && !ORGANIZATION_NODE.test(node)) {
        throw new Error(`ProjectPortfolio ${id}: shareWithOrganizationalUnits contains '${node}', which is neither an organizational unit id nor a root id; use ou-xxxx-xxxxxxxx or r-xxxx`);
      }
    }
    if (!props.organizationId) {
      throw new Error(`ProjectPortfolio ${id}: shareWithOrganizationalUnits needs organizationId (o-...), so that the accounts it shares with may read the templates' seed code; give the id of your organization`);
    }
    if (!Token.isUnresolved(props.organizationId) && !/^o-[a-z0-9]{10,32}$/.test(props.organizationId)) {
      throw new Error(`ProjectPortfolio ${id}: organizationId '${props.organizationId}' is not an organization id; use the form o-xxxxxxxxxx`);
    }
    const portfolioArn = Stack.of(this).formatArn({ service: 'catalog', resource: 'portfolio', resourceName: this.portfolio.portfolioId });
    nodes.forEach((node, index) => {
      const organizationNode = { Type: node.startsWith('r-') ? 'ORGANIZATION' : 'ORGANIZATIONAL_UNIT', Value: node.startsWith('r-') ? props.organizationId : node };
      const share = new cr.AwsCustomResource(this, `OrganizationShare${index}`, {
        onCreate: {
          service: 'ServiceCatalog',
          action: 'createPortfolioShare',
          parameters: { PortfolioId: this.portfolio.portfolioId, OrganizationNode: organizationNode, ShareTagOptions: true },
          physicalResourceId: cr.PhysicalResourceId.of(`${node}`),
        },
        onDelete: {
          service: 'ServiceCatalog',
          action: 'deletePortfolioShare',
          parameters: { PortfolioId: this.portfolio.portfolioId, OrganizationNode: organizationNode },
        },
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ['servicecatalog:CreatePortfolioShare', 'servicecatalog:DeletePortfolioShare'],
            resources: [portfolioArn],
          }),
          new iam.PolicyStatement({
            // Service Catalog checks the caller's organization; this action takes no resource.
            actions: ['organizations:DescribeOrganization'],
            resources: ['*'],
          }),
        ]),
        installLatestAwsSdk: false,
      });
      share.node.addDependency(this.portfolio);
      Aspects.of(share).add(new ProjectNagSuppressions(), { priority: AspectPriority.MUTATING });
    });
    // Accounts of the organization read the seed code of the products they launch.
    this.assetBucket.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OrganizationReadsSeedCode',
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:GetObject'],
      resources: [this.assetBucket.arnForObjects('*')],
      conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
    }));
  }

  /** Once, for the first template whose pipelines read from a git provider connection. */
  private allowGitProviderLaunches(): void {
    if (!this.ownedLaunchRole || this.gitProviderLaunchesAllowed) return;
    this.gitProviderLaunchesAllowed = true;
    // An inline policy of its own: in the default policy, aws-cdk-lib's size estimate (150
    // characters per ARN with tokens) would move statements into a managed overflow policy.
    const policy = new iam.Policy(this.ownedLaunchRole, 'GitProviderPolicy', {
      statements: gitProviderLaunchStatements(),
      roles: [this.ownedLaunchRole],
    });
    // The launch role's suppressions of what these statements share with the others: "*" for
    // logs:DescribeLogGroups, and passing the roles under the library's path.
    const shared = ['Resource::*', `Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role${ROLE_PATH}*`];
    addNagSuppressions(policy.node.defaultChild as CfnResource, [
      ...launchRoleSuppressions().filter(suppression => (suppression.appliesTo ?? []).some(finding => shared.includes(finding as string))),
      ...GIT_PROVIDER_LAUNCH_ROLE_SUPPRESSIONS,
    ]);
  }

  private giveAccess(props: ProjectPortfolioProps): void {
    for (const role of props.roles ?? []) this.portfolio.giveAccessToRole(role);
    for (const user of props.users ?? []) this.portfolio.giveAccessToUser(user);
    for (const group of props.groups ?? []) this.portfolio.giveAccessToGroup(group);
    (props.principalArns ?? []).forEach((arn, index) => {
      new servicecatalog.CfnPortfolioPrincipalAssociation(this, `PrincipalAssociation${index}`, {
        portfolioId: this.portfolio.portfolioId,
        principalArn: arn,
        principalType: 'IAM',
      });
    });
    const othersGiven = [props.roles, props.users, props.groups, props.principalArns].some(list => (list ?? []).length > 0);
    const parameterName = props.executionRoleParameterName ?? (othersGiven ? undefined : DEFAULT_EXECUTION_ROLE_PARAMETER);
    if (parameterName) {
      const executionRoleArn = executionRoleArnParameter(this, { parameterName, preferredLogicalId: 'ExecutionRoleArn', grants: 'use the portfolio' });
      new servicecatalog.CfnPortfolioPrincipalAssociation(this, 'ExecutionRoleAssociation', {
        portfolioId: this.portfolio.portfolioId,
        principalArn: executionRoleArn.valueAsString,
        principalType: 'IAM',
      });
    }
  }
}

/** Whether another portfolio of the stack was created before this one. */
function isFirstPortfolio(portfolio: ProjectPortfolio, stack: Stack): boolean {
  return stack.node.findAll().find(c => c instanceof ProjectPortfolio) === portfolio;
}

/** Product templates name the bucket literally, so its name must be known at synth time. */
function assetBucketName(portfolio: ProjectPortfolio, stack: Stack, given?: string): string {
  const id = portfolio.node.id;
  if (given !== undefined) {
    if (Token.isUnresolved(given) || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(given)) {
      throw new Error(`ProjectPortfolio ${id}: assetBucketName '${given}' is not an S3 bucket name known at synth time; use 3-63 lowercase letters, digits, '.' or '-'`);
    }
    return given;
  }
  if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region)) {
    throw new Error(`ProjectPortfolio ${id}: stack '${stack.stackName}' has no account and region, so the asset bucket that product templates refer to by name cannot be named; give the stack an env ({ account, region }) or pass assetBucketName`);
  }
  const name = `sagemaker-project-templates-${stack.account}-${stack.region}`;
  // A second portfolio in the stack gets a bucket of its own: 7 characters of its path's hash.
  return isFirstPortfolio(portfolio, stack) ? name : `${name}-${Names.uniqueId(portfolio).slice(-8).toLowerCase()}`.slice(0, 63);
}

/** Throw on portfolio properties that Service Catalog, SSM or IAM would refuse only at deploy time. */
function validatePortfolioProps(owner: string, stack: Stack, props: ProjectPortfolioProps): void {
  const accounts = props.shareWithAccounts ?? [];
  accounts.forEach((account, index) => {
    if (Token.isUnresolved(account)) return;
    if (accounts.indexOf(account) !== index) {
      throw new Error(`${owner}: shareWithAccounts lists '${account}' twice; list each account once`);
    }
    if (!Token.isUnresolved(stack.account) && account === stack.account) {
      throw new Error(`${owner}: shareWithAccounts lists '${account}', the account the portfolio is in, which Service Catalog cannot share with; leave it out (its principals get access through roles, users, groups or principalArns)`);
    }
  });
  if (props.executionRoleParameterName !== undefined) {
    validateSsmParameterName(owner, 'executionRoleParameterName', props.executionRoleParameterName);
  }
  (props.principalArns ?? []).forEach((arn, index) => {
    if (!Token.isUnresolved(arn) && !/^arn:aws[a-z-]*:iam::\d{12}:(role|user|group)\/([\w+=,.@-]+\/)*[\w+=,.@-]+$/.test(arn)) {
      throw new Error(`${owner}: principalArns[${index}] '${arn}' is not the ARN of an IAM role, user or group; use arn:aws:iam::<account>:role/<name> (no wildcards: Service Catalog matches IAM principals exactly)`);
    }
  });
  if (props.launchRoleName !== undefined && !Token.isUnresolved(props.launchRoleName) && !/^[\w+=,.@-]{1,64}$/.test(props.launchRoleName)) {
    throw new Error(`${owner}: launchRoleName '${props.launchRoleName}' is not an IAM role name; use 1-64 letters, digits or +=,.@_-`);
  }
  validateLength(owner, 'displayName', props.displayName, 1, 100);
  validateLength(owner, 'description', props.description, 0, 2000);
  for (const [key, values] of Object.entries(props.tagOptions ?? {})) {
    validateLength(owner, 'tagOptions key', key, 1, 128);
    if (values.length === 0) {
      throw new Error(`${owner}: tagOptions '${key}' has no values; list the values a project may choose for it, or leave the key out`);
    }
    values.forEach(value => validateLength(owner, `tagOptions '${key}' value`, value, 1, 256));
  }
}

function validateProductOptions(id: string, options: AddTemplateOptions): void {
  if (options.supportEmail !== undefined && !Token.isUnresolved(options.supportEmail) && !EMAIL.test(options.supportEmail)) {
    throw new Error(`ProjectPortfolio.addTemplate(${id}): supportEmail '${options.supportEmail}' is not an email address; use the form name@example.com: letters, digits or . % + - _ before '@', and a domain whose top-level domain has 2-4 letters (aws-cdk-lib's CloudFormationProduct refuses others, such as .company)`);
  }
  const owner = `ProjectPortfolio.addTemplate(${id})`;
  validateLength(owner, 'productName', options.productName, 1, 100);
  validateLength(owner, 'owner', options.owner, 1, 8191);
  validateLength(owner, 'description', options.description, 1, 8191);
  validateLength(owner, 'distributor', options.distributor, 0, 8191);
  validateLength(owner, 'supportDescription', options.supportDescription, 0, 8191);
  validateLength(owner, 'versionDescription', options.versionDescription, 0, 8191);
  if (options.snapshotDirectory !== undefined) {
    if (options.snapshotDirectory.trim().length === 0) {
      throw new Error(`${owner}: snapshotDirectory '${options.snapshotDirectory}' is empty; give the folder that keeps the snapshots of earlier versions (commit it), or leave it out for 'product-stack-snapshots'`);
    }
    if (fs.existsSync(options.snapshotDirectory) && !fs.statSync(options.snapshotDirectory).isDirectory()) {
      throw new Error(`${owner}: snapshotDirectory '${options.snapshotDirectory}' is a file; give a folder for the snapshots of earlier versions`);
    }
  }
  if (options.supportUrl !== undefined && !Token.isUnresolved(options.supportUrl) && !/^https?:\/\/\S+$/.test(options.supportUrl)) {
    throw new Error(`ProjectPortfolio.addTemplate(${id}): supportUrl '${options.supportUrl}' is not a URL; use an http:// or https:// address`);
  }
  if (options.versionName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(options.versionName)) {
    throw new Error(`ProjectPortfolio.addTemplate(${id}): versionName '${options.versionName}' is invalid; use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

/** Version names of the snapshots in `directory` that belong to one product stack history. */
function snapshotVersions(directory: string, prefix: string): string[] {
  if (!fs.existsSync(directory)) return [];
  const suffix = '.product.template.json';
  return fs.readdirSync(directory)
    .filter(file => file.startsWith(prefix) && file.endsWith(suffix))
    .map(file => file.slice(prefix.length, file.length - suffix.length))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

