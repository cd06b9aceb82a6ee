import { AspectPriority, Aspects, CfnResource, IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { addNagSuppressions, AWS_CUSTOM_RESOURCE_SUPPRESSIONS, BUCKET_DEPLOYMENT_SUPPRESSIONS } from './nag-suppressions';

/** The singleton function of aws-cdk-lib's AwsCustomResource. */
const AWS_CUSTOM_RESOURCE_SINGLETON = 'AWS679f53fac002430cb0da5b7982bd2287';

/**
 * aws-cdk-lib's helper functions that a portfolio brings into its stack (BucketDeployment, which
 * copies seed code into the asset bucket, and AwsCustomResource, which shares the portfolio with
 * organizational units) are stack-wide singletons outside the portfolio's scope. This aspect,
 * one per stack, gives their resources the library's cdk-nag suppressions and their roles the
 * portfolios' permissions boundary.
 */
export class CdkHelperFunctions implements IAspect {
  /** The aspect of `stack`, added on first use. */
  public static of(stack: Stack, owner: string): CdkHelperFunctions {
    const existing = Aspects.of(stack).all.find((a): a is CdkHelperFunctions => a instanceof CdkHelperFunctions);
    if (existing) {
      existing.owners.push(owner);
      return existing;
    }
    const created = new CdkHelperFunctions(owner);
    Aspects.of(stack).add(created, { priority: AspectPriority.MUTATING });
    return created;
  }

  private boundaryArn?: string;
  private boundaryOwner?: string;
  private readonly owners: string[];

  private constructor(owner: string) {
    this.owners = [owner];
  }

  /** Put the helpers' roles under `boundaryArn`; portfolios of one stack must agree on it. */
  public requirePermissionsBoundary(boundaryArn: string | undefined): void {
    const owner = this.owners[this.owners.length - 1];
    if (this.owners.length > 1 && this.boundaryArn !== boundaryArn) {
      const stack = (arn?: string) => arn === undefined ? 'none' : `'${arn.split('policy/')[1]}'`;
      throw new Error(`${owner}: permissionsBoundaryPolicyName ${stack(boundaryArn)} differs from ${stack(this.boundaryArn)} of ${this.boundaryOwner ?? this.owners[0]} in the same stack, whose aws-cdk-lib helper functions they share; give both portfolios the same boundary or put them in separate stacks`);
    }
    this.boundaryArn = boundaryArn;
    this.boundaryOwner = owner;
  }

  public visit(node: IConstruct): void {
    if (!(node instanceof CfnResource) || !['AWS::Lambda::Function', 'AWS::IAM::Role', 'AWS::IAM::Policy'].includes(node.cfnResourceType)) return;
    const path = node.node.path;
    const isBucketDeployment = path.includes('/Custom::CDKBucketDeployment');
    const isAwsCustomResource = path.includes(`/${AWS_CUSTOM_RESOURCE_SINGLETON}/`);
    if (!isBucketDeployment && !isAwsCustomResource) return;
    addNagSuppressions(node, isBucketDeployment ? BUCKET_DEPLOYMENT_SUPPRESSIONS : AWS_CUSTOM_RESOURCE_SUPPRESSIONS);
    if (this.boundaryArn && node instanceof iam.CfnRole && node.permissionsBoundary === undefined) {
      node.permissionsBoundary = this.boundaryArn;
    }
  }
}
