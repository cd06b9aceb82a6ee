import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { MLOpsProjectTemplate, MLOpsProjectTemplateProps, ProjectNotificationEvent, ProjectPortfolio, SeedCode } from '../src';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const SEED = SeedCode.fromBucket('seed-bucket', 'seed.zip');

function synth(props: MLOpsProjectTemplateProps = {}): { template: Template; construct: MLOpsProjectTemplate } {
  const stack = new Stack(testApp(), 'Portfolio', { env: ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const construct = new MLOpsProjectTemplate(portfolio, 'T', { buildSeedCode: SEED, deploySeedCode: SEED, ...props });
  portfolio.addTemplate(construct, { snapshotDirectory: tempDir('snap') });
  return { template: productTemplate(construct), construct };
}

function only(template: Template, type: string): [string, any] {
  const found = Object.entries(template.findResources(type));
  expect(found).toHaveLength(1);
  return found[0];
}

function ruleByPattern(template: Template, detailType: string): [string, any] {
  const found = Object.entries(template.findResources('AWS::Events::Rule'))
    .filter(([, r]) => r.Properties.EventPattern?.['detail-type']?.[0] === detailType && r.Properties.Targets?.[0]?.Id === 'Target0'
      && JSON.stringify(r.Properties.Targets).includes('NotificationsTopic'));
  expect(found).toHaveLength(1);
  return found[0];
}

describe('notifications on (emails, a parameter, all events)', () => {
  const { template, construct } = synth({ notifications: { emails: ['ml-platform@example.com', 'oncall@example.org'], emailParameterName: 'NotificationEmail' } });
  const [topicId, topic] = only(template, 'AWS::SNS::Topic');
  const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];

  test('one topic per project, named by the project id and encrypted with the project key', () => {
    expect(topic.Properties.TopicName).toEqual({ 'Fn::Join': ['', ['mlops-', { Ref: 'SageMakerProjectId' }, '-notifications']] });
    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(construct.notificationTopic).toBeDefined();
  });

  test('the key lets EventBridge encrypt for the topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'EventBridgePublishesNotifications', Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        })]),
      },
    });
  });

  test('the topic policy enforces SSL and lets EventBridge publish for the three rules only', () => {
    const [, policy] = only(template, 'AWS::SNS::TopicPolicy');
    const statements = policy.Properties.PolicyDocument.Statement;
    expect(statements).toEqual(expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]));
    const publish = statements.find((s: any) => s.Sid === 'ProjectRulesPublish');
    expect(publish.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(publish.Resource).toEqual({ Ref: topicId });
    const rules = publish.Condition.ArnEquals['aws:SourceArn'].map((a: any) => a['Fn::GetAtt'][0]).sort();
    expect(rules).toEqual([
      ruleByPattern(template, 'CodePipeline Pipeline Execution State Change')[0],
      ruleByPattern(template, 'SageMaker Model Building Pipeline Execution Status Change')[0],
      ruleByPattern(template, 'SageMaker Model Package State Change')[0],
    ].sort());
  });

  test('failed executions of both CodePipelines', () => {
    const [, rule] = ruleByPattern(template, 'CodePipeline Pipeline Execution State Change');
    const pipelines = Object.keys(template.findResources('AWS::CodePipeline::Pipeline')).map(id => ({ Ref: id }));
    expect(rule.Properties.EventPattern).toEqual({
      'source': ['aws.codepipeline'],
      'detail-type': ['CodePipeline Pipeline Execution State Change'],
      'detail': { pipeline: expect.arrayContaining(pipelines), state: ['FAILED'] },
    });
    expect(rule.Properties.EventPattern.detail.pipeline).toHaveLength(2);
    expect(rule.Properties.Targets).toEqual([{ Id: 'Target0', Arn: { Ref: topicId } }]);
  });

  test('failed executions of the project\'s SageMaker pipeline, matched whatever the case of its ARN', () => {
    const [, rule] = ruleByPattern(template, 'SageMaker Model Building Pipeline Execution Status Change');
    expect(rule.Properties.EventPattern.source).toEqual(['aws.sagemaker']);
    expect(rule.Properties.EventPattern.detail.currentPipelineExecutionStatus).toEqual(['Failed']);
    const arn = JSON.stringify(rule.Properties.EventPattern.detail.pipelineArn);
    expect(arn).toContain('equals-ignore-case');
    expect(arn).toContain(':pipeline/');
    expect(arn).toContain('"Ref":"SageMakerProjectName"},"-",{"Ref":"SageMakerProjectId"}');
    expect(rule.Properties.Targets).toEqual([{ Id: 'Target0', Arn: { Ref: topicId } }]);
  });

  test('approved and rejected packages of the project\'s model package group', () => {
    const [, rule] = ruleByPattern(template, 'SageMaker Model Package State Change');
    expect(rule.Properties.EventPattern.detail).toEqual({
      ModelPackageGroupName: [{ 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-', { Ref: 'SageMakerProjectId' }]] }],
      ModelApprovalStatus: ['Approved', 'Rejected'],
    });
  });

  test('each email is subscribed, and the parameter\'s address only when one is entered', () => {
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription'));
    expect(subscriptions.map(s => [s.Properties.Protocol, s.Properties.Endpoint, s.Properties.TopicArn, s.Condition])).toEqual([
      ['email', 'ml-platform@example.com', { Ref: topicId }, undefined],
      ['email', 'oncall@example.org', { Ref: topicId }, undefined],
      ['email', { Ref: 'NotificationEmail' }, { Ref: topicId }, expect.any(String)],
    ]);
    const condition = subscriptions[2].Condition;
    expect(template.toJSON().Conditions[condition]).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'NotificationEmail' }, ''] }] });
    template.hasParameter('NotificationEmail', { Type: 'String', Default: '', AllowedPattern: '^$|^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$' });
  });
});

test('only the chosen events get rules', () => {
  const { template } = synth({ notifications: { events: [ProjectNotificationEvent.MODEL_PACKAGE_REJECTED] } });
  const [, rule] = ruleByPattern(template, 'SageMaker Model Package State Change');
  expect(rule.Properties.EventPattern.detail.ModelApprovalStatus).toEqual(['Rejected']);
  const notifying = Object.values(template.findResources('AWS::Events::Rule')).filter(r => JSON.stringify(r.Properties.Targets).includes('NotificationsTopic'));
  expect(notifying).toHaveLength(1);
  template.resourceCountIs('AWS::SNS::Subscription', 0);
});

test('without notifications the template has no topic, and is what it was', () => {
  const off = synth().template.toJSON();
  expect(JSON.stringify(off)).not.toMatch(/SNS|Notification/);
  const on = synth({ notifications: {} }).template.toJSON();
  // Turning them on adds resources and a key statement, and changes nothing else.
  for (const [id, resource] of Object.entries<any>(off.Resources)) {
    if (resource.Type === 'AWS::KMS::Key') continue;
    expect(on.Resources[id]).toEqual(resource);
  }
  expect(on.Parameters).toEqual(off.Parameters);
});

test('bad emails, parameter names and events fail at synth time', () => {
  expect(() => synth({ notifications: { emails: ['ok@example.com', 'not-an-email'] } }))
    .toThrow(/MLOpsProjectTemplate T: notifications\.emails\[1\] 'not-an-email' is not an email address; use /);
  expect(() => synth({ notifications: { emailParameterName: 'Notification-Email' } })).toThrow(/notifications\.emailParameterName 'Notification-Email' is not a CloudFormation parameter name/);
  expect(() => synth({ notifications: { emailParameterName: 'SageMakerProjectName' } })).toThrow(/notifications\.emailParameterName 'SageMakerProjectName' is already the logical id/);
  expect(() => synth({ notifications: { events: [] } })).toThrow(/notifications\.events is empty/);
});
