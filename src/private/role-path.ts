import { IAspect } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { ROLE_PATH } from './names';

/**
 * Puts every role under one path, including roles that aws-cdk-lib constructs create for
 * themselves (pipeline action roles, event roles), so that one launch-role statement covers them.
 */
export class RolePathAspect implements IAspect {
  constructor(private readonly rolePath: string = ROLE_PATH) {}

  public visit(node: IConstruct): void {
    if (node instanceof iam.CfnRole && node.path === undefined) {
      node.path = this.rolePath;
    }
  }
}
