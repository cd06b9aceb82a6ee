import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { sageMakerNameVariants } from './pipeline-common';

/** Read and write the model artifact bucket, and use its key if it is not the bucket's own. */
export function grantArtifactReadWrite(grantee: iam.IGrantable, bucket: s3.IBucket, key: kms.IKey): void {
  bucket.grantReadWrite(grantee);
  if (key !== bucket.encryptionKey) {
    key.grantEncryptDecrypt(grantee);
  }
}

function sageMakerArn(scope: Construct, resource: string, resourceName: string): string {
  return Stack.of(scope).formatArn({ service: 'sagemaker', resource, resourceName });
}

/** ARNs of the model package group and the packages in it. */
export function modelPackageArns(scope: Construct, groupName: string, projectId?: string): { groups: string[]; packages: string[] } {
  const names = sageMakerNameVariants(groupName, projectId);
  return {
    groups: names.map(name => sageMakerArn(scope, 'model-package-group', name)),
    packages: names.map(name => sageMakerArn(scope, 'model-package', `${name}/*`)),
  };
}

/** Allow `grantee` to pass `role` to SageMaker and to nothing else. */
export function grantPassToSageMaker(grantee: iam.IGrantable, role: iam.IRole): void {
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['iam:PassRole'],
    resources: [role.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
  }));
}

/** What the role a SageMaker pipeline runs as may do. */
export interface SageMakerExecutionRoleOptions {
  readonly artifactBucket: s3.IBucket;
  readonly artifactKey: kms.IKey;
  readonly modelPackageGroupName: string;
  /** The SageMaker pipeline that runs as the role: it may watch, stop and tag that pipeline's jobs only. */
  readonly pipelineName: string;
  /** The project id, lowercase, that ends the names of the project's SageMaker resources. */
  readonly projectId?: string;
  readonly ecrRepository?: ecr.IRepository;
}

/** The tag SageMaker Pipelines puts on every job a step starts: the ARN of the pipeline execution. */
export const PIPELINE_EXECUTION_TAG = 'sagemaker:pipeline-execution-arn';

/**
 * The role a SageMaker pipeline, and the jobs it starts, run as: the jobs its steps create
 * (named `pipelines-*` by SageMaker), the model packages it registers, and what the jobs read
 * and write.
 */
export function createSageMakerExecutionRole(scope: Construct, id: string, options: SageMakerExecutionRoleOptions): iam.Role {
  const stack = Stack.of(scope);
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
    description: 'Role the SageMaker model build pipeline and its jobs run as',
  });

  grantArtifactReadWrite(role, options.artifactBucket, options.artifactKey);

  // Pipeline steps name their jobs `pipelines-<execution id>-<step>-<suffix>`, a name every
  // project's pipelines share; SageMaker tags each job with the execution that started it, whose
  // ARN names the pipeline: what the role may do to existing jobs is limited to its pipeline's.
  const jobArns = ['processing-job', 'training-job'].map(type => sageMakerArn(scope, type, 'pipelines-*'));
  const ownExecutions = sageMakerNameVariants(options.pipelineName, options.projectId)
    .map(name => sageMakerArn(scope, 'pipeline', `${name}/execution/*`));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['sagemaker:CreateProcessingJob', 'sagemaker:CreateTrainingJob'],
    resources: jobArns,
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['sagemaker:DescribeProcessingJob', 'sagemaker:StopProcessingJob', 'sagemaker:DescribeTrainingJob', 'sagemaker:StopTrainingJob'],
    resources: jobArns,
    // IfExists: should a job lack the tag (not verified in a real account), the pipeline that
    // polls it keeps working; a job that has it must be this pipeline's.
    conditions: { StringLikeIfExists: { [`aws:ResourceTag/${PIPELINE_EXECUTION_TAG}`]: ownExecutions } },
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    // Creating a job with tags is authorized as AddTags too, before the job has tags; a job that
    // has the execution tag must be one of this pipeline's.
    actions: ['sagemaker:AddTags'],
    resources: jobArns,
    conditions: { StringLikeIfExists: { [`aws:ResourceTag/${PIPELINE_EXECUTION_TAG}`]: ownExecutions } },
  }));

  const { groups, packages } = modelPackageArns(scope, options.modelPackageGroupName, options.projectId);
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['sagemaker:DescribeModelPackageGroup'],
    resources: groups,
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['sagemaker:CreateModelPackage', 'sagemaker:DescribeModelPackage', 'sagemaker:AddTags'],
    resources: packages,
  }));

  // Processing and training jobs log to one group per job type, a stream per instance named
  // `<job name>/<host>`. Log writes cannot be scoped by tag: the role writes streams of jobs
  // named pipelines-* in those two groups only.
  const logGroups = ['ProcessingJobs', 'TrainingJobs']
    .map(group => stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: `/aws/sagemaker/${group}`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogGroup', 'logs:DescribeLogStreams'],
    resources: logGroups.flatMap(group => [group, `${group}:*`]),
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    resources: logGroups.map(group => `${group}:log-stream:pipelines-*`),
  }));

  // SageMaker's own images live in AWS-owned accounts that differ by region, so the account
  // cannot be named; the repositories all start with `sagemaker-`.
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
    resources: [stack.formatArn({ service: 'ecr', account: '*', resource: 'repository', resourceName: 'sagemaker-*' })],
  }));
  if (options.ecrRepository) {
    // Adds ecr:GetAuthorizationToken, which has no resource to scope to, on its own.
    options.ecrRepository.grantPull(role);
  } else {
    // ecr:GetAuthorizationToken does not support resource-level permissions.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
  }

  // The pipeline passes this role on to the jobs it starts.
  grantPassToSageMaker(role, role);
  return role;
}

/** Allow `grantee` to create or update, start and watch the SageMaker pipeline `pipelineName` (seed `run_pipeline.py`). */
export function grantSageMakerPipelineUpsert(grantee: iam.IGrantable, pipelineName: string, projectId?: string): void {
  const scope = grantee instanceof Construct ? grantee : undefined;
  if (!scope) throw new Error('grantSageMakerPipelineUpsert: grantee must be a construct');
  const resources = sageMakerNameVariants(pipelineName, projectId).flatMap(name => [
    sageMakerArn(scope, 'pipeline', name),
    sageMakerArn(scope, 'pipeline', `${name}/execution/*`),
  ]);
  grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: [
      'sagemaker:CreatePipeline',
      'sagemaker:UpdatePipeline',
      'sagemaker:StartPipelineExecution',
      // DescribePipeline and, for `run_pipeline --wait`, DescribePipelineExecution ...
      'sagemaker:DescribePipeline*',
      // ... and the execution's steps, which `--wait` logs (resource: the pipeline execution).
      'sagemaker:ListPipelineExecutionSteps',
      // The SageMaker SDK's upsert compares existing tags before adding new ones.
      'sagemaker:ListTags',
      'sagemaker:AddTags',
    ],
    resources,
  }));
}
