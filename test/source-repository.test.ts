import * as fs from 'fs';
import * as path from 'path';
import { App, Aspects, CfnResource, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  BuildPipeline,
  DeployPipeline,
  GitProvider,
  MLOpsProjectTemplate,
  ProjectPortfolio,
  SourceRepository,
} from '../src';
import { BUILD_SEED, DEPLOY_SEED, iamStatements, projectStack, propertiesOf, stageLayout } from './util/pipeline-fixtures';
import { tempDir } from './util/temp-dir';

const CONNECTION = 'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf';
const ENV = { account: '111111111111', region: 'eu-west-1' };

function buildWith(source?: SourceRepository) {
  const { stack, artifactBucket } = projectStack();
  const build = new BuildPipeline(stack, 'Build', {
    projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket, seedCode: BUILD_SEED, source,
  });
  return { stack, build, template: Template.fromStack(stack) };
}

function portfolioWith(source?: SourceRepository) {
  const outdir = tempDir('git');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Portfolio', { env: ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const template = new MLOpsProjectTemplate(portfolio, 'Git', { stages: [{ name: 'dev' }], sourceRepository: source });
  portfolio.addTemplate(template, { snapshotDirectory: path.join(outdir, 'snapshots') });
  return { app, stack, portfolio, template };
}

function synthesized(app: App, stack: Stack, template: MLOpsProjectTemplate) {
  const assembly = app.synth();
  const read = (file: string) => JSON.parse(fs.readFileSync(path.join(assembly.directory, file), 'utf-8'));
  return { product: read(template.templateFile), portfolio: read(stack.templateFile), assembly };
}

describe('CodeCommit stays the default', () => {
  test('no source and SourceRepository.codeCommit() synthesize the same template', () => {
    const implicit = buildWith().template.toJSON();
    const explicit = buildWith(SourceRepository.codeCommit()).template.toJSON();
    expect(explicit).toEqual(implicit);
    const { build, template } = buildWith();
    expect(build.repositoryName).toBe('churn-build');
    expect(build.repository).toBeDefined();
    template.resourceCountIs('AWS::CodeCommit::Repository', 1);
    template.resourceCountIs('AWS::Lambda::Function', 0);
  });
});

describe('a connection with fixed ARN and owner, using repositories that exist', () => {
  const { build, template } = buildWith(SourceRepository.codeConnection({ connectionArn: CONNECTION, owner: 'acme', createRepository: false }));
  const pipeline = propertiesOf(template, build.pipeline);

  test('the Source action reads acme/churn-build on main through the connection and starts on pushes', () => {
    expect(stageLayout(pipeline)[0]).toEqual(['Source', [['GitHub', 1]]]);
    const source = pipeline.Stages[0].Actions[0];
    expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Owner: 'AWS', Provider: 'CodeStarSourceConnection' });
    expect(source.Configuration).toEqual({ ConnectionArn: CONNECTION, FullRepositoryId: 'acme/churn-build', BranchName: 'main', DetectChanges: true });
  });

  test('no CodeCommit repository, no custom resource, no parameters', () => {
    template.resourceCountIs('AWS::CodeCommit::Repository', 0);
    template.resourceCountIs('AWS::Lambda::Function', 0);
    expect(template.findResources('Custom::GitRepository')).toEqual({});
    expect(template.toJSON().Parameters ?? {}).not.toHaveProperty('GitConnectionArn');
    expect(build.repositoryName).toBe('churn-build');
    expect(() => build.repository).toThrow(/the source is a git provider connection, which has no CodeCommit repository; use repositoryName/);
  });

  test('the connection may be used on its own ARN only, with both service prefixes', () => {
    const uses = iamStatements(template).filter(s => [s.Action].flat().some(a => /UseConnection$/.test(a)));
    expect(uses.flatMap(s => [s.Action].flat()).sort()).toEqual(['codeconnections:UseConnection', 'codestar-connections:UseConnection']);
    for (const statement of uses) expect(statement.Resource).toBe(CONNECTION);
  });
});

describe('a template whose projects get new repositories on the provider', () => {
  const { app, stack, template } = portfolioWith(SourceRepository.codeConnection({ tokenSecretArn: SECRET_ARN }));
  const { product, portfolio, assembly } = synthesized(app, stack, template);
  const t = Template.fromJSON(product);

  test('asks for the connection ARN and the owner, with constraints', () => {
    const arnParameter = product.Parameters.GitConnectionArn;
    expect(arnParameter).toMatchObject({ Type: 'String', MinLength: 1 });
    const pattern = new RegExp(arnParameter.AllowedPattern);
    expect(pattern.test(CONNECTION)).toBe(true);
    expect(pattern.test('arn:aws:codestar-connections:us-east-1:111111111111:connection/abc-123')).toBe(true);
    expect(pattern.test('arn:aws:iam::111111111111:role/x')).toBe(false);
    const owner = new RegExp(product.Parameters.GitOwner.AllowedPattern);
    expect(['acme', 'my-org', 'group/sub.group', 'a_b'].every(o => owner.test(o))).toBe(true);
    expect(['', '-x', 'a b', 'x/'].some(o => owner.test(o))).toBe(false);
  });

  test('one repository resource per pipeline, named after the project, retained by default; the pipelines wait for them', () => {
    const repositories = t.findResources('Custom::GitRepository');
    expect(Object.keys(repositories)).toHaveLength(2);
    const names = Object.values(repositories).map((r: any) => JSON.stringify(r.Properties.RepositoryName));
    expect(names.sort()).toEqual([
      JSON.stringify({ 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-build']] }),
      JSON.stringify({ 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-deploy']] }),
    ]);
    for (const [id, r] of Object.entries<any>(repositories)) {
      expect(r.Properties).toMatchObject({ Provider: 'github', ApiUrl: '', Owner: { Ref: 'GitOwner' }, Branch: 'main', TokenSecretArn: SECRET_ARN, RemovalPolicy: 'retain' });
      const pipelines = Object.values<any>(t.findResources('AWS::CodePipeline::Pipeline')).filter(p => [p.DependsOn ?? []].flat().includes(id));
      expect(pipelines).toHaveLength(1);
    }
    t.resourceCountIs('AWS::CodeCommit::Repository', 0);
  });

  test('one handler function: Node.js 22, its own log group, reads the token secret and the seed code objects only', () => {
    t.resourceCountIs('AWS::Lambda::Function', 1);
    const fn = Object.values<any>(t.findResources('AWS::Lambda::Function'))[0];
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Timeout: 300 });
    expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^GitProviderHandlerLogGroup/) });
    const role = fn.Properties.Role['Fn::GetAtt'][0];
    const statements = iamStatements(t).filter(s => {
      const policy = t.toJSON().Resources[s.policy];
      return policy.Properties.Roles.some((r: any) => r.Ref === role);
    });
    expect(statements.map(s => [s.Action].flat().join(',')).sort()).toEqual([
      'logs:CreateLogStream,logs:PutLogEvents',
      's3:GetObject,s3:GetObjectVersion',
      's3:GetObject,s3:GetObjectVersion',
      'secretsmanager:GetSecretValue',
    ]);
    expect(statements.find(s => s.Action === 'secretsmanager:GetSecretValue')!.Resource).toBe(SECRET_ARN);
    t.hasResourceProperties('AWS::IAM::Role', { RoleName: Match.absent(), Path: '/sagemaker-project-templates/', AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })] } });
    t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 90 }, DeletionPolicy: 'Retain' });
  });

  test('the handler code ships as an asset of the product, without the token', () => {
    const fn = Object.values<any>(t.findResources('AWS::Lambda::Function'))[0];
    const key = JSON.stringify(fn.Properties.Code);
    const hash = /([a-f0-9]{64})\.zip/.exec(key)![1];
    const staged = path.join(assembly.directory, `asset.${hash}`);
    expect(fs.readdirSync(staged).filter(f => /^index\.(js|ts)$/.test(f))).toHaveLength(1);
    expect(JSON.stringify(product)).not.toMatch(/ghp_|glpat-|SecretString/);
  });

  test('the launch role may pass connections of its account to CodePipeline and create the handler', () => {
    // Every inline policy of the launch role (the git provider statements have one of their own).
    const launch = Object.values<any>(portfolio.Resources).filter((r: any) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('LaunchRole'));
    expect(launch.length).toBe(2);
    const bySid = Object.fromEntries(launch.flatMap(policy => [policy.Properties.PolicyDocument.Statement].flat()).map((s: any) => [s.Sid, s]));
    expect(bySid.PassGitConnections).toMatchObject({
      Action: 'codeconnections:PassConnection',
      Condition: { StringEquals: { 'codeconnections:PassedToService': 'codepipeline.amazonaws.com' } },
    });
    expect(JSON.stringify(bySid.PassGitConnections.Resource)).toContain(':connection/*');
    expect(bySid.PassGitProviderRole.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'lambda.amazonaws.com' } });
    expect(JSON.stringify(bySid.GitProviderFunctions.Resource)).toContain(':function:SC-*');
  });
});

test('a CodeCommit portfolio\'s launch role gets none of the git provider statements', () => {
  const { app, stack, template } = portfolioWith();
  const { portfolio } = synthesized(app, stack, template);
  expect(JSON.stringify(portfolio)).not.toMatch(/PassConnection|lambda:CreateFunction/);
});

test('a template created outside the portfolio\'s scope still gets the launch permissions when it is added', () => {
  const outdir = tempDir('git');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Portfolio', { env: ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const template = new MLOpsProjectTemplate(stack, 'Outside', {
    stages: [{ name: 'dev' }],
    assetBucket: portfolio.assetBucket,
    sourceRepository: SourceRepository.codeConnection({ connectionArn: CONNECTION, owner: 'acme', provider: GitProvider.GITHUB, createRepository: false }),
  });
  portfolio.addTemplate(template, { snapshotDirectory: path.join(outdir, 'snapshots') });
  const { portfolio: synthesizedPortfolio } = synthesized(app, stack, template);
  expect(JSON.stringify(synthesizedPortfolio)).toMatch(/codeconnections:PassConnection/);
});

test('DeployPipeline: the same source, GitLab, with the repository removed when the project is', () => {
  const { stack, artifactBucket } = projectStack();
  const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Token', SECRET_ARN);
  const deploy = new DeployPipeline(stack, 'Deploy', {
    projectName: 'churn',
    projectId: 'p-abc',
    modelPackageGroupName: 'churn-p-abc',
    artifactBucket,
    seedCode: DEPLOY_SEED,
    stages: [{ name: 'dev' }],
    branch: 'release',
    repositoryRemovalPolicy: RemovalPolicy.DESTROY,
    source: SourceRepository.codeConnection({ provider: GitProvider.GITLAB, owner: 'ml/platform', connectionArn: CONNECTION, tokenSecret: secret, apiUrl: 'https://gitlab.example.com/api/v4' }),
  });
  const template = Template.fromStack(stack);
  const pipeline = propertiesOf(template, deploy.pipeline);
  expect(pipeline.Stages[0].Actions[0]).toMatchObject({ Name: 'GitLab', Configuration: { FullRepositoryId: 'ml/platform/churn-deploy', BranchName: 'release' } });
  template.hasResourceProperties('Custom::GitRepository', {
    Provider: 'gitlab', ApiUrl: 'https://gitlab.example.com/api/v4', Owner: 'ml/platform', RepositoryName: 'churn-deploy', Branch: 'release', RemovalPolicy: 'destroy',
  });
  expect(deploy.repositoryName).toBe('churn-deploy');
});

test('Bitbucket uses repositories that exist', () => {
  const { template } = buildWith(SourceRepository.codeConnection({ provider: GitProvider.BITBUCKET, connectionArn: CONNECTION, owner: 'acme' }));
  expect(template.findResources('Custom::GitRepository')).toEqual({});
  expect(JSON.stringify(template.toJSON())).toContain('"Name":"Bitbucket"');
});

describe('bad source settings fail at synth time', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['creating repositories without a token', () => SourceRepository.codeConnection({}), /createRepository needs a token to create the repositories with; give tokenSecret or tokenSecretArn/],
    ['creating Bitbucket repositories', () => SourceRepository.codeConnection({ provider: GitProvider.BITBUCKET, createRepository: true, tokenSecretArn: SECRET_ARN }), /creating repositories on Bitbucket is not supported; create them yourself and set createRepository: false/],
    ['GitHub Enterprise without its API URL', () => SourceRepository.codeConnection({ provider: GitProvider.GITHUB_ENTERPRISE, tokenSecretArn: SECRET_ARN }), /GitHub Enterprise Server needs apiUrl/],
    ['an API URL that is not one', () => SourceRepository.codeConnection({ apiUrl: 'github.example.com', tokenSecretArn: SECRET_ARN }), /apiUrl 'github.example.com' is not a URL/],
    ['an http:// API URL (the token in clear text)', () => SourceRepository.codeConnection({ provider: GitProvider.GITHUB_ENTERPRISE, apiUrl: 'http://github.example.com/api/v3', tokenSecretArn: SECRET_ARN }),
      /^SourceRepository\.codeConnection: apiUrl 'http:\/\/github\.example\.com\/api\/v3' must start with https:\/\/, or the personal access token that creates the repositories is sent in clear text; use e\.g\. https:\/\/github\.example\.com\/api\/v3$/],
    ['an http:// API URL ending in a token', () => SourceRepository.codeConnection({ provider: GitProvider.GITLAB, apiUrl: `http://${Token.asString({ Ref: 'GitLabHost' })}/api/v4`, tokenSecretArn: SECRET_ARN }), /apiUrl 'http:\/\/\$\{Token\[.*\]\}\/api\/v4' must start with https:\/\//],
    ['a connection ARN that is not one', () => SourceRepository.codeConnection({ connectionArn: 'arn:aws:iam::111111111111:role/x', createRepository: false }), /connectionArn 'arn:aws:iam::111111111111:role\/x' is not the ARN of a connection/],
    ['an owner with spaces', () => SourceRepository.codeConnection({ owner: 'my org', createRepository: false }), /owner 'my org' is not a user, organization, group or workspace name/],
  ];
  test.each(cases)('%s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});

describe('AwsSolutions and least privilege over a portfolio whose template uses a connection', () => {
  const { app, stack, template } = portfolioWith(SourceRepository.codeConnection({ tokenSecretArn: SECRET_ARN }));
  Aspects.of(app).add(new AwsSolutionsChecks());
  const { product, portfolio } = synthesized(app, stack, template);

  test('no unsuppressed findings, and every suppression is listed in the README', () => {
    const findings = app.node.findAll().flatMap(c => c.node.metadata
      .filter(m => (m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning') && String(m.data).startsWith('AwsSolutions-'))
      .map(m => `${c.node.path}: ${String(m.data).slice(0, 160)}`));
    expect(findings).toEqual([]);
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf-8');
    const security = readme.slice(readme.indexOf('## Security'), readme.indexOf('\n## ', readme.indexOf('## Security') + 5));
    const reasons = app.node.findAll()
      .filter((c): c is CfnResource => c instanceof CfnResource)
      .flatMap(c => (c.getMetadata('cdk_nag')?.rules_to_suppress ?? []).map((s: any) => s.reason as string));
    expect(reasons.filter(r => !security.includes(r))).toEqual([]);
  });

  test('no wildcard actions, no iam:PassRole or s3 on "*", "*" only for actions without resources, no managed policies on the new roles', () => {
    const noResource = new Set(['cloudformation:GetTemplateSummary', 'cloudformation:ValidateTemplate', 'kms:CreateKey',
      'ecr:GetAuthorizationToken', 'sagemaker:ListModelPackages', 'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents',
      'codecommit:ListRepositories', 'logs:DescribeLogGroups', 'sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes']);
    const offenders: string[] = [];
    for (const json of [product, portfolio]) {
      for (const [id, resource] of Object.entries<any>(json.Resources)) {
        const props = resource.Properties ?? {};
        expect(JSON.stringify(props.ManagedPolicyArns ?? [])).not.toMatch(/FullAccess|AdministratorAccess|PowerUser/);
        // The handler's role writes only its own log group (the portfolio's BucketDeployment is aws-cdk-lib's).
        if (json === product) expect(props.ManagedPolicyArns).toBeUndefined();
        if (resource.Type !== 'AWS::IAM::Policy') continue;
        for (const s of [props.PolicyDocument.Statement].flat()) {
          const actions = [s.Action].flat();
          const resources = [s.Resource].flat();
          if (actions.some((a: string) => a === '*' || /^[a-z0-9-]+:\*$/.test(a))) offenders.push(`${id} ${actions}`);
          if (resources.includes('*')) offenders.push(...actions.filter((a: string) => !noResource.has(a)).map((a: string) => `${id} ${a} on *`));
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
