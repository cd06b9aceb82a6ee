import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  BuildPipeline,
  BundledSeedApp,
  DeployPipeline,
  DynamicAccountsProjectTemplate,
  MLOpsProjectTemplate,
  ProjectPortfolio,
  SeedCode,
  SeedCodeAsset,
} from '../src';
import { CONTRACT_APPS } from './contracts/apps';
import { DEPLOY_SEED, productStack, productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';
import { NO_PERMISSIONS_BOUNDARY_WARNING } from '../src/private/names';

/**
 * Projects, the platform and the git connection kept apart (issue 15, points 4-6): who may
 * assume the roles the library creates, which project names a template refuses, and the warning
 * a portfolio without a permissions boundary gets.
 */

const ENV = { account: '111111111111', region: 'eu-west-1' };

type Json = any;

/** Every template of the contract apps: the example organisation and the maximal compositions. */
const templates: { app: string; file: string; json: Json }[] = Object.entries(CONTRACT_APPS).flatMap(([name, build]) => {
  const outdir = tempDir(name);
  build(outdir).synth();
  return fs.readdirSync(outdir).filter(f => f.endsWith('.template.json'))
    .map(file => ({ app: name, file, json: JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf-8')) }));
});

/** The AWS principals of a trust policy statement, as written in the template. */
function awsPrincipals(statement: Json): Json[] {
  const aws = statement.Principal?.AWS;
  return aws === undefined ? [] : [aws].flat();
}

/** Whether a principal names a whole account: `<account id>`, `arn:...:iam::<account>:root`, or a join that ends in `:root`. */
function isAccountPrincipal(principal: Json): boolean {
  if (typeof principal === 'string') return /^\d{12}$/.test(principal) || /:root$/.test(principal);
  return JSON.stringify(principal).includes(':root"') || JSON.stringify(principal) === JSON.stringify({ Ref: 'AWS::AccountId' });
}

describe('trust policies', () => {
  const roles = templates.flatMap(({ app, file, json }) => Object.entries<Json>(json.Resources ?? {})
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .map(([id, r]) => ({ where: `${app}/${file} ${id}`, id, statements: [r.Properties.AssumeRolePolicyDocument.Statement].flat() })));

  test('the walk covers every template of the contract apps, with and without a git provider', () => {
    expect(templates.length).toBeGreaterThanOrEqual(12);
    expect(roles.length).toBeGreaterThan(100);
    // Build and deploy pipelines of the git provider templates of maximal, maximal-boundary and both-ways.
    expect(roles.filter(r => /SourceConnectionRole/.test(r.id)).length).toBe(6);
  });

  test('no role trusts an account root principal', () => {
    // None is needed: the roles are assumed by AWS services or by a pipeline's own role. (The
    // project key's policy names the account root, which a key policy must keep to stay
    // manageable; that is not a trust policy. Stage accounts are trusted by their own bootstrap
    // roles, which are not in these templates.)
    const unavoidable: string[] = [];
    const trustingAccounts = roles
      .filter(r => r.statements.some(s => awsPrincipals(s).some(isAccountPrincipal)))
      .map(r => r.where);
    expect(trustingAccounts).toEqual(unavoidable);
  });

  test('every role is assumed by a service or by a role of its own template', () => {
    const others: string[] = [];
    for (const { app, file, json } of templates) {
      for (const [id, role] of Object.entries<Json>(json.Resources ?? {})) {
        if (role.Type !== 'AWS::IAM::Role') continue;
        for (const statement of [role.Properties.AssumeRolePolicyDocument.Statement].flat()) {
          for (const principal of awsPrincipals(statement)) {
            const target = principal?.['Fn::GetAtt']?.[0];
            if (!(target && json.Resources[target]?.Type === 'AWS::IAM::Role' && principal['Fn::GetAtt'][1] === 'Arn')) others.push(`${app}/${file} ${id}: ${JSON.stringify(principal)}`);
          }
        }
      }
    }
    expect(others).toEqual([]);
  });

  test('the git connection role of each pipeline trusts that pipeline\'s role alone', () => {
    const found: string[] = [];
    for (const { json } of templates) {
      for (const [id, role] of Object.entries<Json>(json.Resources ?? {})) {
        if (role.Type !== 'AWS::IAM::Role' || !/^(Build|Deploy)PipelineSourceConnectionRole/.test(id)) continue;
        const pipeline = id.startsWith('Build') ? 'BuildPipeline' : 'DeployPipeline';
        const principals = [role.Properties.AssumeRolePolicyDocument.Statement].flat().flatMap(awsPrincipals);
        expect(principals).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${pipeline}Role[0-9A-F]{8}$`)), 'Arn'] }]);
        found.push(id);
      }
    }
    expect(found.length).toBe(6);
  });

  test('the account-principal detector of this test finds what it is for', () => {
    expect(isAccountPrincipal({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] })).toBe(true);
    expect(isAccountPrincipal('arn:aws:iam::111111111111:root')).toBe(true);
    expect(isAccountPrincipal('111111111111')).toBe(true);
    expect(isAccountPrincipal({ Ref: 'AWS::AccountId' })).toBe(true);
    expect(isAccountPrincipal({ 'Fn::GetAtt': ['BuildPipelineRoleBC8F2FE4', 'Arn'] })).toBe(false);
  });
});

describe('project names that are the platform\'s SSM parameters', () => {
  /** The SageMakerProjectName parameter of a template, and a test of a name against its pattern as CloudFormation would. */
  type Configure = (portfolio: ProjectPortfolio) => MLOpsProjectTemplate;
  function projectNameRule(configure?: Configure): { parameter: Json; accepts: (name: string) => boolean } {
    const app = testApp();
    const stack = new Stack(app, 'Portfolio', { env: ENV });
    const portfolio = new ProjectPortfolio(stack, 'Portfolio');
    const template = configure ? configure(portfolio) : new DynamicAccountsProjectTemplate(portfolio, 'Dynamic');
    portfolio.addTemplate(template, { snapshotDirectory: tempDir('snap') });
    const parameter = productTemplate(template).toJSON().Parameters.SageMakerProjectName;
    // Java regular expressions, as CloudFormation's; JavaScript's agree on this pattern.
    const pattern = new RegExp(parameter.AllowedPattern);
    return { parameter, accepts: name => name.length >= parameter.MinLength && name.length <= parameter.MaxLength && pattern.test(name) };
  }

  test('are refused when a project is created: code (/mlops/code/...) and role (/mlops/role/lead)', () => {
    const { parameter, accepts } = projectNameRule();
    expect(accepts('code')).toBe(false);
    expect(accepts('role')).toBe(false);
    expect(parameter.ConstraintDescription).toMatch(/not code, role \(names of the platform's SSM parameters under \/mlops\/\)/);
  });

  test.each(['my-proj', 'Code', 'codes', 'role-1', 'a', 'x'.repeat(32), 'coderole'])('other names stay valid: %s', name => {
    expect(projectNameRule().accepts(name)).toBe(true);
  });

  test.each(['-a', 'a_b', 'x'.repeat(33), ''])('SageMaker\'s own rules still hold: %j is refused', name => {
    expect(projectNameRule().accepts(name)).toBe(false);
  });

  test('the first segment of SSM parameters a template reads its seed code from is refused too', () => {
    const { accepts } = projectNameRule(portfolio => new MLOpsProjectTemplate(portfolio, 'Ssm', {
      buildSeedCode: SeedCode.fromSsmParameters('/mlops/platform-seeds/build', '/mlops/platform-seeds/bucket'),
      deploySeedCode: DEPLOY_SEED,
    }));
    expect(accepts('platform-seeds')).toBe(false);
    expect(accepts('code')).toBe(false);
    expect(accepts('platform')).toBe(true);
  });

  test('so are the parameters the app publishes seed code locations in, and the portfolio\'s role parameter', () => {
    const app = testApp();
    const stack = new Stack(app, 'Portfolio', { env: ENV });
    SeedCodeAsset.fromBundledApp(stack, 'Seed', BundledSeedApp.DEPLOY_APP).publishLocation({ objectKeyParameterName: '/mlops/seeds/deploy', bucketParameterName: '/mlops/seeds/bucket' });
    const portfolio = new ProjectPortfolio(stack, 'Portfolio', { executionRoleParameterName: '/mlops/studio/role' });
    const template = new DynamicAccountsProjectTemplate(portfolio, 'Dynamic');
    portfolio.addTemplate(template, { snapshotDirectory: tempDir('snap') });
    const pattern = new RegExp(productTemplate(template).toJSON().Parameters.SageMakerProjectName.AllowedPattern);
    expect(['seeds', 'studio', 'code', 'role', 'my-proj'].map(name => pattern.test(name))).toEqual([false, false, false, false, true]);
    // The launch role may never write them, whatever a template asks.
    const deny = Template.fromStack(stack).toJSON();
    const statements = Object.values<Json>(deny.Resources).filter(r => r.Type === 'AWS::IAM::Policy')
      .flatMap(r => [r.Properties.PolicyDocument.Statement].flat()).filter(s => s.Sid === 'KeepPlatformParameters');
    expect(statements).toHaveLength(1);
    const denied = JSON.stringify(statements[0].Resource);
    for (const segment of ['code', 'role', 'seeds', 'studio']) {
      expect(denied).toContain(`:parameter/mlops/${segment}"`);
      expect(denied).toContain(`:parameter/mlops/${segment}/*"`);
    }
  });

  test('a deploy pipeline with a literal reserved project name fails at synth time; a build pipeline does not read SSM', () => {
    const { product, artifactBucket } = productStack();
    expect(() => new DeployPipeline(product, 'Deploy', {
      projectName: 'code', projectId: 'p-1', modelPackageGroupName: 'g', artifactBucket, stages: [{ name: 'dev' }], seedCode: DEPLOY_SEED,
    })).toThrow(/^DeployPipeline Portfolio\/P\/Deploy: projectName 'code' is the name of the platform's own SSM parameters \/mlops\/code\/\.\.\., which the synth build would read/);
    expect(() => new BuildPipeline(product, 'Build', {
      projectName: 'code', projectId: 'p-1', modelPackageGroupName: 'g', artifactBucket, seedCode: DEPLOY_SEED,
    })).not.toThrow();
  });
});

describe('a portfolio without a permissions boundary', () => {
  function portfolioStack(props: { permissionsBoundaryPolicyName?: string; launchRole?: boolean }): Stack {
    const app = testApp();
    const stack = new Stack(app, 'Portfolio', { env: ENV });
    const launchRole = props.launchRole ? iam.Role.fromRoleName(stack, 'Own', 'MyLaunchRole') : undefined;
    new ProjectPortfolio(stack, 'Portfolio', { permissionsBoundaryPolicyName: props.permissionsBoundaryPolicyName, launchRole });
    return stack;
  }

  test('gets a synth warning with an id, saying what the launch role may then do', () => {
    Annotations.fromStack(portfolioStack({})).hasWarning('/Portfolio/Portfolio', Match.stringLikeRegexp(
      `no permissionsBoundaryPolicyName: its launch role may create roles under /sagemaker-project-templates/ with any inline policy.*\\[ack: ${NO_PERMISSIONS_BOUNDARY_WARNING}\\]`));
  });

  test('with a boundary, or a launch role of its own, none', () => {
    Annotations.fromStack(portfolioStack({ permissionsBoundaryPolicyName: 'MLPlatformBoundary' })).hasNoWarning('/Portfolio/Portfolio', Match.stringLikeRegexp('permissionsBoundaryPolicyName'));
    Annotations.fromStack(portfolioStack({ launchRole: true })).hasNoWarning('/Portfolio/Portfolio', Match.stringLikeRegexp('permissionsBoundaryPolicyName'));
  });
});
