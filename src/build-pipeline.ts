import { Construct } from 'constructs';

/**
 * Properties for a `BuildPipeline`.
 */
export interface BuildPipelineProps {
  /**
   * The SageMaker project name.
   */
  readonly projectName: string;
}

/**
 * Placeholder, being written.
 */
export class BuildPipeline extends Construct {
  constructor(scope: Construct, id: string, props: BuildPipelineProps) {
    super(scope, id);
    void props;
  }
}
