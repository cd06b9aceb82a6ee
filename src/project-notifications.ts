/**
 * What a project's notification topic is told about.
 */
export enum ProjectNotificationEvent {
  /** An execution of the model build or the model deploy CodePipeline failed. */
  PIPELINE_FAILED = 'PIPELINE_FAILED',
  /** An execution of the project's SageMaker pipeline failed. */
  SAGEMAKER_PIPELINE_FAILED = 'SAGEMAKER_PIPELINE_FAILED',
  /** A model package of the project's model package group was approved. */
  MODEL_PACKAGE_APPROVED = 'MODEL_PACKAGE_APPROVED',
  /** A model package of the project's model package group was rejected. */
  MODEL_PACKAGE_REJECTED = 'MODEL_PACKAGE_REJECTED',
}

/**
 * Notifications of a project: an SNS topic per project, encrypted with the project's key, that
 * EventBridge rules publish the chosen events to. Subscribe to it with `emails`, with the
 * parameter `emailParameterName` entered at project creation, or with any subscription added
 * to `MLOpsProjectTemplate.notificationTopic`.
 */
export interface ProjectNotificationsOptions {
  /**
   * Email addresses subscribed to every project's topic (each address confirms its
   * subscription by the email SNS sends it).
   *
   * @default - none
   */
  readonly emails?: string[];

  /**
   * Name of a CloudFormation parameter in which the project's creator may enter one email
   * address to subscribe; left empty, nothing is subscribed.
   *
   * @default - no parameter
   */
  readonly emailParameterName?: string;

  /**
   * The events published to the topic.
   *
   * @default - all of `ProjectNotificationEvent`
   */
  readonly events?: ProjectNotificationEvent[];
}
