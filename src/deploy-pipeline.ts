import { Construct } from 'constructs';

/**
 * Properties for a `DeployPipeline`.
 */
export interface DeployPipelineProps {
  /**
   * The SageMaker project name.
   */
  readonly projectName: string;
}

/**
 * Placeholder, being written.
 */
export class DeployPipeline extends Construct {
  constructor(scope: Construct, id: string, props: DeployPipelineProps) {
    super(scope, id);
    void props;
  }
}
