import { Construct } from 'constructs';
import { MLOpsProjectTemplate, MLOpsProjectTemplateProps } from '../mlops-project-template';

/**
 * Properties for a `BasicProjectTemplate`.
 */
export interface BasicProjectTemplateProps extends MLOpsProjectTemplateProps {
  /** The 12-digit PREPROD account models are deployed to. */
  readonly preProdAccount: string;

  /** The 12-digit PROD account models are deployed to. */
  readonly prodAccount: string;

  /**
   * Region of the PREPROD and PROD deployments, which must be the region projects are created in.
   *
   * Stages deploy in the project's region, and a template rule stops a launch elsewhere.
   */
  readonly deploymentRegion: string;
}

/**
 * The original system's basic template: real-time endpoints in DEV, PREPROD and PROD, with the
 * PREPROD and PROD accounts fixed when the template is synthesized.
 */
export class BasicProjectTemplate extends MLOpsProjectTemplate {
  constructor(scope: Construct, id: string, props: BasicProjectTemplateProps) {
    super(scope, id, {
      ...props,
      productName: props.productName ?? 'Basic MLOps template for real-time deployment',
      description: props.description ?? 'This template includes a model building pipeline that includes a workflow to pre-process, train, evaluate and register a model. The deploy pipeline creates a dev, preprod and production endpoint. The target DEV/PREPROD/PROD accounts are predefined in the template.',
      stages: props.stages ?? [
        { name: 'dev' },
        { name: 'preprod', account: props.preProdAccount, region: props.deploymentRegion },
        { name: 'prod', account: props.prodAccount, region: props.deploymentRegion },
      ],
    });
  }
}
