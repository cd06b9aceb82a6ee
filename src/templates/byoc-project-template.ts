import { Construct } from 'constructs';
import { DeploymentStages } from '../deployment-stage';
import { MLOpsProjectTemplate, MLOpsProjectTemplateProps } from '../mlops-project-template';
import { validatePresetStages } from '../private/stages';

/**
 * Properties for a `ByocProjectTemplate`.
 *
 * @deprecated use `MLOpsProjectTemplateProps` with `bringYourOwnContainer: true` and
 * `stages: DeploymentStages.devPreProdProd({ ... })`
 */
export interface ByocProjectTemplateProps extends MLOpsProjectTemplateProps {
  /**
   * The 12-digit PREPROD account models are deployed to.
   *
   * @default - entered when the project is created (parameter `PreProdAccount`)
   */
  readonly preProdAccount?: string;

  /**
   * The 12-digit PROD account models are deployed to.
   *
   * @default - entered when the project is created (parameter `ProdAccount`)
   */
  readonly prodAccount?: string;

  /**
   * Region of the PREPROD and PROD deployments; another region than the project's is deployed
   * there (see `DeploymentStage.region`).
   *
   * @default - entered when the project is created (parameter `DeploymentRegion`)
   */
  readonly deploymentRegion?: string;
}

/**
 * The original system's bring-your-own-container template: the model is trained in the
 * project's own image, built by a `DockerBuild` action and pushed to an ECR repository that
 * the deployment accounts may pull from.
 *
 * @deprecated a preset of `MLOpsProjectTemplate`, kept for existing users: use
 * `new MLOpsProjectTemplate(portfolio, id, { bringYourOwnContainer: true, stages: DeploymentStages.devPreProdProd({ ... }) })`
 */
export class ByocProjectTemplate extends MLOpsProjectTemplate {
  constructor(scope: Construct, id: string, props: ByocProjectTemplateProps = {}) {
    if (props.bringYourOwnContainer === false) {
      throw new Error(`ByocProjectTemplate ${id}: bringYourOwnContainer 'false' contradicts the template, which always trains in the project's own container; leave it out, or use MLOpsProjectTemplate for a template without a container`);
    }
    if (props.stages !== undefined && [props.preProdAccount, props.prodAccount, props.deploymentRegion].some(v => v !== undefined)) {
      throw new Error(`ByocProjectTemplate ${id}: stages is given together with preProdAccount, prodAccount or deploymentRegion, which only shape the default stages and would be unused; give the accounts in stages, or leave stages out`);
    }
    validatePresetStages(`ByocProjectTemplate ${id}`, props);
    super(scope, id, {
      ...props,
      productName: props.productName ?? 'MLOps template for real-time deployment using your own container',
      description: props.description ?? 'This template includes a model building pipeline that includes a workflow to build your own containers, pre-process, train, evaluate and register a model. The deploy pipeline creates a dev, preprod and production endpoint.',
      stages: props.stages ?? DeploymentStages.devPreProdProd({
        preProdAccount: props.preProdAccount, prodAccount: props.prodAccount, region: props.deploymentRegion,
      }),
      bringYourOwnContainer: true,
    });
  }
}
