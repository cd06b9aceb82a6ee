import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { ManualApprovalAction } from 'aws-cdk-lib/aws-codepipeline-actions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BuildPipeline, BuildPipelineProps } from '../src/build-pipeline';
import {
  actionsOnAnyResource,
  BUILD_SEED,
  environmentNames,
  environmentValue,
  iamStatements,
  logicalId,
  overlyBroadStatements,
  productStack,
  productTemplate,
  projectStack,
  propertiesOf,
  stageLayout,
} from './util/pipeline-fixtures';

const BUILD_ENVIRONMENT = [
  'ARTIFACT_BUCKET',
  'ARTIFACT_BUCKET_KMS_ID',
  'AWS_REGION',
  'MODEL_PACKAGE_GROUP_NAME',
  'SAGEMAKER_PIPELINE_DESCRIPTION',
  'SAGEMAKER_PIPELINE_NAME',
  'SAGEMAKER_PIPELINE_ROLE_ARN',
  'SAGEMAKER_PROJECT_ID',
  'SAGEMAKER_PROJECT_NAME',
];

function sageMakerArn(resource: string) {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}`]] };
}

function statementsOf(template: Template, role: iam.IRole) {
  const roleId = logicalId(role);
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
  return iamStatements(template).filter(statement => statement.policy in policies);
}

describe('BuildPipeline with defaults and the design document\'s manual approval', () => {
  const { stack, artifactBucket } = projectStack();
  const build = new BuildPipeline(stack, 'Build', {
    projectName: 'churn',
    projectId: 'p-1a2b3c4d5e6f',
    modelPackageGroupName: 'churn-p-1a2b3c4d5e6f',
    artifactBucket,
    seedCode: BUILD_SEED,
  });
  // DEVELOPER_GUIDE.md: a manual approval after the SageMaker pipeline action.
  build.buildStage.addAction(new ManualApprovalAction({
    actionName: 'Manual_Approval',
    runOrder: 2,
    additionalInformation: 'Manual Approval to confirm SM Pipeline ran successfully',
  }));
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, build.pipeline);
  const project = propertiesOf(template, build.sageMakerPipelineProject);

  test('is a V2 pipeline: Source, then Build with SMPipeline and the added Manual_Approval after it', () => {
    expect(pipeline.PipelineType).toBe('V2');
    expect(pipeline.Name).toBe('churn-build');
    expect(stageLayout(pipeline)).toEqual([
      ['Source', [['CodeCommit', 1]]],
      ['Build', [['SMPipeline', 1], ['Manual_Approval', 2]]],
    ]);
    expect(pipeline.Stages[1].Actions[1].ActionTypeId).toMatchObject({ Category: 'Approval', Provider: 'Manual' });
    expect(build.dockerBuildProject).toBeUndefined();
  });

  test('the source is the seeded repository on main, and a push to main starts the pipeline', () => {
    const source = pipeline.Stages[0].Actions[0];
    expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'CodeCommit' });
    expect(source.Configuration).toEqual({
      RepositoryName: { 'Fn::GetAtt': [logicalId(build.repository), 'Name'] },
      BranchName: 'main',
      PollForSourceChanges: false,
    });
    expect(source.OutputArtifacts).toEqual([{ Name: build.sourceOutput.artifactName }]);
    template.hasResource('AWS::CodeCommit::Repository', {
      Properties: {
        RepositoryName: 'churn-build',
        Code: { BranchName: 'main', S3: { Bucket: 'seed-bucket', Key: 'build_app.zip' } },
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.codecommit'],
        resources: [{ 'Fn::GetAtt': [logicalId(build.repository), 'Arn'] }],
        detail: { referenceName: ['main'] },
      },
      Targets: [Match.objectLike({ Arn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([{ Ref: logicalId(build.pipeline) }])]) }) })],
    });
  });

  test('SMPipeline runs the repository\'s buildspec.yml with exactly the original environment variables', () => {
    const action = pipeline.Stages[1].Actions[0];
    expect(action.Configuration.ProjectName).toEqual({ Ref: logicalId(build.sageMakerPipelineProject) });
    expect(action.InputArtifacts).toEqual([{ Name: build.sourceOutput.artifactName }]);
    expect(project.Source).toEqual({ Type: 'CODEPIPELINE', BuildSpec: 'buildspec.yml' });
    expect(project.Environment).toMatchObject({ Image: 'aws/codebuild/standard:7.0', ComputeType: 'BUILD_GENERAL1_SMALL', PrivilegedMode: false });
    expect(project.TimeoutInMinutes).toBe(60);
    expect(environmentNames(project)).toEqual(BUILD_ENVIRONMENT);
    expect(environmentValue(project, 'SAGEMAKER_PROJECT_NAME')).toBe('churn');
    expect(environmentValue(project, 'SAGEMAKER_PROJECT_ID')).toBe('p-1a2b3c4d5e6f');
    expect(environmentValue(project, 'MODEL_PACKAGE_GROUP_NAME')).toBe('churn-p-1a2b3c4d5e6f');
    expect(environmentValue(project, 'SAGEMAKER_PIPELINE_NAME')).toBe('churn-p-1a2b3c4d5e6f');
    expect(environmentValue(project, 'AWS_REGION')).toEqual({ Ref: 'AWS::Region' });
    expect(environmentValue(project, 'SAGEMAKER_PIPELINE_ROLE_ARN')).toEqual({ 'Fn::GetAtt': [logicalId(build.sageMakerExecutionRole), 'Arn'] });
    expect(environmentValue(project, 'ARTIFACT_BUCKET')).toEqual({ Ref: logicalId(artifactBucket) });
    expect(environmentValue(project, 'ARTIFACT_BUCKET_KMS_ID')).toEqual({ 'Fn::GetAtt': [logicalId(artifactBucket.encryptionKey!), 'Arn'] });
    expect(build.sageMakerPipelineName).toBe('churn-p-1a2b3c4d5e6f');
  });

  test('the SMPipeline build may upsert and start only its SageMaker pipeline, and pass only the execution role', () => {
    const statements = statementsOf(template, build.sageMakerPipelineProject.role!);
    const sageMaker = statements.filter(s => [s.Action].flat().some(a => a.startsWith('sagemaker:')));
    expect(sageMaker).toEqual([expect.objectContaining({
      Action: [
        'sagemaker:CreatePipeline',
        'sagemaker:UpdatePipeline',
        'sagemaker:StartPipelineExecution',
        'sagemaker:DescribePipeline*',
        'sagemaker:ListPipelineExecutionSteps',
        'sagemaker:ListTags',
        'sagemaker:AddTags',
      ],
      Resource: [sageMakerArn('pipeline/churn-p-1a2b3c4d5e6f'), sageMakerArn('pipeline/churn-p-1a2b3c4d5e6f/execution/*')],
    })]);
    const passRole = statements.filter(s => [s.Action].flat().includes('iam:PassRole'));
    expect(passRole).toEqual([expect.objectContaining({
      Resource: { 'Fn::GetAtt': [logicalId(build.sageMakerExecutionRole), 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    })]);
    // Read and write of the artifact bucket and its key (the SDK uploads the step scripts).
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['s3:PutObject', 's3:GetObject*']),
      Resource: [{ 'Fn::GetAtt': [logicalId(artifactBucket), 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(artifactBucket), 'Arn'] }, '/*']] }],
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
      Resource: { 'Fn::GetAtt': [logicalId(artifactBucket.encryptionKey!), 'Arn'] },
    }));
  });

  test('the SageMaker execution role is for SageMaker and may only do what the pipeline steps need', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }] },
    });
    const role = template.toJSON().Resources[logicalId(build.sageMakerExecutionRole)];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.RoleName).toBeUndefined();

    const statements = statementsOf(template, build.sageMakerExecutionRole);
    const byAction = (action: string) => statements.filter(s => [s.Action].flat().includes(action));
    expect(byAction('sagemaker:CreateTrainingJob')).toEqual([expect.objectContaining({
      Resource: [sageMakerArn('processing-job/pipelines-*'), sageMakerArn('training-job/pipelines-*')],
    })]);
    expect(byAction('sagemaker:CreateProcessingJob')).toHaveLength(1);
    expect(byAction('sagemaker:CreateModelPackage')).toEqual([expect.objectContaining({
      Resource: sageMakerArn('model-package/churn-p-1a2b3c4d5e6f/*'),
    })]);
    expect(byAction('sagemaker:DescribeModelPackageGroup')).toEqual([expect.objectContaining({
      Resource: sageMakerArn('model-package-group/churn-p-1a2b3c4d5e6f'),
    })]);
    // Jobs of other pipelines (every project's jobs are pipelines-*): only by the execution tag.
    const ownExecutions = { 'aws:ResourceTag/sagemaker:pipeline-execution-arn': [sageMakerArn('pipeline/churn-p-1a2b3c4d5e6f/execution/*')] };
    expect(byAction('sagemaker:StopTrainingJob')).toEqual([expect.objectContaining({ Condition: { StringLikeIfExists: ownExecutions } })]);
    expect(byAction('sagemaker:DescribeProcessingJob')).toEqual([expect.objectContaining({ Condition: { StringLikeIfExists: ownExecutions } })]);
    expect(byAction('sagemaker:AddTags')).toContainEqual(expect.objectContaining({
      Resource: [sageMakerArn('processing-job/pipelines-*'), sageMakerArn('training-job/pipelines-*')],
      Condition: { StringLikeIfExists: ownExecutions },
    }));
    // Logs: the streams of pipeline jobs in the processing and training job groups, no other group.
    const logs = (rest: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:log-group:/aws/sagemaker/${rest}`]] });
    expect(byAction('logs:PutLogEvents')).toEqual([expect.objectContaining({
      Resource: [logs('ProcessingJobs:log-stream:pipelines-*'), logs('TrainingJobs:log-stream:pipelines-*')],
    })]);
    expect(byAction('logs:CreateLogGroup')).toEqual([expect.objectContaining({
      Resource: [logs('ProcessingJobs'), logs('ProcessingJobs:*'), logs('TrainingJobs'), logs('TrainingJobs:*')],
    })]);
    expect(byAction('ecr:BatchGetImage')).toEqual([expect.objectContaining({
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:', { Ref: 'AWS::Region' }, ':*:repository/sagemaker-*']] },
    })]);
    expect(byAction('iam:PassRole')).toEqual([expect.objectContaining({
      Resource: { 'Fn::GetAtt': [logicalId(build.sageMakerExecutionRole), 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    })]);
    expect(byAction('s3:PutObject')).toHaveLength(1);
    expect(byAction('kms:GenerateDataKey*')).toEqual([expect.objectContaining({ Resource: { 'Fn::GetAtt': [logicalId(artifactBucket.encryptionKey!), 'Arn'] } })]);
  });

  test('no statement allows every action or passes any role; "*" resources only where AWS has no resource', () => {
    expect(overlyBroadStatements(template)).toEqual([]);
    expect(actionsOnAnyResource(template)).toEqual(['ecr:GetAuthorizationToken']);
  });

  test('the default pipeline artifact bucket is KMS encrypted and TLS only', () => {
    const bucketId = logicalId(build.pipeline.artifactBucket);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
    });
    expect(template.toJSON().Resources[bucketId].Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.resourceCountIs('AWS::KMS::Alias', 0);
  });
});

describe('BuildPipeline with every option set', () => {
  const { stack, artifactBucket } = projectStack();
  const artifactKey = new kms.Key(stack, 'OtherKey');
  const pipelineArtifactBucket = new s3.Bucket(stack, 'PipelineBucket');
  const executionRole = iam.Role.fromRoleArn(stack, 'Given', 'arn:aws:iam::111111111111:role/sm-execution', { mutable: false });
  const build = new BuildPipeline(stack, 'Build', {
    projectName: 'Churn',
    projectId: 'p-1',
    modelPackageGroupName: 'Churn-p-1',
    artifactBucket,
    artifactKey,
    seedCode: BUILD_SEED,
    repositoryName: 'churn-model-build',
    branch: 'release/v1',
    repositoryRemovalPolicy: RemovalPolicy.DESTROY,
    pipelineName: 'churn-model-build-pipeline',
    sageMakerPipelineName: 'ChurnPipeline',
    pipelineArtifactBucket,
    sageMakerExecutionRole: executionRole,
    buildImage: codebuild.LinuxBuildImage.STANDARD_6_0,
    computeType: codebuild.ComputeType.MEDIUM,
    timeout: Duration.hours(3),
    environmentVariables: { SAGEMAKER_PIPELINE_DESCRIPTION: 'custom', EXTRA: 'x' },
  });
  const template = Template.fromStack(stack);
  const project = propertiesOf(template, build.sageMakerPipelineProject);

  test('names, branch, removal policy, buckets and build settings follow the props', () => {
    expect(propertiesOf(template, build.pipeline).Name).toBe('churn-model-build-pipeline');
    expect(propertiesOf(template, build.pipeline).ArtifactStore.Location).toEqual({ Ref: logicalId(pipelineArtifactBucket) });
    expect(propertiesOf(template, build.pipeline).Stages[0].Actions[0].Configuration.BranchName).toBe('release/v1');
    template.hasResource('AWS::CodeCommit::Repository', {
      Properties: { RepositoryName: 'churn-model-build', Code: Match.objectLike({ BranchName: 'release/v1' }) },
      DeletionPolicy: 'Delete',
    });
    expect(project.Environment).toMatchObject({ Image: 'aws/codebuild/standard:6.0', ComputeType: 'BUILD_GENERAL1_MEDIUM' });
    expect(project.TimeoutInMinutes).toBe(180);
  });

  test('environment variables are merged over the defaults', () => {
    expect(environmentNames(project)).toEqual([...BUILD_ENVIRONMENT, 'EXTRA'].sort());
    expect(environmentValue(project, 'SAGEMAKER_PIPELINE_DESCRIPTION')).toBe('custom');
    expect(environmentValue(project, 'EXTRA')).toBe('x');
    expect(environmentValue(project, 'SAGEMAKER_PIPELINE_NAME')).toBe('ChurnPipeline');
    expect(environmentValue(project, 'SAGEMAKER_PIPELINE_ROLE_ARN')).toBe('arn:aws:iam::111111111111:role/sm-execution');
    expect(environmentValue(project, 'ARTIFACT_BUCKET_KMS_ID')).toEqual({ 'Fn::GetAtt': [logicalId(artifactKey), 'Arn'] });
  });

  test('a given execution role is used as is: no role for SageMaker is created', () => {
    expect(build.sageMakerExecutionRole).toBe(executionRole);
    template.resourcePropertiesCountIs('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] },
    }, 0);
    const statements = statementsOf(template, build.sageMakerPipelineProject.role!);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'iam:PassRole', Resource: 'arn:aws:iam::111111111111:role/sm-execution' }));
  });

  test('mixed-case literal SageMaker names are also allowed in the lower case SageMaker puts in ARNs', () => {
    const statements = statementsOf(template, build.sageMakerPipelineProject.role!);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['sagemaker:CreatePipeline']),
      Resource: [
        sageMakerArn('pipeline/ChurnPipeline'),
        sageMakerArn('pipeline/ChurnPipeline/execution/*'),
        sageMakerArn('pipeline/churnpipeline'),
        sageMakerArn('pipeline/churnpipeline/execution/*'),
      ],
    }));
  });

  test('an artifact key other than the bucket\'s own is granted too', () => {
    const statements = statementsOf(template, build.sageMakerPipelineProject.role!);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt']),
      Resource: { 'Fn::GetAtt': [logicalId(artifactKey), 'Arn'] },
    }));
  });
});

describe('BuildPipeline bringing its own container', () => {
  const { stack, artifactBucket } = projectStack();
  const ecrRepository = new ecr.Repository(stack, 'Images');
  const build = new BuildPipeline(stack, 'Build', {
    projectName: 'churn',
    projectId: 'p-1',
    modelPackageGroupName: 'churn-p-1',
    artifactBucket,
    seedCode: BUILD_SEED,
    ecrRepository,
  });
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, build.pipeline);
  const repositoryUri = propertiesOf(template, build.sageMakerPipelineProject).Environment.EnvironmentVariables
    .find((v: any) => v.Name === 'ECR_REPO_URI').Value;

  test('a privileged DockerBuild action runs buildspec-docker.yml before SMPipeline', () => {
    expect(stageLayout(pipeline)).toEqual([
      ['Source', [['CodeCommit', 1]]],
      ['Build', [['DockerBuild', 1], ['SMPipeline', 2]]],
    ]);
    expect(pipeline.Stages[1].Actions[0].Configuration.ProjectName).toEqual({ Ref: logicalId(build.dockerBuildProject!) });
    const docker = propertiesOf(template, build.dockerBuildProject!);
    expect(docker.Environment.PrivilegedMode).toBe(true);
    expect(docker.Source.BuildSpec).toBe('buildspec-docker.yml');
  });

  test('both builds get ECR_REPO_URI, the repository\'s URI', () => {
    expect(JSON.stringify(repositoryUri)).toContain(logicalId(ecrRepository));
    expect(environmentNames(propertiesOf(template, build.sageMakerPipelineProject))).toEqual([...BUILD_ENVIRONMENT, 'ECR_REPO_URI'].sort());
    expect(environmentValue(propertiesOf(template, build.dockerBuildProject!), 'ECR_REPO_URI')).toEqual(repositoryUri);
  });

  test('DockerBuild may push to the project repository only; the execution role may pull from it', () => {
    const docker = statementsOf(template, build.dockerBuildProject!.role!);
    const pushes = docker.filter(s => [s.Action].flat().includes('ecr:PutImage'));
    expect(pushes).toEqual([expect.objectContaining({ Resource: { 'Fn::GetAtt': [logicalId(ecrRepository), 'Arn'] } })]);
    const ecrStatements = docker.filter(s => [s.Action].flat().some(a => a.startsWith('ecr:')));
    expect(ecrStatements.map(s => s.Resource)).toEqual([{ 'Fn::GetAtt': [logicalId(ecrRepository), 'Arn'] }, '*']);
    expect(ecrStatements[1].Action).toBe('ecr:GetAuthorizationToken');

    const execution = statementsOf(template, build.sageMakerExecutionRole);
    expect(execution).toContainEqual(expect.objectContaining({
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      Resource: { 'Fn::GetAtt': [logicalId(ecrRepository), 'Arn'] },
    }));
    expect(iamStatements(template).filter(s => [s.Action].flat().includes('ecr:PutImage'))).toHaveLength(1);
  });

  test('no statement allows every action or passes any role', () => {
    expect(overlyBroadStatements(template)).toEqual([]);
    expect(actionsOnAnyResource(template)).toEqual(['ecr:GetAuthorizationToken', 'ecr:GetAuthorizationToken']);
  });
});

describe('BuildPipeline in a Service Catalog product stack', () => {
  const { product, artifactBucket, projectName, projectId } = productStack();
  const build = new BuildPipeline(product, 'Build', {
    projectName,
    projectId,
    modelPackageGroupName: `${projectName}-${projectId}`,
    artifactBucket,
    seedCode: BUILD_SEED,
  });
  const template = productTemplate(product);

  test('names come from the project parameters', () => {
    const join = (suffix: string[]) => ({ 'Fn::Join': ['', suffix.map(part => part.startsWith('@') ? { Ref: part.slice(1) } : part)] });
    expect(propertiesOf(template, build.pipeline).Name).toEqual(join(['@SageMakerProjectName', '-build']));
    template.hasResourceProperties('AWS::CodeCommit::Repository', { RepositoryName: join(['@SageMakerProjectName', '-build']) });
    const project = propertiesOf(template, build.sageMakerPipelineProject);
    expect(environmentValue(project, 'SAGEMAKER_PROJECT_NAME')).toEqual({ Ref: 'SageMakerProjectName' });
    expect(environmentValue(project, 'SAGEMAKER_PIPELINE_NAME')).toEqual(join(['@SageMakerProjectName', '-', '@SageMakerProjectId']));
    expect(overlyBroadStatements(template)).toEqual([]);
  });
});

describe('BuildPipeline rejects bad input', () => {
  const make = (props: Partial<BuildPipelineProps>, bucket?: s3.IBucket) => {
    const { stack, artifactBucket } = projectStack();
    return () => new BuildPipeline(stack, 'Build', {
      projectName: 'churn',
      projectId: 'p-1',
      modelPackageGroupName: 'churn-p-1',
      artifactBucket: bucket ?? artifactBucket,
      seedCode: BUILD_SEED,
      ...props,
    });
  };

  test.each([
    ['feature..x', "it contains '..'"],
    ['my branch', 'it contains a space, a control character or one of ~ ^ : ? * [ \\'],
    ['-x', "it starts with '-'"],
    ['release/', "it has an empty '/'-separated part"],
    ['x.lock', "its part 'x.lock' ends with '.lock'"],
    ['.hidden', "its part '.hidden' starts with '.'"],
    ['', 'it is empty'],
  ])('branch %j', (branch, problem) => {
    expect(make({ branch })).toThrow(`branch '${branch}' is not a valid git branch name (${problem}); use letters, digits and '-', '_', '.', '/'`);
  });

  test('valid branch names are accepted', () => {
    for (const branch of ['main', 'release/v1.2', 'feature/ABC-123_x']) {
      expect(make({ branch })).not.toThrow();
    }
  });

  test('repository, pipeline and SageMaker pipeline names', () => {
    expect(make({ repositoryName: 'a'.repeat(101) })).toThrow(/repositoryName 'a+' is invalid; use 1-100 characters/);
    expect(make({ repositoryName: 'models.git' })).toThrow("repositoryName 'models.git' is invalid; CodeCommit repository names cannot end in '.git'");
    expect(make({ pipelineName: 'has space' })).toThrow("pipelineName 'has space' is invalid; use 1-100 characters: letters, digits, '.', '@', '_' or '-'");
    expect(make({ sageMakerPipelineName: 'under_score' })).toThrow("sageMakerPipelineName 'under_score' is invalid; use 1-256 characters");
  });

  test('an artifact bucket without a KMS key, and no artifactKey', () => {
    const { stack } = projectStack('Other');
    const plain = s3.Bucket.fromBucketName(stack, 'Plain', 'plain-bucket');
    expect(make({}, plain)).toThrow(/artifactBucket '.*Plain' has no encryptionKey; give a bucket encrypted with a KMS key, or pass the key as artifactKey/);
  });
});

describe('BuildPipeline extension points', () => {
  function buildWith(withContainer: boolean, extend: (build: BuildPipeline) => void) {
    const { stack, artifactBucket } = projectStack();
    const build = new BuildPipeline(stack, 'Build', {
      projectName: 'churn',
      projectId: 'p-1a2b3c4d5e6f',
      modelPackageGroupName: 'churn-p-1a2b3c4d5e6f',
      artifactBucket,
      seedCode: BUILD_SEED,
      ecrRepository: withContainer ? new ecr.Repository(stack, 'Repo') : undefined,
    });
    extend(build);
    return stageLayout(propertiesOf(Template.fromStack(stack), build.pipeline)).find(([name]) => name === 'Build')![1];
  }
  const approval = (name: string) => new ManualApprovalAction({ actionName: name, runOrder: 7 });

  test('without extensions the run orders are those of 0.2.0', () => {
    expect(buildWith(false, () => {})).toEqual([['SMPipeline', 1]]);
    expect(buildWith(true, () => {})).toEqual([['DockerBuild', 1], ['SMPipeline', 2]]);
  });

  test('actions before the SageMaker pipeline step run after DockerBuild, each after the previous, and SMPipeline waits for them', () => {
    expect(buildWith(true, build => {
      build.addActionBeforeSageMakerPipeline(approval('First'));
      build.addActionBeforeSageMakerPipeline(approval('Second'));
    })).toEqual([['DockerBuild', 1], ['SMPipeline', 4], ['First', 2], ['Second', 3]]);
  });

  test('actions after the SageMaker pipeline step run after it, also in BYOC (not in parallel with training)', () => {
    expect(buildWith(true, build => {
      build.addActionAfterSageMakerPipeline(approval('Review'));
      build.addActionBeforeSageMakerPipeline(approval('DataCheck'));
      build.addActionAfterSageMakerPipeline(approval('Report'));
    })).toEqual([['DockerBuild', 1], ['SMPipeline', 3], ['Review', 4], ['DataCheck', 2], ['Report', 5]]);
  });
});
