import { Construct } from 'constructs';
import { DeploymentStages } from '../deployment-stage';
import { MLOpsProjectTemplate, MLOpsProjectTemplateProps } from '../mlops-project-template';
import { validatePresetStages } from '../private/stages';

/**
 * Properties for a `BasicProjectTemplate`.
 *
 * @deprecated use `MLOpsProjectTemplateProps` with `stages: DeploymentStages.fixedAccounts({ ... })`
 */
export interface BasicProjectTemplateProps extends MLOpsProjectTemplateProps {
  /** The 12-digit PREPROD account models are deployed to. */
  readonly preProdAccount: string;

  /** The 12-digit PROD account models are deployed to. */
  readonly prodAccount: string;

  /**
   * Region of the PREPROD and PROD deployments; another region than the project's is deployed
   * there (see `DeploymentStage.region`).
   */
  readonly deploymentRegion: string;
}

/**
 * The original system's basic template: real-time endpoints in DEV, PREPROD and PROD, with the
 * PREPROD and PROD accounts fixed when the template is synthesized.
 *
 * @deprecated a preset of `MLOpsProjectTemplate`, kept for existing users: use
 * `new MLOpsProjectTemplate(portfolio, id, { stages: DeploymentStages.fixedAccounts({ preProdAccount, prodAccount, region }) })`
 * (with this template's `productName` and `description` if you want its Studio names)
 */
export class BasicProjectTemplate extends MLOpsProjectTemplate {
  constructor(scope: Construct, id: string, props: BasicProjectTemplateProps) {
    if (props.stages !== undefined) {
      throw new Error(`BasicProjectTemplate ${id}: stages is given, which would replace the dev, preprod and prod stages that preProdAccount '${props.preProdAccount}', prodAccount '${props.prodAccount}' and deploymentRegion '${props.deploymentRegion}' make, leaving those unused; leave stages out, or use MLOpsProjectTemplate for stages of your own`);
    }
    validatePresetStages(`BasicProjectTemplate ${id}`, props);
    super(scope, id, {
      ...props,
      productName: props.productName ?? 'Basic MLOps template for real-time deployment',
      description: props.description ?? 'This template includes a model building pipeline that includes a workflow to pre-process, train, evaluate and register a model. The deploy pipeline creates a dev, preprod and production endpoint. The target DEV/PREPROD/PROD accounts are predefined in the template.',
      stages: DeploymentStages.fixedAccounts({
        preProdAccount: props.preProdAccount, prodAccount: props.prodAccount, region: props.deploymentRegion,
      }),
    });
  }
}
