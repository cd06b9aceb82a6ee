import { Stack } from 'aws-cdk-lib';
import {
  BasicProjectTemplate,
  ByocProjectTemplate,
  DynamicAccountsProjectTemplate,
  MLOpsProjectTemplate,
  ProjectPortfolio,
} from '../src';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

/**
 * Run-time roles do what the seed code does: every AWS call that `seed_code/` and the
 * buildspecs make at run time (and that CodePipeline and EventBridge make for the project) is
 * listed below, per role, with the concrete resource it targets for project `my-proj` /
 * `p-abc123` in account 111111111111, eu-west-1. Each call is checked against the role's
 * synthesized policies, evaluated with those parameter values by a small IAM evaluator.
 *
 * How the lists were made. The build and deploy apps' own calls: `run_pipeline` and the deploy
 * app's `app.py` were run with every botocore call intercepted (SageMaker Python SDK 2.257,
 * aws-cdk-lib for Python), on both the create and the update path of `pipeline.upsert` and with
 * `--wait`. Left out are calls no policy governs: `sts:GetCallerIdentity` (always allowed) and
 * the SDK's telemetry GET (unsigned); and on purpose `s3:ListAllMyBuckets` (the SDK's
 * `ListBuckets` before it checks the default bucket), where the SDK takes AccessDenied and falls
 * back to `HeadBucket` (`s3:ListBucket` on the bucket), which is listed. What SageMaker does as
 * the execution role follows the pipeline definition the SDK produces (steps, images, S3 paths,
 * `output_kms_key`) and what SageMaker documents an execution role needs for those jobs; that
 * side, like CodeBuild, CodePipeline and EventBridge, cannot be run offline.
 */

// ---------------------------------------------------------------------------------------------
// The project and account the calls are made for.

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const PROJECT_NAME = 'my-proj';
const PROJECT_ID = 'p-abc123';
const GROUP = `${PROJECT_NAME}-${PROJECT_ID}`; // model package group and SageMaker pipeline
const ARTIFACT_BUCKET = `mlops-${PROJECT_ID}-${ACCOUNT}-${REGION}`;
const PIPELINE_BUCKET = `mlops-pipeline-${PROJECT_ID}-${ACCOUNT}-${REGION}`;
const ECR_REPOSITORY = `mlops-${PROJECT_ID}`;
/** AWS's account for SageMaker's own images in eu-west-1 (scikit-learn and XGBoost). */
const SAGEMAKER_IMAGES_ACCOUNT = '141502667606';
/** An execution id and the job names SageMaker Pipelines gives steps (lower case in ARNs). */
const EXECUTION = 'a1b2c3d4e5f6';
const job = (step: string) => `pipelines-${EXECUTION}-${step.toLowerCase()}-k2j4h6g8f0`;

const PARAMETERS: Record<string, string> = {
  'SageMakerProjectName': PROJECT_NAME,
  'SageMakerProjectId': PROJECT_ID,
  'PreProdAccount': '444444444444',
  'ProdAccount': '555555555555',
  'DeploymentRegion': REGION,
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'SC-111111111111-pp-abcdefghijklm',
};

// ---------------------------------------------------------------------------------------------
// Evaluating a template for those values.

type Json = any;

/** `Ref: AWS::NoValue`: removes the property or list item it stands in. */
const NO_VALUE = Symbol('AWS::NoValue');

/** A synthesized product template, evaluated for the parameter values above. */
class EvaluatedTemplate {
  constructor(readonly json: Json, private readonly parameters: Record<string, string>) {}

  get resources(): Record<string, Json> { return this.json.Resources; }

  /** The logical id of the one resource whose id is `prefix` plus CDK's 8-character hash. */
  id(prefix: string): string {
    const ids = Object.keys(this.resources).filter(id => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
    if (ids.length !== 1) throw new Error(`${ids.length} resources named ${prefix}*: ${ids.join(', ')}`);
    return ids[0];
  }

  has(prefix: string): boolean {
    return Object.keys(this.resources).some(id => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  }

  /** What CloudFormation makes of a value. */
  value(v: Json): Json {
    const result = this.evaluate(v);
    if (result === NO_VALUE) throw new Error('AWS::NoValue where a value is needed');
    return result;
  }

  private evaluate(v: Json): Json {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return v.map(x => this.evaluate(x)).filter(x => x !== NO_VALUE);
    if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::') || keys[0] === 'Condition')) {
        const [fn] = keys;
        const arg = v[fn];
        switch (fn) {
          case 'Ref': return arg === 'AWS::NoValue' ? NO_VALUE : this.ref(arg);
          case 'Fn::Join': return this.value(arg[1]).join(arg[0]);
          case 'Fn::GetAtt': return this.attribute(arg[0], arg[1]);
          case 'Fn::Select': return this.value(arg[1])[Number(this.value(arg[0]))];
          case 'Fn::Split': return this.value(arg[1]).split(arg[0]);
          case 'Fn::Sub': {
            const [text, variables] = typeof arg === 'string' ? [arg, {}] : arg;
            return text.replace(/\$\{([^}!]+)\}/g, (_: string, name: string) => {
              if (name in variables) return this.value(variables[name]);
              const [id, attribute] = name.split('.');
              return attribute ? this.attribute(id, attribute) : this.ref(id);
            });
          }
          case 'Fn::If': return this.evaluate(this.condition(arg[0]) ? arg[1] : arg[2]);
          default: throw new Error(`cannot evaluate ${fn}`);
        }
      }
      return Object.fromEntries(keys.map(k => [k, this.evaluate(v[k])]).filter(([, x]) => x !== NO_VALUE));
    }
    throw new Error(`cannot evaluate ${JSON.stringify(v)}`);
  }

  /** Whether a template condition holds. */
  condition(name: string): boolean {
    const definition = this.json.Conditions?.[name];
    if (definition === undefined) throw new Error(`no condition ${name}`);
    return this.conditionValue(definition);
  }

  private conditionValue(v: Json): boolean {
    const [fn] = Object.keys(v);
    const arg = v[fn];
    switch (fn) {
      case 'Condition': return this.condition(arg);
      case 'Fn::Equals': return this.value(arg[0]) === this.value(arg[1]);
      case 'Fn::Not': return !this.conditionValue(arg[0]);
      case 'Fn::And': return arg.every((c: Json) => this.conditionValue(c));
      case 'Fn::Or': return arg.some((c: Json) => this.conditionValue(c));
      default: throw new Error(`cannot evaluate condition ${fn}`);
    }
  }

  private ref(name: string): string {
    if (name in this.parameters) return this.parameters[name];
    const resource = this.resources[name];
    if (!resource) throw new Error(`no value for Ref ${name}`);
    const props = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::S3::Bucket': return this.value(props.BucketName);
      case 'AWS::IAM::Role': return this.generatedName(name, props.RoleName);
      case 'AWS::CodeBuild::Project': return this.generatedName(name, props.Name);
      case 'AWS::CodePipeline::Pipeline': return this.value(props.Name);
      case 'AWS::ECR::Repository': return this.value(props.RepositoryName);
      case 'AWS::SSM::Parameter': return this.value(props.Name);
      case 'AWS::KMS::Key': return `${name.toLowerCase()}-0000-4000-8000-000000000000`;
      default: throw new Error(`no Ref for ${resource.Type}`);
    }
  }

  private attribute(id: string, attribute: string): string {
    const resource = this.resources[id];
    if (!resource) throw new Error(`no resource ${id}`);
    if (attribute !== 'Arn') throw new Error(`no attribute ${attribute} of ${id}`);
    const props = resource.Properties ?? {};
    const arn = (service: string, rest: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${rest}`;
    switch (resource.Type) {
      case 'AWS::S3::Bucket': return `arn:aws:s3:::${this.ref(id)}`;
      case 'AWS::IAM::Role': return `arn:aws:iam::${ACCOUNT}:role${props.Path ?? '/'}${this.ref(id)}`;
      case 'AWS::KMS::Key': return arn('kms', `key/${this.ref(id)}`);
      case 'AWS::CodeBuild::Project': return arn('codebuild', `project/${this.ref(id)}`);
      case 'AWS::CodeCommit::Repository': return arn('codecommit', this.value(props.RepositoryName));
      case 'AWS::ECR::Repository': return arn('ecr', `repository/${this.ref(id)}`);
      default: throw new Error(`no Arn for ${resource.Type}`);
    }
  }

  /** A name CloudFormation generates when the template gives none. */
  private generatedName(id: string, given: Json): string {
    return given === undefined ? `${id}-GEN0RATED` : this.value(given);
  }

  /** Every statement of the identity policies of a role: inline, attached and its own. */
  identityStatements(roleId: string): Json[] {
    const role = this.resources[roleId];
    if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
    // Managed policies from outside the template, and boundaries, cannot be read here.
    if (role.Properties.ManagedPolicyArns) throw new Error(`${roleId} has managed policies this test cannot read`);
    if (role.Properties.PermissionsBoundary) throw new Error(`${roleId} has a permissions boundary this test cannot read`);
    const docs: Json[] = (role.Properties.Policies ?? []).map((p: Json) => p.PolicyDocument);
    for (const resource of Object.values(this.resources)) {
      if (resource.Type !== 'AWS::IAM::Policy' && resource.Type !== 'AWS::IAM::ManagedPolicy') continue;
      if ((resource.Properties.Roles ?? []).some((r: Json) => r.Ref === roleId)) docs.push(resource.Properties.PolicyDocument);
    }
    return docs.flatMap(doc => [doc.Statement].flat()).map(s => this.value(s));
  }

  /** The statements of a resource's own policy (bucket, key, repository, model package group). */
  resourceStatements(resourceId: string): Json[] {
    const resource = this.resources[resourceId];
    let doc: Json;
    if (resource.Type === 'AWS::S3::Bucket') {
      const policy = Object.values(this.resources).find(r => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === resourceId);
      doc = policy?.Properties.PolicyDocument;
    } else {
      const p = resource.Properties;
      doc = p.KeyPolicy ?? p.RepositoryPolicyText ?? p.ModelPackageGroupPolicy;
    }
    if (!doc) throw new Error(`${resourceId} has no resource policy`);
    return [doc.Statement].flat().map(s => this.value(s));
  }
}

// ---------------------------------------------------------------------------------------------
// A small IAM policy evaluator.

/** IAM's wildcards: `*` any run of characters, `?` one character. */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern.split('').map(c => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

const list = (v: Json): Json[] => (v === undefined ? [] : [v].flat());

/** What the request carries besides action and resource. TLS is always on. */
type Context = Record<string, string>;

function conditionsHold(condition: Json, context: Context): boolean {
  return Object.entries<Json>(condition ?? {}).every(([operator, entries]) =>
    Object.entries<Json>(entries).every(([key, expected]) => {
      const actual = context[key];
      if (operator === 'Null') return String(expected) === String(actual === undefined);
      // Without the key in the request, only ...IfExists holds.
      if (actual === undefined) return operator.endsWith('IfExists');
      const values = list(expected).map(String);
      switch (operator.replace(/IfExists$/, '')) {
        case 'StringEquals': case 'ArnEquals': case 'Bool': return values.includes(actual);
        case 'StringLike': case 'ArnLike': return values.some(v => wildcard(v, actual));
        case 'StringNotEquals': return !values.includes(actual);
        default: throw new Error(`condition operator ${operator} is not evaluated by this test`);
      }
    }));
}

interface Request {
  readonly action: string;
  readonly resource: string;
  readonly context?: Context;
  /** For resource policies: who asks. */
  readonly principal?: string;
}

function statementMatches(s: Json, request: Request): boolean {
  if (s.NotAction || s.NotResource || s.NotPrincipal) throw new Error(`Not* elements are not evaluated by this test: ${JSON.stringify(s)}`);
  if (!list(s.Action).some(a => wildcard(a, request.action, true))) return false;
  // A resource policy statement without Resource is about the resource it is attached to.
  if (s.Resource !== undefined && !list(s.Resource).some(r => wildcard(r, request.resource))) return false;
  if (s.Principal !== undefined && !principalMatches(s.Principal, request.principal)) return false;
  return conditionsHold(s.Condition, { 'aws:SecureTransport': 'true', ...request.context });
}

function principalMatches(principal: Json, who: string | undefined): boolean {
  if (who === undefined) return false;
  if (principal === '*') return true;
  return list(principal.AWS).some((p: string) => {
    if (p === '*' || p === who) return true;
    // An account principal stands for every principal of the account.
    const account = /^arn:aws:iam::(\d{12}):root$/.exec(p)?.[1];
    return account !== undefined && new RegExp(`^arn:aws:(iam|sts)::${account}:`).test(who);
  });
}

/** Allowed: some Allow statement matches and no Deny statement does. */
function allowed(statements: Json[], request: Request): boolean {
  const matching = statements.filter(s => statementMatches(s, request));
  return matching.some(s => s.Effect === 'Allow') && !matching.some(s => s.Effect === 'Deny');
}

// ---------------------------------------------------------------------------------------------
// The calls, one table per role.

/**
 * One AWS call: where it is made, the IAM action, and the resource it targets. `{Name}` in a
 * resource stands for the physical name or id of the template's resource `Name<hash>` that
 * CloudFormation generates (a CodeBuild project's name, a role's name, a key's id).
 */
interface Call {
  readonly site: string;
  readonly action: string;
  readonly resource: string;
  /** Request context, e.g. the service a role is passed to (`iam:PassedToService`). */
  readonly context?: Context;
}

const arn = (service: string, rest: string, account = ACCOUNT) => `arn:aws:${service}:${REGION}:${account}:${rest}`;
const PROJECT_KEY = arn('kms', 'key/{ProjectKey}');
const SAGEMAKER_PIPELINE = arn('sagemaker', `pipeline/${GROUP}`);
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/sagemaker-project-templates/{BuildPipelineSageMakerExecutionRole}`;
const PASS_TO_SAGEMAKER = { 'iam:PassedToService': 'sagemaker.amazonaws.com' };
/** The tag SageMaker Pipelines puts on the jobs its steps start: the ARN of the execution. */
const jobOf = (pipelineArn: string, execution: string = EXECUTION) => ({ 'aws:ResourceTag/sagemaker:pipeline-execution-arn': `${pipelineArn}/execution/${execution}` });
const OWN_JOB = jobOf(SAGEMAKER_PIPELINE);
/** Objects CodePipeline stores: `<pipeline name, 20 chars>/<artifact name, 10 chars>/<random>`. */
const pipelineObject = (pipeline: string, artifact: string) => `arn:aws:s3:::${PIPELINE_BUCKET}/${pipeline.slice(0, 20)}/${artifact.slice(0, 10)}/Xy12AbC`;

/** What every CodeBuild project of a pipeline does around its buildspec. */
function codeBuildRun(project: string, pipeline: string, output?: string): Call[] {
  const logGroup = arn('logs', `log-group:/aws/codebuild/{${project}}`);
  const calls: Call[] = [
    { site: 'CodeBuild: download the input artifact', action: 's3:GetObject', resource: pipelineObject(pipeline, 'SourceOutput') },
    { site: 'CodeBuild: download the input artifact', action: 'kms:Decrypt', resource: PROJECT_KEY },
    { site: 'CodeBuild: build logs', action: 'logs:CreateLogGroup', resource: logGroup },
    { site: 'CodeBuild: build logs', action: 'logs:CreateLogStream', resource: `${logGroup}:log-stream:0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0` },
    { site: 'CodeBuild: build logs', action: 'logs:PutLogEvents', resource: `${logGroup}:log-stream:0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0` },
  ];
  if (output) {
    calls.push(
      { site: 'CodeBuild: upload the output artifact', action: 's3:PutObject', resource: pipelineObject(pipeline, output) },
      { site: 'CodeBuild: upload the output artifact', action: 'kms:GenerateDataKey', resource: PROJECT_KEY },
    );
  }
  return calls;
}

const artifactObject = (key: string) => `arn:aws:s3:::${ARTIFACT_BUCKET}/${key}`;
const CODE_PREFIX = `${GROUP}/code/a88ab1588afb5bbb744e5576f85593902d130c28c12c8daed22339a4747715e3`;

/** CodeBuild project `SMPipeline`: buildspec.yml → ml_pipelines/run_pipeline.py. */
const SM_PIPELINE_BUILD: Call[] = [
  ...codeBuildRun('BuildPipelineSageMakerPipelineProject', `${PROJECT_NAME}-build`),
  { site: 'run_pipeline.main → get_session: PipelineSession checks default_bucket (HeadBucket)', action: 's3:ListBucket', resource: `arn:aws:s3:::${ARTIFACT_BUCKET}` },
  { site: 'pipeline.upsert → definition(): SDK uploads preprocess.py', action: 's3:PutObject', resource: artifactObject(`${CODE_PREFIX}/preprocess.py`) },
  { site: 'pipeline.upsert → definition(): SDK uploads evaluate.py', action: 's3:PutObject', resource: artifactObject(`${CODE_PREFIX}/evaluate.py`) },
  { site: 'pipeline.upsert → definition(): upload to the SSE-KMS bucket', action: 'kms:GenerateDataKey', resource: PROJECT_KEY },
  { site: 'pipeline.upsert → CreatePipeline', action: 'sagemaker:CreatePipeline', resource: SAGEMAKER_PIPELINE },
  { site: 'pipeline.upsert → CreatePipeline with Tags (project tags)', action: 'sagemaker:AddTags', resource: SAGEMAKER_PIPELINE },
  { site: 'pipeline.upsert → CreatePipeline/UpdatePipeline RoleArn', action: 'iam:PassRole', resource: EXECUTION_ROLE, context: PASS_TO_SAGEMAKER },
  { site: 'pipeline.upsert (pipeline exists) → UpdatePipeline', action: 'sagemaker:UpdatePipeline', resource: SAGEMAKER_PIPELINE },
  { site: 'pipeline.upsert (pipeline exists) → ListTags', action: 'sagemaker:ListTags', resource: SAGEMAKER_PIPELINE },
  { site: 'pipeline.upsert (pipeline exists) → AddTags', action: 'sagemaker:AddTags', resource: SAGEMAKER_PIPELINE },
  { site: 'pipeline.start → StartPipelineExecution', action: 'sagemaker:StartPipelineExecution', resource: SAGEMAKER_PIPELINE },
  { site: 'run_pipeline --wait → execution.wait: DescribePipelineExecution', action: 'sagemaker:DescribePipelineExecution', resource: `${SAGEMAKER_PIPELINE}/execution/${EXECUTION}` },
  { site: 'run_pipeline --wait → execution.list_steps: ListPipelineExecutionSteps', action: 'sagemaker:ListPipelineExecutionSteps', resource: `${SAGEMAKER_PIPELINE}/execution/${EXECUTION}` },
];

/** CodeBuild project `DockerBuild` (BYOC): buildspec-docker.yml → scripts/build_and_push.sh. */
const DOCKER_BUILD: Call[] = [
  ...codeBuildRun('BuildPipelineDockerBuildProject', `${PROJECT_NAME}-build`),
  // No resource-level permissions: the request's resource is '*'.
  { site: 'build_and_push.sh: aws ecr get-login-password', action: 'ecr:GetAuthorizationToken', resource: '*' },
  ...['ecr:BatchCheckLayerAvailability', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'].map(action => ({
    site: 'build_and_push.sh: docker push $ECR_REPO_URI:<commit> and :latest', action, resource: arn('ecr', `repository/${ECR_REPOSITORY}`),
  })),
];

/** SageMaker execution role: what SageMaker Pipelines and the jobs of ml_pipelines/abalone/pipeline.py do. */
function sageMakerExecution(byoc: boolean): Call[] {
  const images = byoc
    ? { preprocess: arn('ecr', 'repository/sagemaker-scikit-learn', SAGEMAKER_IMAGES_ACCOUNT), model: arn('ecr', `repository/${ECR_REPOSITORY}`) }
    : { preprocess: arn('ecr', 'repository/sagemaker-scikit-learn', SAGEMAKER_IMAGES_ACCOUNT), model: arn('ecr', 'repository/sagemaker-xgboost', SAGEMAKER_IMAGES_ACCOUNT) };
  const output = (step: string, file: string) => artifactObject(`${GROUP}/${EXECUTION}/${step}/output/${file}`);
  const pull = (step: string, image: string): Call[] => [
    ...['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'].map(action => ({ site: `${step}: pull the image`, action, resource: image })),
    { site: `${step}: pull the image`, action: 'ecr:GetAuthorizationToken', resource: '*' },
  ];
  const logs = (step: string, group: string, jobName: string): Call[] => [
    { site: `${step}: job logs`, action: 'logs:CreateLogGroup', resource: arn('logs', `log-group:/aws/sagemaker/${group}`) },
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map(action => ({
      site: `${step}: job logs`, action, resource: arn('logs', `log-group:/aws/sagemaker/${group}:log-stream:${jobName}/algo-1-1700000000`),
    })),
  ];
  const preprocess = job('PreprocessAbaloneData');
  const train = job('TrainAbaloneModel');
  const evaluate = job('EvaluateAbaloneModel');
  return [
    // PreprocessAbaloneData (ProcessingStep, SKLearnProcessor).
    { site: 'PreprocessAbaloneData: CreateProcessingJob', action: 'sagemaker:CreateProcessingJob', resource: arn('sagemaker', `processing-job/${preprocess}`) },
    { site: 'PreprocessAbaloneData: CreateProcessingJob with tags', action: 'sagemaker:AddTags', resource: arn('sagemaker', `processing-job/${preprocess}`) },
    { site: 'PreprocessAbaloneData: job RoleArn (this role)', action: 'iam:PassRole', resource: EXECUTION_ROLE, context: PASS_TO_SAGEMAKER },
    { site: 'PreprocessAbaloneData: the pipeline watches the job', action: 'sagemaker:DescribeProcessingJob', resource: arn('sagemaker', `processing-job/${preprocess}`), context: OWN_JOB },
    ...pull('PreprocessAbaloneData', images.preprocess),
    { site: 'PreprocessAbaloneData: code input', action: 's3:GetObject', resource: artifactObject(`${CODE_PREFIX}/preprocess.py`) },
    { site: 'PreprocessAbaloneData: code input (SSE-KMS)', action: 'kms:Decrypt', resource: PROJECT_KEY },
    { site: 'preprocess.py download_from_s3: default InputDataUrl', action: 's3:GetObject', resource: 'arn:aws:s3:::sagemaker-sample-files/datasets/tabular/uci_abalone/abalone.csv' },
    { site: 'PreprocessAbaloneData: outputs train/validation/test', action: 's3:PutObject', resource: output('PreprocessAbaloneData', 'train/train.csv') },
    { site: 'PreprocessAbaloneData: outputs (output_kms_key)', action: 'kms:GenerateDataKey', resource: PROJECT_KEY },
    ...logs('PreprocessAbaloneData', 'ProcessingJobs', preprocess),
    // TrainAbaloneModel (TrainingStep, Estimator).
    { site: 'TrainAbaloneModel: CreateTrainingJob', action: 'sagemaker:CreateTrainingJob', resource: arn('sagemaker', `training-job/${train}`) },
    { site: 'TrainAbaloneModel: CreateTrainingJob with tags', action: 'sagemaker:AddTags', resource: arn('sagemaker', `training-job/${train}`) },
    { site: 'TrainAbaloneModel: the pipeline watches the job', action: 'sagemaker:DescribeTrainingJob', resource: arn('sagemaker', `training-job/${train}`), context: OWN_JOB },
    ...pull('TrainAbaloneModel', images.model),
    { site: 'TrainAbaloneModel: train/validation channels (S3Prefix)', action: 's3:ListBucket', resource: `arn:aws:s3:::${ARTIFACT_BUCKET}` },
    { site: 'TrainAbaloneModel: train/validation channels', action: 's3:GetObject', resource: output('PreprocessAbaloneData', 'train/train.csv') },
    { site: 'TrainAbaloneModel: model.tar.gz, debugger/profiler output', action: 's3:PutObject', resource: artifactObject(`${GROUP}/models/${train}/output/model.tar.gz`) },
    { site: 'TrainAbaloneModel: output (output_kms_key)', action: 'kms:GenerateDataKey', resource: PROJECT_KEY },
    ...logs('TrainAbaloneModel', 'TrainingJobs', train),
    // EvaluateAbaloneModel (ProcessingStep, ScriptProcessor).
    { site: 'EvaluateAbaloneModel: CreateProcessingJob', action: 'sagemaker:CreateProcessingJob', resource: arn('sagemaker', `processing-job/${evaluate}`) },
    ...pull('EvaluateAbaloneModel', images.model),
    { site: 'EvaluateAbaloneModel: model and test inputs', action: 's3:GetObject', resource: artifactObject(`${GROUP}/models/${train}/output/model.tar.gz`) },
    { site: 'EvaluateAbaloneModel: inputs (SSE-KMS)', action: 'kms:Decrypt', resource: PROJECT_KEY },
    { site: 'EvaluateAbaloneModel: evaluation.json', action: 's3:PutObject', resource: output('EvaluateAbaloneModel', 'evaluation/evaluation.json') },
    // CheckMseEvaluation reads the property file; RegisterAbaloneModel (ModelStep, model.register).
    { site: 'CheckMseEvaluation: JsonGet of evaluation.json', action: 's3:GetObject', resource: output('EvaluateAbaloneModel', 'evaluation/evaluation.json') },
    { site: 'RegisterAbaloneModel: CreateModelPackage in the group', action: 'sagemaker:CreateModelPackage', resource: arn('sagemaker', `model-package/${GROUP}/1`) },
    { site: 'RegisterAbaloneModel: the group', action: 'sagemaker:DescribeModelPackageGroup', resource: arn('sagemaker', `model-package-group/${GROUP}`) },
  ];
}

/** CodeBuild project `Synth` of the deploy pipeline: buildspec.yml → cdk synth → app.py. */
const SYNTH_BUILD: Call[] = [
  ...codeBuildRun('DeployPipelineSynthProject', `${PROJECT_NAME}-deploy`, 'SynthOutput'),
  // No resource-level permissions: the request's resource is '*'.
  { site: 'aws_lookups.ModelRegistry.latest_approved: list_model_packages', action: 'sagemaker:ListModelPackages', resource: '*' },
  { site: 'aws_lookups.ModelRegistry.latest_approved: describe_model_package', action: 'sagemaker:DescribeModelPackage', resource: arn('sagemaker', `model-package/${GROUP}/3`) },
  ...['dev', 'preprod', 'prod'].flatMap(stage => ['account_id', 'region'].map(name => ({
    site: `aws_lookups.StageLocator.locate('${stage}'): get_parameters`, action: 'ssm:GetParameters', resource: arn('ssm', `parameter/mlops/${PROJECT_NAME}/${stage}/${name}`),
  }))),
];

/** CodeBuild project `SecurityScan`: checkov over the synth output. */
const SECURITY_SCAN_BUILD: Call[] = codeBuildRun('DeployPipelineSecurityScanProject', `${PROJECT_NAME}-deploy`)
  .map(call => call.action === 's3:GetObject' ? { ...call, resource: pipelineObject(`${PROJECT_NAME}-deploy`, 'SynthOutput') } : call);

/** A CodePipeline's own role and its action roles. */
function pipelineCalls(prefix: 'BuildPipeline' | 'DeployPipeline', actions: string[], repository: string): Record<string, Call[]> {
  const pipeline = `${PROJECT_NAME}-${prefix === 'BuildPipeline' ? 'build' : 'deploy'}`;
  const artifacts: Call[] = [
    { site: 'CodePipeline: artifacts', action: 's3:GetObject', resource: pipelineObject(pipeline, 'SourceOutput') },
    { site: 'CodePipeline: artifacts', action: 's3:PutObject', resource: pipelineObject(pipeline, 'SourceOutput') },
    { site: 'CodePipeline: artifacts', action: 'kms:Decrypt', resource: PROJECT_KEY },
    { site: 'CodePipeline: artifacts', action: 'kms:GenerateDataKey', resource: PROJECT_KEY },
  ];
  const calls: Record<string, Call[]> = {
    [`${prefix}Role`]: [
      ...artifacts,
      { site: 'CodePipeline: Source action', action: 'sts:AssumeRole', resource: `arn:aws:iam::${ACCOUNT}:role/sagemaker-project-templates/{${prefix}SourceCodeCommitCodePipelineActionRole}` },
      ...actions.map(action => ({ site: `CodePipeline: ${action} action`, action: 'sts:AssumeRole', resource: `arn:aws:iam::${ACCOUNT}:role/sagemaker-project-templates/{${prefix}${action}CodePipelineActionRole}` })),
    ],
    [`${prefix}SourceCodeCommitCodePipelineActionRole`]: [
      ...['codecommit:GetBranch', 'codecommit:GetCommit', 'codecommit:UploadArchive', 'codecommit:GetUploadArchiveStatus'].map(action => ({
        site: 'Source action: CodeCommit branch main', action, resource: arn('codecommit', repository),
      })),
      { site: 'Source action: store SourceOutput', action: 's3:PutObject', resource: pipelineObject(pipeline, 'SourceOutput') },
      { site: 'Source action: store SourceOutput', action: 'kms:GenerateDataKey', resource: PROJECT_KEY },
    ],
  };
  for (const action of actions.filter(a => !a.includes('Approve'))) {
    const project = {
      BuildSMPipeline: 'SageMakerPipelineProject',
      BuildDockerBuild: 'DockerBuildProject',
      BuildSynth: 'SynthProject',
      BuildSecurityScan: 'SecurityScanProject',
      DeployPreProdDeployCFNPreProd: 'StageDeploymentProjectPreProd',
      DeployProdDeployCFNProd: 'StageDeploymentProjectProd',
    }[action]!;
    calls[`${prefix}${action}CodePipelineActionRole`] = ['codebuild:StartBuild', 'codebuild:BatchGetBuilds'].map(a => ({
      site: `${action} action: run the CodeBuild project`, action: a, resource: arn('codebuild', `project/{${prefix}${project}}`),
    }));
  }
  return calls;
}

/** The bootstrap roles a deploy stage's CloudFormation action, or the stage deployment build, uses. */
const bootstrapRole = (kind: 'deploy-role' | 'cfn-exec-role' | 'file-publishing-role', account: string) => `arn:aws:iam::${account}:role/cdk-hnb659fds-${kind}-${account}-${REGION}`;

/** The model the build registers: its data, which the stage deployment build fetches for a stage in another region. */
const MODEL_DATA = artifactObject(`${GROUP}/models/${job('TrainAbaloneModel')}/output/model.tar.gz`);

/**
 * CodeBuild project `StageDeploymentProject<Stage>`: the deployment of a stage whose region is
 * entered at creation. cdk-assets runs the model data asset's command with the build's role, then
 * uploads through the stage's file publishing role; the template is deployed through its deploy role.
 */
function stageDeploymentBuild(stage: string, account: string): Call[] {
  return [
    ...codeBuildRun(`DeployPipelineStageDeploymentProject${stage}`, `${PROJECT_NAME}-deploy`)
      .map(call => call.action === 's3:GetObject' ? { ...call, resource: pipelineObject(`${PROJECT_NAME}-deploy`, 'SynthOutput') } : call),
    { site: 'cdk-assets publish: the model data asset\'s command (aws s3 cp)', action: 's3:GetObject', resource: MODEL_DATA },
    { site: 'cdk-assets publish: the model data asset\'s command (aws s3 cp)', action: 'kms:Decrypt', resource: PROJECT_KEY },
    { site: `cdk-assets publish to account ${account}`, action: 'sts:AssumeRole', resource: bootstrapRole('file-publishing-role', account) },
    { site: `aws cloudformation deploy in account ${account}`, action: 'sts:AssumeRole', resource: bootstrapRole('deploy-role', account) },
  ];
}

// ---------------------------------------------------------------------------------------------
// The built-in templates.

function synthesize(make: (portfolio: ProjectPortfolio) => MLOpsProjectTemplate): EvaluatedTemplate {
  const app = testApp();
  const stack = new Stack(app, 'Portfolio', { env: { account: ACCOUNT, region: REGION } });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const template = make(portfolio);
  portfolio.addTemplate(template, { snapshotDirectory: tempDir('snap') });
  return new EvaluatedTemplate(productTemplate(template).toJSON(), PARAMETERS);
}

interface BuiltIn {
  readonly template: EvaluatedTemplate;
  readonly byoc: boolean;
  /** Accounts of the stages after dev. */
  readonly stageAccounts: string[];
  /** Whether the stages after dev have their region entered at creation (deployed by the stage deployment build). */
  readonly regionEntered: boolean;
}

const BUILT_INS: Record<string, BuiltIn> = {
  basic: {
    template: synthesize(p => new BasicProjectTemplate(p, 'Basic', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: REGION })),
    byoc: false,
    stageAccounts: ['222222222222', '333333333333'],
    regionEntered: false,
  },
  dynamicAccounts: {
    template: synthesize(p => new DynamicAccountsProjectTemplate(p, 'DynamicAccounts')),
    byoc: false,
    stageAccounts: [PARAMETERS.PreProdAccount, PARAMETERS.ProdAccount],
    regionEntered: true,
  },
  byoc: {
    template: synthesize(p => new ByocProjectTemplate(p, 'Byoc')),
    byoc: true,
    stageAccounts: [PARAMETERS.PreProdAccount, PARAMETERS.ProdAccount],
    regionEntered: true,
  },
};
// Accounts entered when the project is created may coincide, which the template's conditions handle.
const dynamicJson = BUILT_INS.dynamicAccounts.template.json;
BUILT_INS['dynamicAccounts, preprod and prod in one account'] = {
  template: new EvaluatedTemplate(dynamicJson, { ...PARAMETERS, ProdAccount: PARAMETERS.PreProdAccount }),
  byoc: false,
  stageAccounts: [PARAMETERS.PreProdAccount, PARAMETERS.PreProdAccount],
  regionEntered: true,
};
BUILT_INS['dynamicAccounts, preprod in the DEV account'] = {
  template: new EvaluatedTemplate(dynamicJson, { ...PARAMETERS, PreProdAccount: ACCOUNT }),
  byoc: false,
  stageAccounts: [ACCOUNT, PARAMETERS.ProdAccount],
  regionEntered: true,
};

/** Every role's calls in a built-in template, by the role's logical id prefix. */
function callsByRole(builtIn: BuiltIn): Record<string, Call[]> {
  const buildActions = builtIn.byoc ? ['BuildDockerBuild', 'BuildSMPipeline'] : ['BuildSMPipeline'];
  const stageDeployments = builtIn.regionEntered ? ['DeployPreProdDeployCFNPreProd', 'DeployProdDeployCFNProd'] : [];
  const deployPipeline = pipelineCalls('DeployPipeline', ['BuildSynth', 'BuildSecurityScan', 'DeployPreProdApprovePreProd', 'DeployProdApproveProd', ...stageDeployments], `${PROJECT_NAME}-deploy`);
  // The CloudFormation actions: dev's, and the other stages' unless the stage deployment build deploys them.
  deployPipeline.DeployPipelineRole.push(...[ACCOUNT, ...builtIn.regionEntered ? [] : builtIn.stageAccounts].map(account => ({
    site: `Deploy stage of account ${account}: CloudFormation action role (bootstrap deploy role)`, action: 'sts:AssumeRole', resource: bootstrapRole('deploy-role', account),
  })));
  return {
    BuildPipelineSageMakerPipelineProjectRole: SM_PIPELINE_BUILD,
    ...(builtIn.byoc ? { BuildPipelineDockerBuildProjectRole: DOCKER_BUILD } : {}),
    BuildPipelineSageMakerExecutionRole: sageMakerExecution(builtIn.byoc),
    DeployPipelineSynthProjectRole: SYNTH_BUILD,
    DeployPipelineSecurityScanProjectRole: SECURITY_SCAN_BUILD,
    ...(builtIn.regionEntered ? {
      DeployPipelineStageDeploymentProjectPreProdRole: stageDeploymentBuild('PreProd', builtIn.stageAccounts[0]),
      DeployPipelineStageDeploymentProjectProdRole: stageDeploymentBuild('Prod', builtIn.stageAccounts[1]),
    } : {}),
    ...pipelineCalls('BuildPipeline', buildActions, `${PROJECT_NAME}-build`),
    ...deployPipeline,
    BuildPipelineEventsRole: [
      { site: 'EventBridge: push to main of the build repository', action: 'codepipeline:StartPipelineExecution', resource: arn('codepipeline', `${PROJECT_NAME}-build`) },
    ],
    DeployPipelineEventsRole: [
      { site: 'EventBridge: push to main of the deploy repository', action: 'codepipeline:StartPipelineExecution', resource: arn('codepipeline', `${PROJECT_NAME}-deploy`) },
      { site: 'EventBridge: model package approved or rejected', action: 'codepipeline:StartPipelineExecution', resource: arn('codepipeline', `${PROJECT_NAME}-deploy`) },
    ],
  };
}

/** `{Name}` → the generated physical name (or key id) of resource `Name<hash>`. */
function concrete(template: EvaluatedTemplate, resource: string): string {
  return resource.replace(/\{(\w+)\}/g, (_, prefix) => {
    return template.value({ Ref: template.id(prefix) });
  });
}

function denied(template: EvaluatedTemplate, roleId: string, calls: Call[]): string[] {
  const statements = template.identityStatements(roleId);
  return calls
    .map(call => ({ ...call, resource: concrete(template, call.resource) }))
    .filter(call => !allowed(statements, call))
    .map(call => `${call.action} on ${call.resource} (${call.site})`);
}

// ---------------------------------------------------------------------------------------------

describe.each(Object.entries(BUILT_INS))('built-in %s template', (_name, builtIn) => {
  const { template } = builtIn;
  const calls = callsByRole(builtIn);

  test('the names the calls use are the ones the template gives the build and the deploy app', () => {
    const env = (projectPrefix: string) => Object.fromEntries(
      template.resources[template.id(projectPrefix)].Properties.Environment.EnvironmentVariables.map((v: Json) => [v.Name, template.value(v.Value)]));
    expect(env('BuildPipelineSageMakerPipelineProject')).toMatchObject({
      SAGEMAKER_PIPELINE_NAME: GROUP,
      MODEL_PACKAGE_GROUP_NAME: GROUP,
      ARTIFACT_BUCKET,
      ARTIFACT_BUCKET_KMS_ID: concrete(template, PROJECT_KEY),
      SAGEMAKER_PIPELINE_ROLE_ARN: concrete(template, EXECUTION_ROLE),
      AWS_REGION: REGION,
      ...(builtIn.byoc ? { ECR_REPO_URI: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${ECR_REPOSITORY}` } : {}),
    });
    if (builtIn.byoc) expect(env('BuildPipelineDockerBuildProject').ECR_REPO_URI).toBe(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${ECR_REPOSITORY}`);
    expect(env('DeployPipelineSynthProject')).toMatchObject({
      PROJECT_NAME, PROJECT_ID, MODEL_PACKAGE_GROUP_NAME: GROUP, ARTIFACT_BUCKET, AWS_REGION: REGION, DEPLOYMENT_STAGES: 'dev,preprod,prod',
    });
    expect(template.value(template.resources.ModelPackageGroup.Properties.ModelPackageGroupName)).toBe(GROUP);
    for (const [prefix, name] of [['BuildPipeline', `${PROJECT_NAME}-build`], ['DeployPipeline', `${PROJECT_NAME}-deploy`]]) {
      expect(template.value({ Ref: template.id(prefix) })).toBe(name);
    }
    expect(template.value({ Ref: template.id('PipelineArtifactBucket') })).toBe(PIPELINE_BUCKET);
    const parameters = Object.values(template.resources).filter(r => r.Type === 'AWS::SSM::Parameter').map(r => template.value(r.Properties.Name));
    expect(parameters.sort()).toEqual(['dev', 'preprod', 'prod'].flatMap(s => [`/mlops/${PROJECT_NAME}/${s}/account_id`, `/mlops/${PROJECT_NAME}/${s}/region`]).sort());
  });

  test('the EventBridge rules start the project\'s pipelines through the events roles', () => {
    const rules = Object.values(template.resources).filter(r => r.Type === 'AWS::Events::Rule').map(r => template.value(r.Properties));
    const targets = rules.flatMap(r => r.Targets.map((t: Json) => ({ source: r.EventPattern.source[0], pipeline: t.Arn, role: t.RoleArn })));
    const role = (prefix: string) => template.value({ 'Fn::GetAtt': [template.id(prefix), 'Arn'] });
    expect(targets).toEqual(expect.arrayContaining([
      { source: 'aws.codecommit', pipeline: arn('codepipeline', `${PROJECT_NAME}-build`), role: role('BuildPipelineEventsRole') },
      { source: 'aws.codecommit', pipeline: arn('codepipeline', `${PROJECT_NAME}-deploy`), role: role('DeployPipelineEventsRole') },
      { source: 'aws.sagemaker', pipeline: arn('codepipeline', `${PROJECT_NAME}-deploy`), role: role('DeployPipelineEventsRole') },
    ]));
    const approval = rules.find(r => r.EventPattern.source[0] === 'aws.sagemaker');
    expect(approval.EventPattern.detail.ModelPackageGroupName).toEqual([GROUP]);
  });

  test('every role of the template has a table of its calls', () => {
    const roles = Object.entries(template.resources).filter(([, r]) => r.Type === 'AWS::IAM::Role').map(([id]) => id).sort();
    // The approval actions' roles call nothing: a manual approval without a topic.
    const approvals = ['DeployPipelineDeployPreProdApprovePreProdCodePipelineActionRole', 'DeployPipelineDeployProdApproveProdCodePipelineActionRole'];
    expect(roles).toEqual([...Object.keys(calls), ...approvals].map(prefix => template.id(prefix)).sort());
    for (const approval of approvals) expect(template.identityStatements(template.id(approval))).toEqual([]);
  });

  test.each(Object.keys(callsByRole(builtIn)))('role %s allows every call it makes', roleprefix => {
    expect(denied(template, template.id(roleprefix), calls[roleprefix])).toEqual([]);
  });

  test('the SMPipeline build may pass the SageMaker execution role to SageMaker only', () => {
    const statements = template.identityStatements(template.id('BuildPipelineSageMakerPipelineProjectRole'));
    const role = concrete(template, EXECUTION_ROLE);
    expect(allowed(statements, { action: 'iam:PassRole', resource: role, context: PASS_TO_SAGEMAKER })).toBe(true);
    expect(allowed(statements, { action: 'iam:PassRole', resource: role, context: { 'iam:PassedToService': 'ec2.amazonaws.com' } })).toBe(false);
    expect(allowed(statements, { action: 'iam:PassRole', resource: role })).toBe(false);
    expect(allowed(statements, { action: 'iam:PassRole', resource: `arn:aws:iam::${ACCOUNT}:role/Admin`, context: PASS_TO_SAGEMAKER })).toBe(false);
  });

  test('the roles allow the project\'s resources, not those of another project', () => {
    const other = (call: Call): Call => ({ ...call, resource: call.resource.split(PROJECT_ID).join('p-zzz999').split(PROJECT_NAME).join('other-proj') });
    const changed = (call: Call) => other(call).resource !== call.resource;
    for (const prefix of Object.keys(calls)) {
      const scoped = calls[prefix].filter(changed);
      expect(denied(template, template.id(prefix), scoped.map(other))).toHaveLength(scoped.length);
    }
    const scopedCount = (prefix: string) => calls[prefix].filter(changed).length;
    expect(scopedCount('BuildPipelineSageMakerPipelineProjectRole')).toBeGreaterThanOrEqual(10);
    expect(scopedCount('BuildPipelineSageMakerExecutionRole')).toBeGreaterThanOrEqual(10);
    expect(scopedCount('DeployPipelineSynthProjectRole')).toBeGreaterThanOrEqual(8);
  });

  test('the stage accounts\' bootstrap roles can read the deploy pipeline\'s artifacts', () => {
    const bucket = template.resourceStatements(template.id('PipelineArtifactBucket'));
    const key = template.resourceStatements(template.id('ProjectKey'));
    const object = pipelineObject(`${PROJECT_NAME}-deploy`, 'SynthOutput');
    const problems: string[] = [];
    // The stages deployed by CloudFormation actions; the stage deployment build reads the artifacts itself.
    for (const account of [ACCOUNT, ...builtIn.regionEntered ? [] : builtIn.stageAccounts]) {
      for (const principal of [bootstrapRole('deploy-role', account), bootstrapRole('cfn-exec-role', account)]) {
        if (!allowed(bucket, { action: 's3:GetObject', resource: object, principal })) problems.push(`${principal} s3:GetObject`);
        if (!allowed(key, { action: 'kms:Decrypt', resource: '*', principal })) problems.push(`${principal} kms:Decrypt`);
      }
    }
    expect(problems).toEqual([]);
    expect(allowed(bucket, { action: 's3:GetObject', resource: object, principal: bootstrapRole('deploy-role', '999999999999') })).toBe(false);
  });

  test('the endpoints in the stage accounts can use the model the build registered', () => {
    // deploy_endpoint/endpoint_stack.py: CloudFormation (cfn-exec role) creates the model from
    // the package; the endpoint's role reads model.tar.gz and pulls the image.
    const modelData = MODEL_DATA;
    const problems: string[] = [];
    for (const account of builtIn.stageAccounts) {
      const endpointRole = `arn:aws:iam::${account}:role/preprod-ModelExecutionRole-ABC`;
      const exec = bootstrapRole('cfn-exec-role', account);
      const checks: Array<[string, Request]> = [
        ['ArtifactBucket', { action: 's3:GetObject', resource: modelData, principal: endpointRole }],
        ['ProjectKey', { action: 'kms:Decrypt', resource: '*', principal: endpointRole }],
        ['ModelPackageGroup', { action: 'sagemaker:DescribeModelPackage', resource: arn('sagemaker', `model-package/${GROUP}/3`), principal: exec }],
        ['ModelPackageGroup', { action: 'sagemaker:CreateModel', resource: arn('sagemaker', `model-package/${GROUP}/3`), principal: exec }],
      ];
      if (builtIn.byoc) {
        for (const action of ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability']) {
          checks.push(['ContainerRepository', { action, resource: arn('ecr', `repository/${ECR_REPOSITORY}`), principal: endpointRole }]);
        }
      }
      for (const [resource, request] of checks) {
        const id = resource === 'ModelPackageGroup' ? resource : template.id(resource);
        if (!allowed(template.resourceStatements(id), request)) problems.push(`${request.principal} ${request.action} on ${resource}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the IAM evaluator of this test', () => {
  const statements = [
    { Effect: 'Allow', Action: ['s3:Get*', 'sagemaker:DescribePipeline*'], Resource: ['arn:aws:s3:::b/*', 'arn:aws:sagemaker:*:1:pipeline/p'] },
    { Effect: 'Allow', Action: 'iam:PassRole', Resource: 'arn:aws:iam::1:role/r?', Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } } },
    { Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::b/secret/*' },
  ];
  test.each<[Request, boolean]>([
    [{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/x/y' }, true],
    [{ action: 'S3:getobject', resource: 'arn:aws:s3:::b/x' }, true],
    [{ action: 's3:PutObject', resource: 'arn:aws:s3:::b/x' }, false],
    [{ action: 's3:GetObject', resource: 'arn:aws:s3:::bb/x' }, false],
    [{ action: 's3:GetObject', resource: 'arn:aws:s3:::b/secret/x' }, false],
    [{ action: 'sagemaker:DescribePipelineExecution', resource: 'arn:aws:sagemaker:eu-west-1:1:pipeline/p' }, true],
    [{ action: 'sagemaker:DescribePipeline', resource: 'arn:aws:sagemaker:eu-west-1:1:pipeline/P' }, false],
    [{ action: 'iam:PassRole', resource: 'arn:aws:iam::1:role/r1', context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } }, true],
    [{ action: 'iam:PassRole', resource: 'arn:aws:iam::1:role/r12', context: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } }, false],
    [{ action: 'iam:PassRole', resource: 'arn:aws:iam::1:role/r1' }, false],
  ])('%j → %s', (request, expected) => {
    expect(allowed(statements, request)).toBe(expected);
  });

  test('evaluates Ref, Fn::Join, Fn::GetAtt, Fn::Select, Fn::Split, Fn::Sub and Fn::If with the fixture values', () => {
    const template = new EvaluatedTemplate({
      Conditions: { SameAccounts: { 'Fn::Equals': [{ Ref: 'PreProdAccount' }, { Ref: 'ProdAccount' }] } },
      Resources: { BucketABCD1234: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { 'Fn::Join': ['-', ['b', { Ref: 'SageMakerProjectId' }]] } } } },
    }, PARAMETERS);
    expect(template.value({ 'Fn::Join': ['-', [{ Ref: 'SageMakerProjectName' }, { Ref: 'AWS::Region' }]] })).toBe(`${PROJECT_NAME}-${REGION}`);
    expect(template.value({ 'Fn::Select': [1, { 'Fn::Split': [':', 'a:b:c'] }] })).toBe('b');
    expect(template.value({ 'Fn::GetAtt': [template.id('Bucket'), 'Arn'] })).toBe(`arn:aws:s3:::b-${PROJECT_ID}`);
    expect(template.value({ 'Fn::Sub': ['${AWS::AccountId}/${BucketABCD1234.Arn}/${X}', { X: { Ref: 'SageMakerProjectName' } }] }))
      .toBe(`${ACCOUNT}/arn:aws:s3:::b-${PROJECT_ID}/${PROJECT_NAME}`);
    expect(template.value(['a', { 'Fn::If': ['SameAccounts', 'b', { Ref: 'AWS::NoValue' }] }])).toEqual(['a']);
    expect(template.value({ 'Fn::If': ['SameAccounts', 'b', 'c'] })).toBe('c');
    expect(() => template.value({ 'Fn::ImportValue': 'x' })).toThrow(/cannot evaluate Fn::ImportValue/);
  });
});

describe('a project whose name holds capitals', () => {
  // SageMaker allows `My-Proj`; it writes pipeline and model package group names into ARNs in lower case.
  const template = new EvaluatedTemplate(dynamicJson, { ...PARAMETERS, SageMakerProjectName: 'My-Proj' });
  const lower = `my-proj-${PROJECT_ID}`;

  test.each<[string, string, string]>([
    ['BuildPipelineSageMakerPipelineProjectRole', 'sagemaker:UpdatePipeline', arn('sagemaker', `pipeline/${lower}`)],
    ['BuildPipelineSageMakerPipelineProjectRole', 'sagemaker:DescribePipelineExecution', arn('sagemaker', `pipeline/${lower}/execution/${EXECUTION}`)],
    ['BuildPipelineSageMakerExecutionRole', 'sagemaker:CreateModelPackage', arn('sagemaker', `model-package/${lower}/1`)],
    ['BuildPipelineSageMakerExecutionRole', 'sagemaker:DescribeModelPackageGroup', arn('sagemaker', `model-package-group/${lower}`)],
    ['DeployPipelineSynthProjectRole', 'sagemaker:DescribeModelPackage', arn('sagemaker', `model-package/${lower}/3`)],
  ])('%s may %s on the lower-case ARN %s', (roleId, action, resource) => {
    expect(denied(template, template.id(roleId), [{ site: 'capitals', action, resource }])).toEqual([]);
  });

  test('the lower-case ARNs still belong to this project only', () => {
    const other = arn('sagemaker', 'model-package/my-proj-p-other99/1');
    expect(denied(template, template.id('BuildPipelineSageMakerExecutionRole'), [{ site: 'other project', action: 'sagemaker:CreateModelPackage', resource: other }]))
      .toEqual([`sagemaker:CreateModelPackage on ${other} (other project)`]);
  });
});

describe.each(Object.entries(BUILT_INS))('built-in %s template: another project\'s jobs, logs and parameters', (_name, { template }) => {
  // Every project's pipelines name their jobs pipelines-<execution>-<step>-<suffix> and log to
  // the same two groups; another project of the account has its own pipeline and SSM parameters.
  const execution = template.id('BuildPipelineSageMakerExecutionRole');
  const synth = template.id('DeployPipelineSynthProjectRole');
  const other = arn('sagemaker', 'pipeline/other-proj-p-zzz999');
  const jobs = [arn('sagemaker', `processing-job/${job('PreprocessAbaloneData')}`), arn('sagemaker', `training-job/${job('TrainAbaloneModel')}`)];
  const onJobs = (context: Context | undefined): Call[] => jobs.flatMap(resource => {
    const kind = resource.includes(':processing-job/') ? 'ProcessingJob' : 'TrainingJob';
    return [`sagemaker:Describe${kind}`, `sagemaker:Stop${kind}`, 'sagemaker:AddTags'].map(action => ({ site: 'a job', action, resource, context }));
  });
  const refused = (roleId: string, calls: Call[]) => denied(template, roleId, calls).length;

  test('the SageMaker execution role may watch, stop and tag the jobs of its own pipeline only', () => {
    expect(refused(execution, onJobs(OWN_JOB))).toBe(0);
    expect(refused(execution, onJobs(jobOf(other)))).toBe(6);
    // Nor does a pipeline whose name starts like this one's.
    expect(refused(execution, onJobs(jobOf(arn('sagemaker', `pipeline/${GROUP}-copy`))))).toBe(6);
    // A job without the execution tag stays usable: that SageMaker tags every pipeline job is not
    // verified in a real account, and a pipeline must keep polling its jobs if it does not.
    expect(denied(template, execution, onJobs(undefined))).toEqual([]);
  });

  test('the SageMaker execution role writes the logs of pipeline jobs only, in the processing and training job groups', () => {
    const logs = (group: string, stream?: string) => arn('logs', `log-group:/aws/sagemaker/${group}${stream ? `:log-stream:${stream}` : ''}`);
    const writes = (group: string, stream: string): Call[] => ['logs:CreateLogStream', 'logs:PutLogEvents'].map(action => ({ site: 'logs', action, resource: logs(group, stream) }));
    expect(refused(execution, [...writes('ProcessingJobs', 'pipelines-a1b2-step-x/algo-1-1'), ...writes('TrainingJobs', 'pipelines-a1b2-step-y/algo-1-1')])).toBe(0);
    expect(refused(execution, writes('TrainingJobs', 'churn-training-2024/algo-1-1'))).toBe(2);
    expect(refused(execution, writes('Endpoints/other-proj-prod', 'AllTraffic/i-0abc'))).toBe(2);
    expect(refused(execution, [{ site: 'logs', action: 'logs:CreateLogGroup', resource: logs('Endpoints/other-proj-prod') }])).toBe(1);
  });

  test('the synth build reads its own project\'s parameters, not another project\'s nor the platform\'s', () => {
    const read = (name: string): Call => ({ site: 'ssm', action: 'ssm:GetParameters', resource: arn('ssm', `parameter${name}`) });
    expect(refused(synth, [read(`/mlops/${PROJECT_NAME}/prod/account_id`)])).toBe(0);
    expect(refused(synth, [read('/mlops/other-proj/prod/account_id'), read('/mlops/code/build'), read('/mlops/code/seed_bucket'), read('/mlops/role/lead')])).toBe(4);
  });

  test('a project named code or role would read the platform\'s parameters, so the template refuses those names', () => {
    const named = (name: string) => new EvaluatedTemplate(template.json, { ...PARAMETERS, SageMakerProjectName: name });
    const readsPlatform = (name: string, parameter: string) => denied(named(name), synth, [{ site: 'ssm', action: 'ssm:GetParameters', resource: arn('ssm', `parameter${parameter}`) }]).length === 0;
    expect(readsPlatform('code', '/mlops/code/build')).toBe(true);
    expect(readsPlatform('role', '/mlops/role/lead')).toBe(true);
    const parameter = template.json.Parameters.SageMakerProjectName;
    const pattern = new RegExp(parameter.AllowedPattern);
    expect(['code', 'role', PROJECT_NAME].map(name => pattern.test(name))).toEqual([false, false, true]);
  });
});
