import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';

/**
 * Where SageMaker project templates are published from: a Service Catalog `ProjectPortfolio`, a
 * `ProjectTemplateBucket` of S3 templates, or your own. A template created inside one (or given
 * it as `publisher`) keeps its file assets in its asset bucket, which only its launch role reads,
 * and caps its roles with its permissions boundary.
 */
export interface ITemplatePublisher extends IConstruct {
  /** Bucket that holds the file assets (seed code, handlers) of the templates published through it. */
  readonly fileAssetBucket: s3.IBucket;

  /**
   * Name of the customer managed policy set as permissions boundary on every role of those templates.
   *
   * @default - no boundary
   */
  readonly permissionsBoundaryPolicyName?: string;
}
