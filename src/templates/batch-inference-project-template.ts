import { Construct } from 'constructs';
import { MLOpsProjectTemplate, MLOpsProjectTemplateProps } from '../mlops-project-template';
import { SeedCode } from '../seed-code';
import { BundledSeedApp } from '../seed-code-asset';

/**
 * Properties for a `BatchInferenceProjectTemplate`.
 */
export interface BatchInferenceProjectTemplateProps extends MLOpsProjectTemplateProps {}

/**
 * The batch inference template: the model build pipeline of the other templates, and a deploy
 * repository with the bundled `batch_inference_app`, which gives each stage a SageMaker model of
 * the newest approved model package, a SageMaker pipeline with one batch transform step, and an
 * EventBridge rule that starts it on a schedule. Each stage writes its predictions to the
 * project's artifact bucket, under `batch/<project name>-<stage>/output/`.
 *
 * A preset of `MLOpsProjectTemplate`: the same as
 * `new MLOpsProjectTemplate(portfolio, id, { deploySeedCode: SeedCode.fromBundledApp(BundledSeedApp.BATCH_INFERENCE_APP), stageOutputPrefix: 'batch/' })`
 * with this template's `productName` and `description`.
 */
export class BatchInferenceProjectTemplate extends MLOpsProjectTemplate {
  constructor(scope: Construct, id: string, props: BatchInferenceProjectTemplateProps = {}) {
    super(scope, id, {
      ...props,
      productName: props.productName ?? 'MLOps template for batch inference',
      description: props.description ?? 'This template includes a model building pipeline that includes a workflow to pre-process, train, evaluate and register a model. The deploy pipeline sets up scheduled batch transform of the newest approved model in dev, preprod and prod.',
      deploySeedCode: props.deploySeedCode ?? SeedCode.fromBundledApp(BundledSeedApp.BATCH_INFERENCE_APP),
      stageOutputPrefix: props.stageOutputPrefix ?? 'batch/',
    });
  }
}
