import { Construct } from 'constructs';
import { MLOpsProjectTemplate, MLOpsProjectTemplateProps } from '../mlops-project-template';

/**
 * The original system's dynamic accounts template: real-time endpoints in DEV, PREPROD and PROD,
 * with the PREPROD and PROD accounts (`PreProdAccount`, `ProdAccount`) and their region
 * (`DeploymentRegion`) entered when the project is created.
 *
 * @deprecated a preset of `MLOpsProjectTemplate`, kept for existing users: `new MLOpsProjectTemplate(portfolio, id)`
 * has these stages (`DeploymentStages.enteredAtCreation()`); give it this template's `productName` and
 * `description` if you want its Studio names
 */
export class DynamicAccountsProjectTemplate extends MLOpsProjectTemplate {
  constructor(scope: Construct, id: string, props: MLOpsProjectTemplateProps = {}) {
    super(scope, id, {
      ...props,
      productName: props.productName ?? 'Dynamic Accounts MLOps template for real-time deployment',
      description: props.description ?? 'This template includes a model building pipeline that includes a workflow to pre-process, train, evaluate and register a model. The deploy pipeline creates a dev, preprod and production endpoint. The target PREPROD/PROD accounts are provided as CloudFormation parameters and must be provided during project creation.',
    });
  }
}
