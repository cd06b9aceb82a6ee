import { CfnCondition, CfnElement, CfnParameter, CfnResource, Fn, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ProjectNotificationEvent, ProjectNotificationsOptions } from '../project-notifications';
import { BUCKET_PREFIX } from './names';

/** An email address as SNS takes it: something@domain.tld, without spaces. */
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const EVENTS_PRINCIPAL = 'events.amazonaws.com';

export interface NotificationsWiring {
  readonly owner: string;
  readonly projectName: string;
  readonly projectId: string;
  readonly key: kms.Key;
  readonly pipelineNames: string[];
  readonly sageMakerPipelineName: string;
  readonly modelPackageGroupName: string;
}

/** Throw on notification options that SNS or CloudFormation would refuse only at deploy time. */
export function validateNotifications(owner: string, options: ProjectNotificationsOptions | undefined): void {
  if (options === undefined) return;
  (options.emails ?? []).forEach((email, i) => {
    if (Token.isUnresolved(email) || EMAIL.test(email)) return;
    throw new Error(`${owner}: notifications.emails[${i}] '${email}' is not an email address; use an address such as 'ml-platform@example.com', or subscribe other endpoints to notificationTopic`);
  });
  const name = options.emailParameterName;
  if (name !== undefined && !Token.isUnresolved(name) && !/^[A-Za-z0-9]{1,255}$/.test(name)) {
    throw new Error(`${owner}: notifications.emailParameterName '${name}' is not a CloudFormation parameter name; use 1-255 letters and digits, such as 'NotificationEmail'`);
  }
  if (options.events !== undefined && options.events.length === 0) {
    throw new Error(`${owner}: notifications.events is empty, so the topic would never be notified; leave it out (all events) or list at least one ProjectNotificationEvent`);
  }
  for (const event of options.events ?? []) {
    if (!Object.values(ProjectNotificationEvent).includes(event)) {
      throw new Error(`${owner}: notifications.events '${event}' is not a ProjectNotificationEvent; use ${Object.values(ProjectNotificationEvent).join(', ')}`);
    }
  }
}

/**
 * The project's notification topic (`mlops-<project id>-notifications`, encrypted with the
 * project's key), the EventBridge rules that publish to it, and its subscriptions.
 */
export function createNotifications(scope: Construct, options: ProjectNotificationsOptions, wiring: NotificationsWiring): sns.Topic {
  const stack = Stack.of(scope);
  const chosen = new Set(options.events ?? Object.values(ProjectNotificationEvent));
  const topic = new sns.Topic(scope, 'Topic', {
    // At most 6 + 16 + 14 = 36 characters; scoped by name in the launch role, like the buckets.
    topicName: `${BUCKET_PREFIX}${wiring.projectId}-notifications`,
    displayName: `SageMaker project ${wiring.projectName}`,
    masterKey: wiring.key,
    enforceSSL: true,
  });

  const rules: events.Rule[] = [];
  const target: events.IRuleTarget = { bind: () => ({ arn: topic.topicArn }) };
  const rule = (id: string, description: string, eventPattern: events.EventPattern) => {
    rules.push(new events.Rule(scope, id, { description, eventPattern, targets: [target] }));
  };
  if (chosen.has(ProjectNotificationEvent.PIPELINE_FAILED)) {
    rule('PipelineFailedRule', `Notifies SageMaker project ${wiring.projectName} of failed executions of its pipelines`, {
      source: ['aws.codepipeline'],
      detailType: ['CodePipeline Pipeline Execution State Change'],
      detail: { pipeline: wiring.pipelineNames, state: ['FAILED'] },
    });
  }
  if (chosen.has(ProjectNotificationEvent.SAGEMAKER_PIPELINE_FAILED)) {
    const pipelineArn = stack.formatArn({ service: 'sagemaker', resource: 'pipeline', resourceName: wiring.sageMakerPipelineName });
    rule('SageMakerPipelineFailedRule', `Notifies SageMaker project ${wiring.projectName} of failed executions of its SageMaker pipeline`, {
      source: ['aws.sagemaker'],
      detailType: ['SageMaker Model Building Pipeline Execution Status Change'],
      // SageMaker writes pipeline ARNs in lowercase; project names may hold capitals.
      detail: { pipelineArn: events.Match.equalsIgnoreCase(pipelineArn), currentPipelineExecutionStatus: ['Failed'] },
    });
  }
  const statuses = [
    ...(chosen.has(ProjectNotificationEvent.MODEL_PACKAGE_APPROVED) ? ['Approved'] : []),
    ...(chosen.has(ProjectNotificationEvent.MODEL_PACKAGE_REJECTED) ? ['Rejected'] : []),
  ];
  if (statuses.length > 0) {
    rule('ModelPackageStatusRule', `Notifies SageMaker project ${wiring.projectName} of approved or rejected model packages`, {
      source: ['aws.sagemaker'],
      detailType: ['SageMaker Model Package State Change'],
      detail: { ModelPackageGroupName: [wiring.modelPackageGroupName], ModelApprovalStatus: statuses },
    });
  }

  // EventBridge publishes for the project's rules only, and encrypts with the project's key.
  topic.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'ProjectRulesPublish',
    principals: [new iam.ServicePrincipal(EVENTS_PRINCIPAL)],
    actions: ['sns:Publish'],
    resources: [topic.topicArn],
    conditions: { ArnEquals: { 'aws:SourceArn': rules.map(r => r.ruleArn) } },
  }));
  wiring.key.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'EventBridgePublishesNotifications',
    principals: [new iam.ServicePrincipal(EVENTS_PRINCIPAL)],
    actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    resources: ['*'],
  }));

  (options.emails ?? []).forEach((email, i) => {
    new sns.Subscription(scope, `Email${i}`, { topic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: email });
  });
  if (options.emailParameterName !== undefined) {
    const name = options.emailParameterName;
    const taken = stack.node.findAll().filter((c): c is CfnElement => c instanceof CfnElement).some(c => stack.resolve(c.logicalId) === name);
    if (taken) {
      throw new Error(`${wiring.owner}: notifications.emailParameterName '${name}' is already the logical id of a parameter or resource of the template; use another name, such as 'NotificationEmail'`);
    }
    const parameter = new CfnParameter(stack, name, {
      type: 'String',
      default: '',
      description: 'Email address notified of failed pipelines and approved or rejected models of the project (empty: none)',
      allowedPattern: '^$|^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
      constraintDescription: 'must be an email address, or empty',
    });
    const condition = new CfnCondition(scope, 'EmailParameterGiven', {
      expression: Fn.conditionNot(Fn.conditionEquals(parameter.valueAsString, '')),
    });
    const subscription = new sns.Subscription(scope, 'EmailParameter', { topic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: parameter.valueAsString });
    (subscription.node.defaultChild as CfnResource).cfnOptions.condition = condition;
  }
  return topic;
}
