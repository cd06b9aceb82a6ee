import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';

const PORTFOLIO_LINK = Symbol.for('cdk-sagemaker-project-templates.ProjectPortfolio');

/** What a template picks up from the portfolio it is created in. */
export interface PortfolioDefaults {
  readonly assetBucket: s3.IBucket;
  readonly permissionsBoundaryPolicyName?: string;
}

/** Mark a construct as a portfolio whose children templates inherit these defaults. */
export function linkPortfolio(portfolio: IConstruct, defaults: PortfolioDefaults): void {
  Object.defineProperty(portfolio, PORTFOLIO_LINK, { value: defaults, enumerable: false });
}

/** The defaults of the nearest enclosing portfolio, if a template is created inside one. */
export function findPortfolioDefaults(scope: IConstruct): PortfolioDefaults | undefined {
  for (const node of [...scope.node.scopes].reverse()) {
    const defaults = (node as any)[PORTFOLIO_LINK] as PortfolioDefaults | undefined;
    if (defaults) return defaults;
  }
  return undefined;
}
