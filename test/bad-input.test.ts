import * as fs from 'fs';
import * as path from 'path';
import { App, CfnParameter, CfnResource, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import {
  BasicProjectTemplate,
  BuildPipeline,
  BundledSeedApp,
  ByocProjectTemplate,
  DeployPipeline,
  DeploymentStage,
  DeploymentStages,
  DynamicAccountsProjectTemplate,
  GitProvider,
  MLOpsProjectTemplate,
  MLOpsProjectTemplateProps,
  ProjectNetwork,
  ProjectPortfolio,
  ProjectPortfolioProps,
  ProjectTemplateBucket,
  AddTemplateOptions,
  SecurityScan,
  SeedCode,
  SeedCodeAsset,
  SeedCodeAssetProps,
  SourceRepository,
} from '../src';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

/**
 * The bad-input table (issue 15): what a careless user or an attacker may hand each public
 * construct and method, and what happens. Every row either fails at synth time with a message
 * that names the property, the value and what to do instead (`<Owner>: <prop> '<value>' ...;
 * use ...`), or is a deliberate accept whose documented behaviour the row asserts.
 */

const ENV = { account: '111111111111', region: 'eu-west-1' };
const SEED = SeedCode.fromBucket('seed-bucket', 'seed.zip');
const CONNECTION = 'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf';

function stack(): Stack {
  return new Stack(testApp(), 'S', { env: ENV });
}

function synth(scope: Stack): void {
  (scope.node.root as App).synth();
}

function artifactBucket(scope: Stack): s3.Bucket {
  return new s3.Bucket(scope, 'Artifacts', { encryptionKey: new kms.Key(scope, 'Key') });
}

function build(extra: object = {}, scope: Stack = stack()): BuildPipeline {
  const pipeline = new BuildPipeline(scope, 'Build', {
    projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket: artifactBucket(scope), seedCode: SEED, ...extra,
  });
  synth(scope);
  return pipeline;
}

function deploy(stages: DeploymentStage[], extra: object = {}, scope: Stack = stack()): Stack {
  new DeployPipeline(scope, 'Deploy', {
    projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket: artifactBucket(scope), seedCode: SEED, stages, ...extra,
  });
  synth(scope);
  return scope;
}

function portfolio(props: ProjectPortfolioProps = {}): ProjectPortfolio {
  return new ProjectPortfolio(stack(), 'P', props);
}

/** The product template that `template()` synthesized (a second synthesis would differ from the locked snapshot). */
function synthesized(construct: MLOpsProjectTemplate): Template {
  const outdir = (construct.node.root as App).outdir;
  return Template.fromJSON(JSON.parse(fs.readFileSync(path.join(outdir, construct.templateFile), 'utf-8')));
}

interface TemplateResult { construct: MLOpsProjectTemplate; portfolio: ProjectPortfolio }

/** A template added to a portfolio and synthesized; seed code from S3 unless given. */
function template(props: MLOpsProjectTemplateProps = {}, options: AddTemplateOptions = {}): TemplateResult {
  const p = portfolio();
  const construct = new MLOpsProjectTemplate(p, 'T', { stages: [{ name: 'dev' }], buildSeedCode: SEED, deploySeedCode: SEED, ...props });
  p.addTemplate(construct, { snapshotDirectory: tempDir('snap'), ...options });
  synth(Stack.of(p));
  return { construct, portfolio: p };
}

function seedAsset(props: Partial<SeedCodeAssetProps> & { path: string }): SeedCodeAsset {
  const s = stack();
  const asset = new SeedCodeAsset(s, 'Seed', props);
  synth(s);
  return asset;
}

/** A seed folder with a file, and `setup` run in it. */
function seedFolder(setup: (dir: string) => void = () => undefined): string {
  const dir = tempDir('seed');
  fs.writeFileSync(path.join(dir, 'buildspec.yml'), 'version: 0.2\n');
  setup(dir);
  return dir;
}

/** A file outside every seed folder, as a private key would be. */
function secretFile(): string {
  const file = path.join(tempDir('home'), 'id_rsa');
  fs.writeFileSync(file, 'PRIVATE KEY');
  return file;
}

/** The folder CDK staged an asset into, in the cloud assembly. */
function stagedFolder(asset: SeedCodeAsset): string {
  const assembly = (asset.node.root as App).synth();
  return path.join(assembly.directory, (asset.asset as any).assetPath);
}

function connection(extra: object): SourceRepository {
  return SourceRepository.codeConnection({ provider: GitProvider.GITHUB, connectionArn: CONNECTION, owner: 'acme', tokenSecretArn: SECRET_ARN, ...extra });
}

function manyStages(count: number, make: (i: number) => DeploymentStage = i => ({ name: `s${i}` })): DeploymentStage[] {
  return Array.from({ length: count }, (_, i) => make(i));
}

/** One row of the table. */
interface Row {
  /** Construct or method. */
  readonly on: string;
  /** The property given. */
  readonly prop: string;
  /** The bad value, as the message shows it (`undefined`: the message need not quote it). */
  readonly value?: string;
  /** What the user does. */
  readonly make: () => unknown;
  /** The error it gets. */
  readonly error?: RegExp;
  /** Or, for a deliberate accept: the documented behaviour, asserted on what `make` returned. */
  readonly accept?: string;
  readonly check?: (result: any) => void;
}

const rows: Row[] = [
  // --- SeedCodeAsset: the folder ---
  { on: 'SeedCodeAsset', prop: 'path', value: '', make: () => seedAsset({ path: '' }), error: /path '' is empty, which would zip the folder the app runs in; give the folder of starter code/ },
  { on: 'SeedCodeAsset', prop: 'path', value: '   ', make: () => seedAsset({ path: '   ' }), error: /path ' {3}' is empty/ },
  { on: 'SeedCodeAsset', prop: 'path', value: process.cwd(), make: () => seedAsset({ path: process.cwd() }), error: /path '.*' is the folder the app runs in, or holds it, so the archive would hold the app itself .*; give a folder that holds only the starter code/ },
  { on: 'SeedCodeAsset', prop: 'path', value: path.dirname(process.cwd()), make: () => seedAsset({ path: path.dirname(process.cwd()) }), error: /is the folder the app runs in, or holds it/ },
  { on: 'SeedCodeAsset', prop: 'path', value: '/no/such/seed', make: () => seedAsset({ path: '/no/such/seed' }), error: /path '\/no\/such\/seed' does not exist; give the folder of starter code to zip/ },
  { on: 'SeedCodeAsset', prop: 'path', value: 'buildspec.yml', make: () => seedAsset({ path: path.join(seedFolder(), 'buildspec.yml') }), error: /path '.*buildspec\.yml' is a file; give a folder/ },
  { on: 'SeedCodeAsset', prop: 'path', value: 'empty', make: () => seedAsset({ path: tempDir('empty') }), error: /path '.*' is an empty folder .*; add the starter code, or exclude less/ },
  {
    on: 'SeedCodeAsset',
    prop: 'exclude',
    value: '*',
    make: () => seedAsset({ path: seedFolder(), exclude: ['*'] }),
    error: /path '.*' is an empty folder \(after excluding .*, \*\); a repository cannot start from no files; add the starter code, or exclude less/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'path',
    value: 'id_rsa',
    make: () => seedAsset({ path: seedFolder(dir => fs.symlinkSync(secretFile(), path.join(dir, 'id_rsa'))) }),
    error: /path '.*' holds symbolic link 'id_rsa', which points to '.*id_rsa', outside the seed folder, whose content would land in every project's repository; copy what the starter code needs into the folder, or exclude the link/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'path',
    value: 'config/credentials',
    make: () => seedAsset({
      path: seedFolder(dir => {
        fs.mkdirSync(path.join(dir, 'config'));
        fs.symlinkSync(path.relative(path.join(dir, 'config'), secretFile()), path.join(dir, 'config', 'credentials'));
      }),
    }),
    error: /holds symbolic link 'config\/credentials', which points to '.*id_rsa', outside the seed folder/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'path',
    value: 'home',
    make: () => seedAsset({ path: seedFolder(dir => fs.symlinkSync(path.dirname(secretFile()), path.join(dir, 'home'))) }),
    error: /holds symbolic link 'home', which points to '.*', outside the seed folder/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'path',
    value: 'gone',
    make: () => seedAsset({ path: seedFolder(dir => fs.symlinkSync(path.join(dir, 'missing'), path.join(dir, 'gone'))) }),
    error: /holds symbolic link 'gone', which points to '.*missing', which does not exist; remove the link, or exclude it/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'path',
    value: 'src/loop',
    make: () => seedAsset({
      path: seedFolder(dir => {
        fs.mkdirSync(path.join(dir, 'src'));
        fs.symlinkSync('..', path.join(dir, 'src', 'loop'));
      }),
    }),
    error: /holds symbolic link 'src\/loop', which points to '\.', a folder that holds the link, so the archive would never end; remove the link, or exclude it/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'defaultExcludes',
    value: '.git',
    make: () => seedAsset({
      path: seedFolder(dir => {
        fs.mkdirSync(path.join(dir, '.git'));
        fs.writeFileSync(path.join(dir, '.git', 'config'), '[remote "origin"]\n  url = https://user:token@example.com/x.git\n');
      }),
      defaultExcludes: false,
    }),
    error: /path '.*' holds '\.git', which would be in the archive \(defaultExcludes is off, or an exclude pattern brings it back\), with the repository's history and remote credentials; leave '\.git' excluded/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'exclude',
    value: '.git',
    make: () => seedAsset({
      path: seedFolder(dir => {
        fs.mkdirSync(path.join(dir, '.git'));
        fs.writeFileSync(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
      }),
      exclude: ['!.git'],
    }),
    error: /holds '\.git', which would be in the archive/,
  },
  {
    on: 'SeedCodeAsset',
    prop: 'path',
    value: 'a repository checkout with .git and node_modules',
    make: () => seedAsset({
      path: seedFolder(dir => {
        for (const sub of ['.git', 'node_modules', '.venv']) {
          fs.mkdirSync(path.join(dir, sub));
          fs.writeFileSync(path.join(dir, sub, 'x'), 'x');
        }
        fs.symlinkSync(secretFile(), path.join(dir, 'node_modules', 'leak'));
      }),
    }),
    accept: 'the default excludes leave .git, node_modules and .venv out (a link inside them is never followed): the archive holds the starter code only',
    check: (asset: SeedCodeAsset) => expect(fs.readdirSync(stagedFolder(asset)).sort()).toEqual(['buildspec.yml']),
  },
  {
    on: 'SeedCodeAsset',
    prop: 'path',
    value: 'a link to a file inside the folder',
    make: () => seedAsset({
      path: seedFolder(dir => {
        fs.writeFileSync(path.join(dir, 'requirements.txt'), 'sagemaker\n');
        fs.symlinkSync('requirements.txt', path.join(dir, 'requirements-dev.txt'));
      }),
    }),
    accept: 'a link that stays inside the folder is archived as a copy of its target',
    check: (asset: SeedCodeAsset) => expect(fs.readFileSync(path.join(stagedFolder(asset), 'requirements-dev.txt'), 'utf-8')).toBe('sagemaker\n'),
  },
  {
    on: 'SeedCodeAsset.fromBundledApp',
    prop: 'app',
    value: 'llm_app',
    make: () => SeedCodeAsset.fromBundledApp(stack(), 'A', 'llm_app' as BundledSeedApp),
    error: /SeedCodeAsset\.fromBundledApp\(A\): app 'llm_app' is not a bundled app; use one of build_app, byoc_build_app, deploy_app, batch_inference_app, or new SeedCodeAsset/,
  },

  // --- SeedCodeAsset.publishLocation ---
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'objectKeyParameterName',
    value: 'mlops/code/mine',
    make: () => seedAsset({ path: seedFolder() }).publishLocation({ objectKeyParameterName: 'mlops/code/mine' }),
    error: /objectKeyParameterName 'mlops\/code\/mine' is not an SSM parameter name \(it has levels but does not start with '\/'\); use letters, digits/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'objectKeyParameterName',
    value: '/aws/code/mine',
    make: () => seedAsset({ path: seedFolder() }).publishLocation({ objectKeyParameterName: '/aws/code/mine' }),
    error: /objectKeyParameterName '\/aws\/code\/mine' is not an SSM parameter name \(names starting with 'aws' or 'ssm' are reserved by SSM\)/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'objectKeyParameterName',
    value: 'ssm-seed',
    make: () => seedAsset({ path: seedFolder() }).publishLocation({ objectKeyParameterName: 'ssm-seed' }),
    error: /objectKeyParameterName 'ssm-seed' is not an SSM parameter name \(names starting with 'aws' or 'ssm' are reserved by SSM\)/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'objectKeyParameterName',
    value: '/mlops/code/my seed',
    make: () => seedAsset({ path: seedFolder() }).publishLocation({ objectKeyParameterName: '/mlops/code/my seed' }),
    error: /objectKeyParameterName '\/mlops\/code\/my seed' is not an SSM parameter name \(it holds a character other than/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'bucketParameterName',
    value: '/mlops//seed_bucket',
    make: () => seedAsset({ path: seedFolder() }).publishLocation({ objectKeyParameterName: '/mlops/code/mine', bucketParameterName: '/mlops//seed_bucket' }),
    error: /bucketParameterName '\/mlops\/\/seed_bucket' is not an SSM parameter name \(it has an empty level\)/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'objectKeyParameterName',
    value: '/mlops/code/seed_bucket',
    make: () => seedAsset({ path: seedFolder() }).publishLocation({ objectKeyParameterName: '/mlops/code/seed_bucket' }),
    error: /objectKeyParameterName '\/mlops\/code\/seed_bucket' is also the bucketParameterName; an SSM parameter holds one value: give the object key a name of its own/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'objectKeyParameterName',
    value: '/mlops/code/shared',
    make: () => {
      const s = stack();
      new SeedCodeAsset(s, 'A', { path: seedFolder() }).publishLocation({ objectKeyParameterName: '/mlops/code/shared' });
      new SeedCodeAsset(s, 'B', { path: seedFolder() }).publishLocation({ objectKeyParameterName: '/mlops/code/shared' });
    },
    error: /SeedCodeAsset S\/B: objectKeyParameterName '\/mlops\/code\/shared' is already published by 'S\/A'; an SSM parameter holds one value: give each asset a name of its own/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'publishLocation',
    value: undefined,
    make: () => {
      const asset = SeedCodeAsset.fromBundledApp(stack(), 'A', BundledSeedApp.BUILD_APP);
      asset.publishLocation();
      asset.publishLocation();
    },
    error: /SeedCodeAsset S\/A: publishLocation\(\) was called before, and an asset publishes its location once; call it once/,
  },
  {
    on: 'SeedCodeAsset.publishLocation',
    prop: 'objectKeyParameterName',
    value: undefined,
    make: () => seedAsset({ path: seedFolder() }).publishLocation(),
    error: /objectKeyParameterName is required to publish the location of '.*' \(it has a default only for the bundled apps/,
  },

  // --- SeedCode ---
  { on: 'SeedCode.fromDirectory', prop: 'directory', value: '', make: () => SeedCode.fromDirectory(''), error: /SeedCode\.fromDirectory: directory '' is empty, which would zip the folder the app runs in; give the folder of starter code/ },
  { on: 'SeedCode.fromDirectory', prop: 'path', value: '/no/such/seed', make: () => build({ seedCode: SeedCode.fromDirectory('/no/such/seed') }), error: /path '\/no\/such\/seed' does not exist/ },
  { on: 'SeedCode.fromBucket', prop: 'bucketName', value: '', make: () => SeedCode.fromBucket('', 'seed.zip'), error: /SeedCode\.fromBucket: bucketName '' is not an S3 bucket name \(it has 0 characters, S3 allows 3-63\); use 3-63 lowercase letters/ },
  { on: 'SeedCode.fromBucket', prop: 'bucketName', value: 's3://seeds', make: () => SeedCode.fromBucket('s3://seeds', 'seed.zip'), error: /bucketName 's3:\/\/seeds' is not an S3 bucket name \(give the bucket name alone, without 's3:\/\/'/ },
  { on: 'SeedCode.fromBucket', prop: 'bucketName', value: 'My_Seeds', make: () => SeedCode.fromBucket('My_Seeds', 'seed.zip'), error: /bucketName 'My_Seeds' is not an S3 bucket name \(S3 allows lowercase letters/ },
  { on: 'SeedCode.fromBucket', prop: 'objectKey', value: '', make: () => SeedCode.fromBucket('seeds', ''), error: /objectKey '' is not the key of a zip archive in bucket 'seeds'; use the key without a leading '\/'/ },
  { on: 'SeedCode.fromBucket', prop: 'objectKey', value: '/build.zip', make: () => SeedCode.fromBucket('seeds', '/build.zip'), error: /objectKey '\/build\.zip' is not the key of a zip archive/ },
  { on: 'SeedCode.fromSsmParameters', prop: 'objectKeyParameterName', value: '', make: () => SeedCode.fromSsmParameters(''), error: /objectKeyParameterName '' is not an SSM parameter name \(it is empty\)/ },
  { on: 'SeedCode.fromSsmParameters', prop: 'objectKeyParameterName', value: 'mlops/code/build', make: () => SeedCode.fromSsmParameters('mlops/code/build'), error: /objectKeyParameterName 'mlops\/code\/build' is not an SSM parameter name \(it has levels but does not start with '\/'\)/ },
  { on: 'SeedCode.fromSsmParameters', prop: 'objectKeyParameterName', value: '/mlops/code/seed_bucket', make: () => SeedCode.fromSsmParameters('/mlops/code/seed_bucket'), error: /objectKeyParameterName '\/mlops\/code\/seed_bucket' is also the bucketParameterName/ },
  {
    on: 'SeedCode.fromAsset',
    prop: 'asset',
    value: undefined,
    make: () => {
      const app = testApp();
      const other = new Stack(app, 'Other', { env: ENV });
      build({ seedCode: SeedCode.fromAsset(SeedCodeAsset.fromBundledApp(other, 'A', BundledSeedApp.BUILD_APP)) }, new Stack(app, 'Project', { env: ENV }));
    },
    error: /SeedCode\.fromAsset: the asset 'Other\/A' is in stack 'Other' but is used in 'Project'; create the asset in the stack that uses it/,
  },

  // --- SourceRepository.codeConnection ---
  { on: 'SourceRepository.codeConnection', prop: 'apiUrl', value: 'http://github.example.com/api/v3', make: () => connection({ provider: GitProvider.GITHUB_ENTERPRISE, apiUrl: 'http://github.example.com/api/v3' }), error: /apiUrl 'http:\/\/github\.example\.com\/api\/v3' must start with https:\/\/, or the personal access token .* is sent in clear text; use/ },
  { on: 'SourceRepository.codeConnection', prop: 'apiUrl', value: 'https://***@github.example.com/api/v3', make: () => connection({ provider: GitProvider.GITHUB_ENTERPRISE, apiUrl: 'https://bot:ghp_secret@github.example.com/api/v3' }), error: /apiUrl 'https:\/\/\*\*\*@github\.example\.com\/api\/v3' holds credentials, which would be written into the template; use the address alone/ },
  { on: 'SourceRepository.codeConnection', prop: 'apiUrl', value: 'github.example.com', make: () => connection({ provider: GitProvider.GITHUB_ENTERPRISE, apiUrl: 'github.example.com' }), error: /apiUrl 'github\.example\.com' is not a URL; use the API's base address/ },
  { on: 'SourceRepository.codeConnection', prop: 'apiUrl', value: 'https://api.github.example.com', make: () => connection({ apiUrl: 'https://api.github.example.com' }), error: /apiUrl 'https:\/\/api\.github\.example\.com' is given for GitProvider\.GITHUB, which is always https:\/\/api\.github\.com, so the token would go to another host; use GitProvider\.GITHUB_ENTERPRISE/ },
  { on: 'SourceRepository.codeConnection', prop: 'apiUrl', value: undefined, make: () => SourceRepository.codeConnection({ provider: GitProvider.BITBUCKET, owner: 'acme', apiUrl: 'https://api.bitbucket.org/2.0' }), error: /apiUrl is given but createRepository is false, so nothing would use it; leave it out, or set createRepository: true/ },
  { on: 'SourceRepository.codeConnection', prop: 'tokenSecretArn', value: undefined, make: () => SourceRepository.codeConnection({ provider: GitProvider.GITHUB, owner: 'acme', createRepository: false, tokenSecretArn: SECRET_ARN }), error: /tokenSecretArn is given but createRepository is false, so nothing would use it; leave it out/ },
  { on: 'SourceRepository.codeConnection', prop: 'tokenSecretArn', value: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token', make: () => connection({ tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token' }), error: /tokenSecretArn 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token' is not the complete ARN of a Secrets Manager secret .*; use arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf, or tokenSecret/ },
  { on: 'SourceRepository.codeConnection', prop: 'tokenSecretArn', value: 'arn:aws:ssm:eu-west-1:111111111111:parameter/git-token', make: () => connection({ tokenSecretArn: 'arn:aws:ssm:eu-west-1:111111111111:parameter/git-token' }), error: /tokenSecretArn 'arn:aws:ssm:eu-west-1:111111111111:parameter\/git-token' is not the complete ARN of a Secrets Manager secret/ },
  {
    on: 'SourceRepository.codeConnection',
    prop: 'tokenSecret',
    value: undefined,
    make: () => {
      const s = stack();
      connection({ tokenSecret: secretsmanager.Secret.fromSecretCompleteArn(s, 'T', SECRET_ARN) });
    },
    error: /give tokenSecret or tokenSecretArn, not both/,
  },
  { on: 'SourceRepository.codeConnection', prop: 'tokenSecret', value: undefined, make: () => SourceRepository.codeConnection({ owner: 'acme' }), error: /createRepository needs a token to create the repositories with; give tokenSecret or tokenSecretArn/ },
  { on: 'SourceRepository.codeConnection', prop: 'createRepository', value: undefined, make: () => SourceRepository.codeConnection({ provider: GitProvider.BITBUCKET, createRepository: true, tokenSecretArn: SECRET_ARN }), error: /creating repositories on Bitbucket is not supported; create them yourself and set createRepository: false/ },
  { on: 'SourceRepository.codeConnection', prop: 'provider', value: 'Gitea', make: () => connection({ provider: 'Gitea' as GitProvider }), error: /provider 'Gitea' is not a git provider; use GitProvider\.GITHUB, GITHUB_ENTERPRISE, GITLAB or BITBUCKET/ },
  { on: 'SourceRepository.codeConnection', prop: 'apiUrl', value: undefined, make: () => connection({ provider: GitProvider.GITHUB_ENTERPRISE }), error: /GitHub Enterprise Server needs apiUrl to create repositories; give its API's base address, e\.g\. https:\/\/github\.example\.com\/api\/v3/ },
  { on: 'SourceRepository.codeConnection', prop: 'connectionArn', value: 'arn:aws:codecommit:eu-west-1:111111111111:connection/abc', make: () => connection({ connectionArn: 'arn:aws:codecommit:eu-west-1:111111111111:connection/abc' }), error: /connectionArn 'arn:aws:codecommit:eu-west-1:111111111111:connection\/abc' is not the ARN of a connection; use arn:aws:codeconnections:/ },
  { on: 'SourceRepository.codeConnection', prop: 'connectionArn', value: 'eu-wset-1', make: () => build({ source: connection({ connectionArn: CONNECTION.replace('eu-west-1', 'eu-wset-1') }) }), error: /connectionArn '.*eu-wset-1.*': region 'eu-wset-1' is not an AWS region \(did you mean 'eu-west-1'\?\); use a region name aws-cdk-lib knows/ },
  { on: 'SourceRepository.codeConnection', prop: 'connectionArn', value: CONNECTION.replace('eu-west-1', 'us-east-1'), make: () => build({ source: connection({ connectionArn: CONNECTION.replace('eu-west-1', 'us-east-1') }) }), error: /connectionArn '.*' is a connection of region us-east-1, but the pipeline is created in eu-west-1, and CodePipeline uses connections of its own region only; create a connection in eu-west-1/ },
  { on: 'SourceRepository.codeConnection', prop: 'connectionArn', value: CONNECTION.replace('arn:aws:', 'arn:aws-cn:'), make: () => build({ source: connection({ connectionArn: CONNECTION.replace('arn:aws:', 'arn:aws-cn:') }) }), error: /connectionArn 'arn:aws-cn:.*' is in partition 'aws-cn', but region eu-west-1 is in 'aws'; use arn:aws:codeconnections:eu-west-1/ },
  { on: 'SourceRepository.codeConnection', prop: 'owner', value: '', make: () => connection({ owner: '' }), error: /owner '' is not a user, organization, group or workspace name; use letters, digits/ },
  { on: 'SourceRepository.codeConnection', prop: 'owner', value: 'acme corp', make: () => connection({ owner: 'acme corp' }), error: /owner 'acme corp' is not a user, organization, group or workspace name/ },
  { on: 'SourceRepository.codeConnection', prop: 'owner', value: 'acme/ml', make: () => connection({ owner: 'acme/ml' }), error: /owner 'acme\/ml' holds '\/', which only GitLab subgroups have; use the GitHub user, organization or workspace name alone/ },
  { on: 'SourceRepository.codeConnection', prop: 'removalPolicy', value: 'snapshot', make: () => connection({ removalPolicy: RemovalPolicy.SNAPSHOT }), error: /removalPolicy 'snapshot' is not supported .*; use RemovalPolicy\.RETAIN \(the default\), RemovalPolicy\.DESTROY or RemovalPolicy\.RETAIN_ON_UPDATE_OR_DELETE/ },

  // --- BuildPipeline ---
  { on: 'BuildPipeline', prop: 'projectName', value: '', make: () => build({ projectName: '' }), error: /BuildPipeline S\/Build: projectName '' is invalid; use 1-32 letters, digits or hyphens/ },
  { on: 'BuildPipeline', prop: 'projectName', value: ' churn', make: () => build({ projectName: ' churn' }), error: /projectName ' churn' is invalid; use 1-32/ },
  { on: 'BuildPipeline', prop: 'projectId', value: 'P-ABC', make: () => build({ projectId: 'P-ABC' }), error: /projectId 'P-ABC' is invalid; use 1-16 lowercase letters/ },
  { on: 'BuildPipeline', prop: 'modelPackageGroupName', value: 'churn_models', make: () => build({ modelPackageGroupName: 'churn_models' }), error: /modelPackageGroupName 'churn_models' is invalid; use 1-63 characters: letters and digits, with '-' between them/ },
  { on: 'BuildPipeline', prop: 'modelPackageGroupName', value: 'm'.repeat(64), make: () => build({ modelPackageGroupName: 'm'.repeat(64) }), error: /modelPackageGroupName 'm{64}' is invalid; use 1-63/ },
  { on: 'BuildPipeline', prop: 'repositoryName', value: '', make: () => build({ repositoryName: '' }), error: /repositoryName '' is invalid; use 1-100 characters/ },
  { on: 'BuildPipeline', prop: 'repositoryName', value: 'models.git', make: () => build({ repositoryName: 'models.git' }), error: /repositoryName 'models\.git' is invalid; CodeCommit repository names cannot end in '\.git'/ },
  { on: 'BuildPipeline', prop: 'pipelineName', value: 'churn build', make: () => build({ pipelineName: 'churn build' }), error: /pipelineName 'churn build' is invalid; use 1-100 characters/ },
  { on: 'BuildPipeline', prop: 'sageMakerPipelineName', value: 'churn_pipeline', make: () => build({ sageMakerPipelineName: 'churn_pipeline' }), error: /sageMakerPipelineName 'churn_pipeline' is invalid; use 1-256 characters/ },
  { on: 'BuildPipeline', prop: 'branch', value: '', make: () => build({ branch: '' }), error: /branch '' is not a valid git branch name \(it is empty\); use letters, digits/ },
  { on: 'BuildPipeline', prop: 'branch', value: 'main branch', make: () => build({ branch: 'main branch' }), error: /branch 'main branch' is not a valid git branch name \(it contains a space/ },
  { on: 'BuildPipeline', prop: 'timeout', value: '0 minutes', make: () => build({ timeout: Duration.minutes(0) }), error: /timeout '0 minutes' is not a CodeBuild timeout; use whole minutes from 5 minutes to 36 hours/ },
  { on: 'BuildPipeline', prop: 'timeout', value: '30 seconds', make: () => build({ timeout: Duration.seconds(30) }), error: /timeout '30 seconds' is not a CodeBuild timeout/ },
  { on: 'BuildPipeline', prop: 'timeout', value: '1 day 16 hours', make: () => build({ timeout: Duration.hours(40) }), error: /timeout '1 day 16 hours' is not a CodeBuild timeout/ },
  { on: 'BuildPipeline', prop: 'environmentVariables', value: 'MY VAR', make: () => build({ environmentVariables: { 'MY VAR': 'x' } }), error: /environmentVariables name 'MY VAR' is not a variable name a build can read; use letters, digits and '_'/ },
  { on: 'BuildPipeline', prop: 'environmentVariables', value: 'CODEBUILD_SRC_DIR', make: () => build({ environmentVariables: { CODEBUILD_SRC_DIR: '/tmp' } }), error: /environmentVariables name 'CODEBUILD_SRC_DIR' starts with 'CODEBUILD_', which CodeBuild reserves for its own variables; use another name/ },
  {
    on: 'BuildPipeline',
    prop: 'environmentVariables',
    value: 'SAGEMAKER_PIPELINE_DESCRIPTION',
    make: () => build({ environmentVariables: { SAGEMAKER_PIPELINE_DESCRIPTION: 'custom' } }),
    accept: 'documented: environmentVariables override the defaults of the same name',
    check: (pipeline: BuildPipeline) => Template.fromStack(Stack.of(pipeline)).hasResourceProperties('AWS::CodeBuild::Project', {
      Environment: Match.objectLike({ EnvironmentVariables: Match.arrayWith([{ Name: 'SAGEMAKER_PIPELINE_DESCRIPTION', Type: 'PLAINTEXT', Value: 'custom' }]) }),
    }),
  },
  { on: 'BuildPipeline', prop: 'repositoryRemovalPolicy', value: 'snapshot', make: () => build({ repositoryRemovalPolicy: RemovalPolicy.SNAPSHOT }), error: /BuildPipeline S\/Build: repositoryRemovalPolicy 'snapshot' is not supported \(buckets, keys, repositories and model package groups take no snapshot, and CloudFormation refuses the Snapshot policy on them \(cfn-lint E3035\)\); use RemovalPolicy\.RETAIN/ },
  {
    on: 'BuildPipeline',
    prop: 'artifactBucket',
    value: 'S/Plain',
    make: () => {
      const s = stack();
      new BuildPipeline(s, 'Build', { projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket: new s3.Bucket(s, 'Plain'), seedCode: SEED });
    },
    error: /artifactBucket 'S\/Plain' has no encryptionKey; give a bucket encrypted with a KMS key, or pass the key as artifactKey/,
  },
  {
    on: 'BuildPipeline.pipeline',
    prop: 'pipeline stages',
    value: undefined,
    make: () => {
      const s = stack();
      const pipeline = new BuildPipeline(s, 'Build', { projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket: artifactBucket(s), seedCode: SEED });
      for (let i = 0; i < 49; i++) pipeline.pipeline.addStage({ stageName: `Extra${i}`, actions: [new actions.ManualApprovalAction({ actionName: 'Approve' })] });
      synth(s);
    },
    error: /BuildPipeline S\/Build: the pipeline has 51 stages; CodePipeline allows at most 50; remove or merge stages/,
  },

  // --- DeployPipeline and DeploymentStage ---
  { on: 'DeployPipeline', prop: 'stages', value: undefined, make: () => deploy([]), error: /stages is empty; give at least one deployment stage/ },
  { on: 'DeployPipeline', prop: 'stages', value: undefined, make: () => deploy(manyStages(49)), error: /DeployPipeline: stages has 49 stages; use at most 48: a CodePipeline has at most 50 stages/ },
  { on: 'DeploymentStage', prop: 'name', value: 'Prod', make: () => deploy([{ name: 'Prod' }]), error: /stages\[0\]\.name 'Prod' is invalid; use 1-20 lowercase letters, digits or hyphens, starting with a letter/ },
  { on: 'DeploymentStage', prop: 'name', value: '', make: () => deploy([{ name: '' }]), error: /stages\[0\]\.name '' is invalid; use 1-20/ },
  { on: 'DeploymentStage', prop: 'name', value: 'eu--prod', make: () => deploy([{ name: 'eu-prod' }, { name: 'eu--prod' }]), error: /stages 'eu-prod' and 'eu--prod' both become pipeline stage 'DeployEuProd'; rename one/ },
  { on: 'DeploymentStage', prop: 'account', value: '12345', make: () => deploy([{ name: 'dev', account: '12345' }]), error: /stages\[0\]\.account '12345' is not an AWS account id; use exactly 12 digits/ },
  { on: 'DeploymentStage', prop: 'account', value: ' 222222222222', make: () => deploy([{ name: 'dev', account: ' 222222222222' }]), error: /stages\[0\]\.account ' 222222222222' is not an AWS account id; use exactly 12 digits/ },
  { on: 'DeploymentStage', prop: 'region', value: 'eu-wset-1', make: () => deploy([{ name: 'dev', region: 'eu-wset-1' }]), error: /stages\[0\]\.region 'eu-wset-1' is not an AWS region \(did you mean 'eu-west-1'\?\); use a region name aws-cdk-lib knows/ },
  { on: 'DeploymentStage', prop: 'region', value: 'Europe', make: () => deploy([{ name: 'dev', region: 'Europe' }]), error: /stages\[0\]\.region 'Europe' is not an AWS region name; use a name such as 'eu-west-1'/ },
  {
    on: 'DeploymentStage',
    prop: 'region',
    value: 'us-east-1',
    make: () => deploy([{ name: 'dev' }, { name: 'dr', account: '222222222222', region: 'us-east-1' }]),
    accept: 'documented: a fixed region other than the project\'s is deployed there, by a build that deploys through that region\'s bootstrap roles',
    check: (s: Stack) => {
      const stages = Object.values<any>(Template.fromStack(s).findResources('AWS::CodePipeline::Pipeline'))[0].Properties.Stages;
      const dr = stages.find((stage: any) => stage.Name === 'DeployDr').Actions.find((a: any) => a.Name === 'Deploy_CFN_Dr');
      expect(dr.ActionTypeId.Provider).toBe('CodeBuild');
      expect(JSON.stringify(dr.Configuration)).toContain('us-east-1');
    },
  },
  { on: 'DeploymentStage', prop: 'accountParameterName', value: '', make: () => deploy([{ name: 'prod', accountParameterName: '' }]), error: /stages\[0\]\.accountParameterName '' is not a CloudFormation parameter name; use 1-255 letters and digits/ },
  { on: 'DeploymentStage', prop: 'accountParameterName', value: 'Prod-Account', make: () => deploy([{ name: 'prod', accountParameterName: 'Prod-Account' }]), error: /stages\[0\]\.accountParameterName 'Prod-Account' is not a CloudFormation parameter name/ },
  { on: 'DeploymentStage', prop: 'accountParameterName', value: 'SageMakerProjectId', make: () => template({ stages: [{ name: 'dev' }, { name: 'prod', accountParameterName: 'SageMakerProjectId' }] }), error: /MLOpsProjectTemplate T: stages\[1\]\.accountParameterName 'SageMakerProjectId' is a parameter the template sets itself \(reserved: SageMakerProjectName, SageMakerProjectId, GitConnectionArn, GitOwner\), which would be taken as the stage's account; use another name/ },
  { on: 'DeploymentStage', prop: 'regionParameterName', value: 'GitOwner', make: () => template({ stages: [{ name: 'dev' }, { name: 'prod', account: '333333333333', regionParameterName: 'GitOwner' }] }), error: /stages\[1\]\.regionParameterName 'GitOwner' is a parameter the template sets itself/ },
  { on: 'DeploymentStage', prop: 'regionParameterName', value: 'ProdAccount', make: () => deploy([{ name: 'prod', accountParameterName: 'ProdAccount', regionParameterName: 'ProdAccount' }]), error: /stages\[0\]\.regionParameterName 'ProdAccount' names the parameter that holds the account of another stage; a parameter holds either an account or a region: give the region a parameter of its own/ },
  {
    on: 'DeploymentStage',
    prop: 'accountParameterName',
    value: 'Environment',
    make: () => {
      const s = stack();
      new CfnParameter(s, 'Environment', { type: 'String' });
      deploy([{ name: 'prod', accountParameterName: 'Environment' }], {}, s);
    },
    error: /stages\[0\]\.accountParameterName 'Environment' is already the logical id of 'S\/Environment' in stack 'S'; use another name/,
  },
  {
    on: 'DeploymentStage',
    prop: 'accountParameterName',
    value: 'ProjectKey',
    make: () => template({ stages: [{ name: 'dev' }, { name: 'prod', accountParameterName: 'ProjectKey' }] }),
    accept: 'a parameter may share its name with a construct of the template: parameters have construct ids of their own, and keep the name as logical id',
    check: ({ construct }) => synthesized(construct).hasParameter('ProjectKey', { AllowedPattern: '^\\d{12}$' }),
  },
  { on: 'DeploymentStage', prop: 'actionRoleArn', value: 'not-an-arn', make: () => deploy([{ name: 'dev', actionRoleArn: 'not-an-arn' }]), error: /stages\[0\]\.actionRoleArn 'not-an-arn' is not the ARN of an IAM role; use arn:aws:iam::<12-digit account>:role\/<name>/ },
  { on: 'DeploymentStage', prop: 'actionRoleArn', value: 'arn:aws:iam::222222222222:user/deployer', make: () => deploy([{ name: 'prod', account: '222222222222', actionRoleArn: 'arn:aws:iam::222222222222:user/deployer' }]), error: /actionRoleArn 'arn:aws:iam::222222222222:user\/deployer' is not the ARN of an IAM role/ },
  { on: 'DeploymentStage', prop: 'deploymentRoleArn', value: 'arn:aws:iam::444444444444:role/cfn-exec', make: () => deploy([{ name: 'prod', account: '222222222222', deploymentRoleArn: 'arn:aws:iam::444444444444:role/cfn-exec' }]), error: /deploymentRoleArn 'arn:aws:iam::444444444444:role\/cfn-exec' is a role of account 444444444444, not of the stage's account 222222222222; .*use a role of 222222222222/ },
  { on: 'DeploymentStage', prop: 'actionRoleArn', value: 'arn:aws-cn:iam::222222222222:role/deploy', make: () => deploy([{ name: 'prod', account: '222222222222', actionRoleArn: 'arn:aws-cn:iam::222222222222:role/deploy' }]), error: /actionRoleArn 'arn:aws-cn:iam::222222222222:role\/deploy' is in partition 'aws-cn', but the stage deploys in eu-west-1, of partition 'aws'; use arn:aws:iam::/ },
  { on: 'DeployPipeline', prop: 'bootstrapQualifier', value: '', make: () => deploy([{ name: 'dev' }], { bootstrapQualifier: '' }), error: /bootstrapQualifier '' is invalid; use 1-10 letters, digits, '_' or '-'/ },
  { on: 'DeployPipeline', prop: 'bootstrapQualifier', value: 'hnb659fds-long', make: () => deploy([{ name: 'dev' }], { bootstrapQualifier: 'hnb659fds-long' }), error: /bootstrapQualifier 'hnb659fds-long' is invalid; use 1-10/ },
  { on: 'DeployPipeline', prop: 'modelApprovalStatuses', value: undefined, make: () => deploy([{ name: 'dev' }], { modelApprovalStatuses: [] }), error: /modelApprovalStatuses is empty; give one or more of Approved, Rejected, PendingManualApproval/ },
  { on: 'DeployPipeline', prop: 'modelApprovalStatuses', value: 'approved', make: () => deploy([{ name: 'dev' }], { modelApprovalStatuses: ['approved'] }), error: /modelApprovalStatuses\[0\] 'approved' is not a model approval status; use Approved, Rejected, PendingManualApproval/ },
  { on: 'DeployPipeline', prop: 'modelApprovalStatuses', value: 'Approved', make: () => deploy([{ name: 'dev' }], { modelApprovalStatuses: ['Approved', 'Approved'] }), error: /modelApprovalStatuses\[1\] 'Approved' is listed twice; list each status once/ },
  { on: 'DeployPipeline', prop: 'modelPackageGroupName', value: 'churn models', make: () => deploy([{ name: 'dev' }], { modelPackageGroupName: 'churn models' }), error: /DeployPipeline S\/Deploy: modelPackageGroupName 'churn models' is invalid/ },
  { on: 'DeployPipeline', prop: 'repositoryRemovalPolicy', value: 'snapshot', make: () => deploy([{ name: 'dev' }], { repositoryRemovalPolicy: RemovalPolicy.SNAPSHOT }), error: /repositoryRemovalPolicy 'snapshot' is not supported/ },
  {
    on: 'DeployPipeline',
    prop: 'pipelineArtifactBucket',
    value: 'S/Imported',
    make: () => {
      const s = stack();
      deploy([{ name: 'dev' }, { name: 'prod', account: '333333333333' }], { pipelineArtifactBucket: s3.Bucket.fromBucketName(s, 'Imported', 'shared-artifacts') }, s);
    },
    error: /pipelineArtifactBucket 'S\/Imported' is imported, so its bucket policy cannot be changed, and stage 'prod' deploys to another account.*; give a bucket defined in this app, or leave pipelineArtifactBucket out/,
  },
  {
    on: 'DeployPipeline',
    prop: 'pipelineArtifactBucket',
    value: 'S/S3Managed',
    make: () => {
      const s = stack();
      deploy([{ name: 'dev' }, { name: 'prod', account: '333333333333' }], { pipelineArtifactBucket: new s3.Bucket(s, 'S3Managed', { encryption: s3.BucketEncryption.S3_MANAGED }) }, s);
    },
    error: /pipelineArtifactBucket 'S\/S3Managed' is not encrypted with a KMS key defined in this app, and stage 'prod' deploys to another account.*; give a bucket with encryptionKey set to a kms\.Key of this app/,
  },
  {
    on: 'DeploymentStage',
    prop: 'account',
    value: '222222222222 (twice)',
    make: () => deploy([{ name: 'dev' }, { name: 'preprod', account: '222222222222' }, { name: 'prod', account: '222222222222' }]),
    accept: 'documented: two stages may share an account; each policy lists the account\'s roles once',
    check: (s: Stack) => {
      const key = Object.values<any>(Template.fromStack(s).findResources('AWS::KMS::Key')).find(k => JSON.stringify(k).includes('DeploymentStageRolesDecryptArtifacts'));
      const statement = key.Properties.KeyPolicy.Statement.find((st: any) => st.Sid === 'DeploymentStageRolesDecryptArtifacts');
      // dev's two bootstrap roles, and the shared account's two, once.
      expect(statement.Principal.AWS).toHaveLength(4);
      expect(statement.Principal.AWS.filter((p: unknown) => JSON.stringify(p).includes('222222222222'))).toHaveLength(2);
    },
  },
  {
    on: 'DeploymentStage',
    prop: 'stages',
    value: undefined,
    make: () => deploy(manyStages(40, i => ({
      name: `s${i}`,
      account: String(200000000000 + i),
      actionRoleArn: `arn:aws:iam::${200000000000 + i}:role/${'p'.repeat(300)}/deploy`,
      deploymentRoleArn: `arn:aws:iam::${200000000000 + i}:role/${'p'.repeat(300)}/exec`,
    }))),
    error: /the key policy of 'S\/Deploy\/ArtifactsBucketKey\/Resource' would have about \d+ characters once deployed; KMS allows at most 32768; use fewer deployment stages or accounts, or shorter role ARNs/,
  },
  {
    on: 'DeployPipeline',
    prop: 'stack',
    value: 'S',
    make: () => {
      const s = stack();
      for (let i = 0; i < 480; i++) new CfnResource(s, `Queue${i}`, { type: 'AWS::SQS::Queue' });
      deploy([{ name: 'dev' }], {}, s);
    },
    error: /DeployPipeline S\/Deploy: stack 'S' has 5\d\d resources; CloudFormation allows at most 500 per template; use fewer stages or split the template/,
  },

  // --- MLOpsProjectTemplate ---
  { on: 'MLOpsProjectTemplate', prop: 'removalPolicy', value: 'snapshot', make: () => template({ removalPolicy: RemovalPolicy.SNAPSHOT }), error: /MLOpsProjectTemplate T: removalPolicy 'snapshot' is not supported .*cfn-lint E3035.*; use RemovalPolicy\.RETAIN \(the default\), RemovalPolicy\.DESTROY or RemovalPolicy\.RETAIN_ON_UPDATE_OR_DELETE/ },
  { on: 'MLOpsProjectTemplate', prop: 'removalPolicy', value: 'delete', make: () => template({ removalPolicy: 'delete' as RemovalPolicy }), error: /removalPolicy 'delete' is not supported \(it is not a RemovalPolicy\)/ },
  { on: 'MLOpsProjectTemplate', prop: 'stageOutputPrefix', value: 'batch/*', make: () => template({ stageOutputPrefix: 'batch/*' }), error: /MLOpsProjectTemplate T: stageOutputPrefix 'batch\/\*' is not a key prefix of the artifact bucket; use folders of letters, digits, '_', '.' or '-', each ending in '\/', such as 'batch\/'/ },
  { on: 'MLOpsProjectTemplate', prop: 'stageOutputPrefix', value: '../', make: () => template({ stageOutputPrefix: '../' }), error: /stageOutputPrefix '\.\.\/' is not a key prefix of the artifact bucket/ },
  {
    on: 'MLOpsProjectTemplate',
    prop: 'removalPolicy',
    value: 'destroy',
    make: () => template({ removalPolicy: RemovalPolicy.DESTROY, bringYourOwnContainer: true }),
    accept: 'documented: DESTROY deletes with the project (ECR with its images), keeps what an update replaces, and warns that buckets and the model registry must be empty',
    check: ({ construct }) => {
      const t = synthesized(construct);
      t.hasResource('AWS::ECR::Repository', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Retain', Properties: Match.objectLike({ EmptyOnDelete: true }) });
      for (const type of ['AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SageMaker::ModelPackageGroup', 'AWS::CodeCommit::Repository']) {
        for (const resource of Object.values<any>(t.findResources(type))) expect([type, resource.DeletionPolicy, resource.UpdateReplacePolicy]).toEqual([type, 'Delete', 'Retain']);
      }
      const warnings = construct.node.metadata.filter((entry: any) => entry.type === 'aws:cdk:warning').map((entry: any) => String(entry.data));
      expect(warnings).toContainEqual(expect.stringMatching(/removalPolicy is DESTROY: .*deleting the project fails \(DELETE_FAILED\)/));
    },
  },
  { on: 'MLOpsProjectTemplate', prop: 'productName', value: '', make: () => template({ productName: '' }), error: /MLOpsProjectTemplate T: productName '' has 0 characters; use 1-100/ },
  { on: 'MLOpsProjectTemplate', prop: 'productName', value: 'p'.repeat(40), make: () => template({ productName: 'p'.repeat(101) }), error: /productName 'p{40}\.\.\.' has 101 characters; use 1-100/ },
  { on: 'MLOpsProjectTemplate', prop: 'branch', value: 'feature..x', make: () => template({ branch: 'feature..x' }), error: /branch 'feature\.\.x' is not a valid git branch name \(it contains '\.\.'\)/ },
  { on: 'MLOpsProjectTemplate', prop: 'buildPipelineOptions.repositoryName', value: 'models', make: () => template({ buildPipelineOptions: { repositoryName: 'models' } }), error: /buildPipelineOptions\.repositoryName 'models' is fixed, so every project made from the template would use the same one and the second project would fail; leave it out .*, or build it from the project name/ },
  { on: 'MLOpsProjectTemplate', prop: 'deployPipelineOptions.pipelineName', value: 'deploy', make: () => template({ deployPipelineOptions: { pipelineName: 'deploy' } }), error: /deployPipelineOptions\.pipelineName 'deploy' is fixed/ },
  {
    on: 'MLOpsProjectTemplate',
    prop: 'deployPipelineOptions.repositoryName',
    value: undefined,
    make: () => template({
      buildPipelineOptions: { repositoryName: Fn.join('-', [Fn.ref('SageMakerProjectName'), 'code']) },
      deployPipelineOptions: { repositoryName: Fn.join('-', [Fn.ref('SageMakerProjectName'), 'code']) },
    }),
    error: /buildPipelineOptions\.repositoryName and deployPipelineOptions\.repositoryName are the same; .*give them different names/,
  },
  { on: 'MLOpsProjectTemplate', prop: 'notifications.emails', value: 'ml-platform', make: () => template({ notifications: { emails: ['ml-platform'] } }), error: /MLOpsProjectTemplate T: notifications\.emails\[0\] 'ml-platform' is not an email address; use an address such as/ },
  { on: 'MLOpsProjectTemplate', prop: 'notifications.emails', value: 'a b@example.com', make: () => template({ notifications: { emails: ['ok@example.com', 'a b@example.com'] } }), error: /notifications\.emails\[1\] 'a b@example\.com' is not an email address/ },
  { on: 'MLOpsProjectTemplate', prop: 'notifications.emailParameterName', value: 'Notification-Email', make: () => template({ notifications: { emailParameterName: 'Notification-Email' } }), error: /notifications\.emailParameterName 'Notification-Email' is not a CloudFormation parameter name; use 1-255 letters and digits/ },
  { on: 'MLOpsProjectTemplate', prop: 'notifications.emailParameterName', value: 'SageMakerProjectId', make: () => template({ notifications: { emailParameterName: 'SageMakerProjectId' } }), error: /notifications\.emailParameterName 'SageMakerProjectId' is already the logical id of a parameter or resource of the template; use another name/ },
  { on: 'MLOpsProjectTemplate', prop: 'notifications.events', value: undefined, make: () => template({ notifications: { events: [] } }), error: /notifications\.events is empty, so the topic would never be notified; leave it out/ },
  { on: 'MLOpsProjectTemplate', prop: 'notifications.events', value: 'FAILED', make: () => template({ notifications: { events: ['FAILED' as any] } }), error: /notifications\.events 'FAILED' is not a ProjectNotificationEvent; use PIPELINE_FAILED/ },
  { on: 'MLOpsProjectTemplate', prop: 'buildPipelineOptions.timeout', value: '0 minutes', make: () => template({ buildPipelineOptions: { timeout: Duration.minutes(0) } }), error: /timeout '0 minutes' is not a CodeBuild timeout/ },
  { on: 'MLOpsProjectTemplate', prop: 'stages', value: undefined, make: () => template({ stages: manyStages(60, i => ({ name: `s${i}`, account: String(200000000000 + i) })) }), error: /MLOpsProjectTemplate T: stages has 60 stages; use at most 48/ },
  { on: 'MLOpsProjectTemplate', prop: 'stages[].accountParameterName', value: 'SageMakerProjectName', make: () => template({ stages: [{ name: 'dev' }, { name: 'prod', accountParameterName: 'SageMakerProjectName' }] }), error: /accountParameterName 'SageMakerProjectName' is a parameter the template sets itself/ },
  {
    on: 'MLOpsProjectTemplate',
    prop: 'stages[].accountParameterName',
    value: '48 account parameters',
    make: () => template({ stages: manyStages(48, i => ({ name: `s${i}`, accountParameterName: `Account${i}` })) }),
    accept: '48 stages with an account parameter each fit every quota: 50 pipeline stages, 200 parameters, 500 resources, policy sizes',
    check: ({ construct }) => expect(Object.keys(synthesized(construct).toJSON().Parameters)).toHaveLength(50),
  },
  {
    on: 'MLOpsProjectTemplate',
    prop: 'assetBucket',
    value: undefined,
    make: () => new MLOpsProjectTemplate(stack(), 'Loose', { stages: [{ name: 'dev' }] }),
    error: /MLOpsProjectTemplate Loose: its seed code .* is a file asset, .*; create the template inside a ProjectPortfolio/,
  },

  // --- The preset templates ---
  { on: 'BasicProjectTemplate', prop: 'preProdAccount', value: '', make: () => new BasicProjectTemplate(portfolio(), 'B', { preProdAccount: '', prodAccount: '333333333333', deploymentRegion: 'eu-west-1' }), error: /BasicProjectTemplate B: preProdAccount '' is not an AWS account id; use exactly 12 digits/ },
  { on: 'BasicProjectTemplate', prop: 'deploymentRegion', value: 'eu-wset-1', make: () => new BasicProjectTemplate(portfolio(), 'B', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-wset-1' }), error: /BasicProjectTemplate B: deploymentRegion 'eu-wset-1' is not an AWS region \(did you mean 'eu-west-1'\?\)/ },
  {
    on: 'BasicProjectTemplate',
    prop: 'deploymentRegion',
    value: 'us-east-1',
    make: () => new BasicProjectTemplate(portfolio(), 'B', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'us-east-1' }),
    accept: 'documented: preprod and prod in another region than the portfolio\'s are deployed there',
    check: (t: BasicProjectTemplate) => expect(Object.keys(t.deployPipeline.stageDeploymentProjects)).toEqual(['preprod', 'prod']),
  },
  { on: 'BasicProjectTemplate', prop: 'stages', value: '222222222222', make: () => new BasicProjectTemplate(portfolio(), 'B', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-west-1', stages: [{ name: 'dev' }] }), error: /BasicProjectTemplate B: stages is given, which would replace the dev, preprod and prod stages that preProdAccount '222222222222'.*; leave stages out, or use MLOpsProjectTemplate/ },
  { on: 'ByocProjectTemplate', prop: 'bringYourOwnContainer', value: 'false', make: () => new ByocProjectTemplate(portfolio(), 'C', { bringYourOwnContainer: false }), error: /ByocProjectTemplate C: bringYourOwnContainer 'false' contradicts the template.*; leave it out, or use MLOpsProjectTemplate for a template without a container/ },
  { on: 'ByocProjectTemplate', prop: 'stages', value: undefined, make: () => new ByocProjectTemplate(portfolio(), 'C', { prodAccount: '333333333333', stages: [{ name: 'dev' }] }), error: /ByocProjectTemplate C: stages is given together with preProdAccount, prodAccount or deploymentRegion.*; give the accounts in stages, or leave stages out/ },
  {
    on: 'ByocProjectTemplate',
    prop: 'prodAccount',
    value: '222222222222 (= preProdAccount)',
    make: () => {
      const p = portfolio();
      const construct = new ByocProjectTemplate(p, 'C', { preProdAccount: '222222222222', prodAccount: '222222222222', buildSeedCode: SEED, deploySeedCode: SEED });
      p.addTemplate(construct, { snapshotDirectory: tempDir('snap') });
      return construct;
    },
    accept: 'documented: PREPROD and PROD may be one account; the ECR repository policy lists it once',
    check: (construct: MLOpsProjectTemplate) => {
      const repository = Object.values<any>(productTemplate(construct).findResources('AWS::ECR::Repository'))[0];
      expect(JSON.stringify(repository.Properties.RepositoryPolicyText.Statement[0].Principal.AWS).match(/222222222222/g)).toHaveLength(1);
    },
  },
  {
    on: 'DynamicAccountsProjectTemplate',
    prop: 'DeploymentRegion (entered at launch)',
    value: 'eu-wset-1',
    make: () => {
      const p = portfolio();
      const construct = new DynamicAccountsProjectTemplate(p, 'D', { buildSeedCode: SEED, deploySeedCode: SEED });
      p.addTemplate(construct, { snapshotDirectory: tempDir('snap') });
      return construct;
    },
    accept: 'a region typed at launch cannot be checked at synth: the parameter\'s pattern refuses what is not shaped like a region name before anything is created; '
      + 'a well-shaped name of no region fails the stage\'s deployment build, which cannot reach CloudFormation there, before anything is deployed',
    check: (construct: MLOpsProjectTemplate) => {
      const parameter = productTemplate(construct).toJSON().Parameters.DeploymentRegion;
      expect(parameter.AllowedPattern).toBe('^[a-z]{2,4}(-[a-z]+)+-\\d{1,2}$');
      expect(new RegExp(parameter.AllowedPattern).test('eu-west')).toBe(false);
    },
  },

  // --- ProjectPortfolio ---
  { on: 'ProjectPortfolio', prop: 'env', value: 'NoEnv', make: () => new ProjectPortfolio(new Stack(testApp(), 'NoEnv'), 'P'), error: /stack 'NoEnv' has no account and region.*; give the stack an env/ },
  { on: 'ProjectPortfolio', prop: 'providerName', value: '', make: () => portfolio({ providerName: '' }), error: /ProjectPortfolio P: providerName '' has 0 characters; use 1-50/ },
  { on: 'ProjectPortfolio', prop: 'displayName', value: '', make: () => portfolio({ displayName: '' }), error: /ProjectPortfolio P: displayName '' has 0 characters; use 1-100/ },
  { on: 'ProjectPortfolio', prop: 'description', value: 'd'.repeat(40), make: () => portfolio({ description: 'd'.repeat(2001) }), error: /description 'd{40}\.\.\.' has 2001 characters; use 0-2000/ },
  { on: 'ProjectPortfolio', prop: 'shareWithAccounts', value: '2222', make: () => portfolio({ shareWithAccounts: ['2222'] }), error: /shareWithAccounts contains '2222', which is not an AWS account id; use exactly 12 digits/ },
  { on: 'ProjectPortfolio', prop: 'shareWithAccounts', value: '222222222222', make: () => portfolio({ shareWithAccounts: ['222222222222', '222222222222'] }), error: /shareWithAccounts lists '222222222222' twice; list each account once/ },
  { on: 'ProjectPortfolio', prop: 'shareWithAccounts', value: '111111111111', make: () => portfolio({ shareWithAccounts: ['111111111111'] }), error: /shareWithAccounts lists '111111111111', the account the portfolio is in, which Service Catalog cannot share with; leave it out/ },
  { on: 'ProjectPortfolio', prop: 'organizationId', value: undefined, make: () => portfolio({ shareWithOrganizationalUnits: ['ou-ab12-cdef3456'] }), error: /shareWithOrganizationalUnits needs organizationId \(o-\.\.\.\)/ },
  { on: 'ProjectPortfolio', prop: 'shareWithOrganizationalUnits', value: 'ou-bad', make: () => portfolio({ shareWithOrganizationalUnits: ['ou-bad'], organizationId: 'o-abcdef1234' }), error: /shareWithOrganizationalUnits contains 'ou-bad', which is neither an organizational unit id nor a root id; use ou-xxxx-xxxxxxxx or r-xxxx/ },
  { on: 'ProjectPortfolio', prop: 'organizationId', value: 'org-1', make: () => portfolio({ shareWithOrganizationalUnits: ['ou-ab12-cdef3456'], organizationId: 'org-1' }), error: /organizationId 'org-1' is not an organization id; use the form o-xxxxxxxxxx/ },
  { on: 'ProjectPortfolio', prop: 'executionRoleParameterName', value: '', make: () => portfolio({ executionRoleParameterName: '' }), error: /executionRoleParameterName '' is not an SSM parameter name \(it is empty\)/ },
  { on: 'ProjectPortfolio', prop: 'executionRoleParameterName', value: 'mlops/role/lead', make: () => portfolio({ executionRoleParameterName: 'mlops/role/lead' }), error: /executionRoleParameterName 'mlops\/role\/lead' is not an SSM parameter name \(it has levels but does not start with '\/'\)/ },
  { on: 'ProjectPortfolio', prop: 'principalArns', value: 'data-scientists', make: () => portfolio({ principalArns: ['data-scientists'] }), error: /principalArns\[0\] 'data-scientists' is not the ARN of an IAM role, user or group; use arn:aws:iam::<account>:role\/<name>/ },
  { on: 'ProjectPortfolio', prop: 'principalArns', value: 'arn:aws:iam::111111111111:role/*', make: () => portfolio({ principalArns: ['arn:aws:iam::111111111111:role/*'] }), error: /principalArns\[0\] 'arn:aws:iam::111111111111:role\/\*' is not the ARN of an IAM role, user or group; .*no wildcards/ },
  { on: 'ProjectPortfolio', prop: 'launchRoleName', value: 'launch role', make: () => portfolio({ launchRoleName: 'launch role' }), error: /launchRoleName 'launch role' is not an IAM role name; use 1-64 letters, digits or \+=,\.@_-/ },
  { on: 'ProjectPortfolio', prop: 'launchRoleName', value: 'l'.repeat(65), make: () => portfolio({ launchRoleName: 'l'.repeat(65) }), error: /launchRoleName 'l{65}' is not an IAM role name/ },
  { on: 'ProjectPortfolio', prop: 'permissionsBoundaryPolicyName', value: 'arn:aws:iam::111111111111:policy/Boundary', make: () => portfolio({ permissionsBoundaryPolicyName: 'arn:aws:iam::111111111111:policy/Boundary' }), error: /permissionsBoundaryPolicyName 'arn:aws:iam::111111111111:policy\/Boundary' is not a customer managed policy name; .*give the policy name after 'policy\/', not the ARN/ },
  { on: 'ProjectPortfolio', prop: 'assetBucketName', value: 'My_Templates', make: () => portfolio({ assetBucketName: 'My_Templates' }), error: /assetBucketName 'My_Templates' is not an S3 bucket name known at synth time; use 3-63 lowercase letters/ },
  { on: 'ProjectPortfolio', prop: 'tagOptions', value: 'cost-center', make: () => portfolio({ tagOptions: { 'cost-center': [] } }), error: /tagOptions 'cost-center' has no values; list the values a project may choose for it, or leave the key out/ },
  { on: 'ProjectPortfolio', prop: 'tagOptions key', value: '', make: () => portfolio({ tagOptions: { '': ['ml'] } }), error: /tagOptions key '' has 0 characters; use 1-128/ },

  // --- ProjectPortfolio.addTemplate ---
  {
    on: 'ProjectPortfolio.addTemplate',
    prop: 'template',
    value: undefined,
    make: () => {
      const p = portfolio();
      const t = new MLOpsProjectTemplate(p, 'T', { stages: [{ name: 'dev' }], buildSeedCode: SEED, deploySeedCode: SEED });
      p.addTemplate(t, { snapshotDirectory: tempDir('snap') });
      p.addTemplate(t, { snapshotDirectory: tempDir('snap'), versionName: 'v2' });
    },
    error: /ProjectPortfolio\.addTemplate\(T\): the template is already a product of this portfolio, as version '.*'; add each template once/,
  },
  {
    on: 'ProjectPortfolio.addTemplate',
    prop: 'template',
    value: undefined,
    make: () => {
      const s = stack();
      const first = new ProjectPortfolio(s, 'First');
      const second = new ProjectPortfolio(s, 'Second');
      const t = new MLOpsProjectTemplate(first, 'T', { stages: [{ name: 'dev' }] });
      first.addTemplate(t, { snapshotDirectory: tempDir('snap') });
      second.addTemplate(t, { snapshotDirectory: tempDir('snap') });
    },
    error: /ProjectPortfolio\.addTemplate\(T\): the template is published through 'S\/First', whose asset bucket holds its seed code, which this portfolio's launch role cannot read; create another template inside this portfolio/,
  },
  {
    on: 'ProjectPortfolio.addTemplate',
    prop: 'template',
    value: undefined,
    make: () => {
      const s = stack();
      const first = new ProjectPortfolio(s, 'First');
      const second = new ProjectPortfolio(s, 'Second');
      second.addTemplate(new MLOpsProjectTemplate(s, 'T', { stages: [{ name: 'dev' }], assetBucket: first.assetBucket }), { snapshotDirectory: tempDir('snap') });
    },
    error: /the template keeps its seed code in bucket 'S\/First\/AssetBucket', not in this portfolio's asset bucket, which is the only one its launch role may read; create the template inside this portfolio/,
  },
  { on: 'ProjectPortfolio.addTemplate', prop: 'supportEmail', value: 'ml@acme.company', make: () => template({}, { supportEmail: 'ml@acme.company' }), error: /supportEmail 'ml@acme\.company' is not an email address; use the form name@example\.com: .*top-level domain has 2-4 letters \(aws-cdk-lib's CloudFormationProduct refuses others, such as \.company\)/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'supportEmail', value: 'ml-platform', make: () => template({}, { supportEmail: 'ml-platform' }), error: /supportEmail 'ml-platform' is not an email address; use the form name@example\.com/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'supportEmail', value: 'ml platform@example.com', make: () => template({}, { supportEmail: 'ml platform@example.com' }), error: /supportEmail 'ml platform@example\.com' is not an email address/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'supportUrl', value: 'javascript:alert(1)', make: () => template({}, { supportUrl: 'javascript:alert(1)' }), error: /supportUrl 'javascript:alert\(1\)' is not a URL; use an http:\/\/ or https:\/\/ address/ },
  {
    on: 'ProjectPortfolio.addTemplate',
    prop: 'supportUrl',
    value: 'http://wiki.example.com/ml',
    make: () => template({}, { supportUrl: 'http://wiki.example.com/ml' }),
    accept: 'an http:// support link is a link a user opens, carrying nothing secret; aws-cdk-lib and Service Catalog take it, and so does the library',
    check: ({ portfolio: p }) => Template.fromStack(Stack.of(p)).hasResourceProperties('AWS::ServiceCatalog::CloudFormationProduct', { SupportUrl: 'http://wiki.example.com/ml' }),
  },
  { on: 'ProjectPortfolio.addTemplate', prop: 'versionName', value: '', make: () => template({}, { versionName: '' }), error: /versionName '' is invalid; use 1-100 letters, digits/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'versionName', value: 'v 1', make: () => template({}, { versionName: 'v 1' }), error: /versionName 'v 1' is invalid/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'productName', value: '', make: () => template({}, { productName: '' }), error: /ProjectPortfolio\.addTemplate\(T\): productName '' has 0 characters; use 1-100/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'owner', value: '', make: () => template({}, { owner: '' }), error: /ProjectPortfolio\.addTemplate\(T\): owner '' has 0 characters; use 1-8191/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'versionDescription', value: 'v'.repeat(40), make: () => template({}, { versionDescription: 'v'.repeat(8192) }), error: /versionDescription 'v{40}\.\.\.' has 8192 characters; use 0-8191/ },
  { on: 'ProjectPortfolio.addTemplate', prop: 'snapshotDirectory', value: '', make: () => template({}, { snapshotDirectory: '' }), error: /snapshotDirectory '' is empty; give the folder that keeps the snapshots of earlier versions/ },
  {
    on: 'ProjectPortfolio.addTemplate',
    prop: 'snapshotDirectory',
    value: 'snapshots.json',
    make: () => {
      const file = path.join(tempDir('snap'), 'snapshots.json');
      fs.writeFileSync(file, '{}');
      template({}, { snapshotDirectory: file });
    },
    error: /snapshotDirectory '.*snapshots\.json' is a file; give a folder for the snapshots of earlier versions/,
  },

  // --- ProjectTemplateBucket ---
  { on: 'ProjectTemplateBucket', prop: 'prefix', value: '', make: () => new ProjectTemplateBucket(stack(), 'B', { prefix: '' }), error: /prefix '' is empty; give the folder the templates go to/ },
  { on: 'ProjectTemplateBucket', prop: 'prefix', value: '/templates/', make: () => new ProjectTemplateBucket(stack(), 'B', { prefix: '/templates/' }), error: /prefix '\/templates\/' starts with '\/'.*; leave the leading '\/' out/ },
  { on: 'ProjectTemplateBucket', prop: 'prefix', value: 'a//b', make: () => new ProjectTemplateBucket(stack(), 'B', { prefix: 'a//b' }), error: /prefix 'a\/\/b' is invalid; use folder names/ },
  {
    on: 'ProjectTemplateBucket',
    prop: 'prefix',
    value: 'templates',
    make: () => new ProjectTemplateBucket(stack(), 'B', { prefix: 'templates' }),
    accept: 'a prefix without a trailing / gets one',
    check: (bucket: ProjectTemplateBucket) => expect(bucket.prefix).toBe('templates/'),
  },
  { on: 'ProjectTemplateBucket', prop: 'domainArns', value: 'd-abcdefghijkl', make: () => new ProjectTemplateBucket(stack(), 'B', { domainArns: ['d-abcdefghijkl'] }), error: /domainArns\[0\] 'd-abcdefghijkl' is not the ARN of a SageMaker domain; use arn:aws:sagemaker/ },
  {
    on: 'ProjectTemplateBucket',
    prop: 'domainArns',
    value: 'arn:aws:sagemaker:us-east-1:111111111111:domain/d-abcdefghijkl',
    make: () => new ProjectTemplateBucket(stack(), 'B', { domainArns: ['arn:aws:sagemaker:us-east-1:111111111111:domain/d-abcdefghijkl'] }),
    error: /is a domain of account 111111111111 in us-east-1, but the stack is in account 111111111111, eu-west-1; use domains of the stack's account and region/,
  },
  { on: 'ProjectTemplateBucket', prop: 'bucketName', value: 'My_Templates', make: () => new ProjectTemplateBucket(stack(), 'B', { bucketName: 'My_Templates' }), error: /bucketName 'My_Templates' is not an S3 bucket name/ },
  {
    on: 'ProjectTemplateBucket',
    prop: 'bucketName',
    value: undefined,
    make: () => new ProjectTemplateBucket(new Stack(testApp(), 'Agnostic'), 'B'),
    error: /stack 'Agnostic' has no account and region, so the bucket that product templates refer to by name cannot be named; give the stack an env .* or pass bucketName/,
  },
  {
    on: 'ProjectTemplateBucket',
    prop: 'bucket',
    value: undefined,
    make: () => {
      const s = stack();
      return new ProjectTemplateBucket(s, 'B', { bucket: new s3.Bucket(s, 'Unnamed') });
    },
    error: /bucket 'S\/Unnamed' has no bucketName known at synth time, but product templates refer to the bucket of their seed code by name; give it a bucketName/,
  },
  { on: 'ProjectTemplateBucket', prop: 'permissionsBoundaryPolicyName', value: '', make: () => new ProjectTemplateBucket(stack(), 'B', { permissionsBoundaryPolicyName: '' }), error: /permissionsBoundaryPolicyName '' is not a customer managed policy name/ },
  { on: 'ProjectTemplateBucket', prop: 'executionRoleParameterName', value: 'mlops/role', make: () => new ProjectTemplateBucket(stack(), 'B', { executionRoleParameterName: 'mlops/role' }), error: /executionRoleParameterName 'mlops\/role' is not an SSM parameter name/ },

  // --- ProjectTemplateBucket.addTemplate ---
  {
    on: 'ProjectTemplateBucket.addTemplate',
    prop: 'templateName',
    value: 'same',
    make: () => {
      const bucket = new ProjectTemplateBucket(stack(), 'B');
      for (const id of ['T1', 'T2']) {
        bucket.addTemplate(new MLOpsProjectTemplate(bucket, id, { stages: [{ name: 'dev' }], buildSeedCode: SEED, deploySeedCode: SEED }), { templateName: 'same' });
      }
    },
    error: /template 'S\/B\/T1' is already published as 'templates\/same-v.*\.yaml'; give one of them another templateName/,
  },
  {
    on: 'ProjectTemplateBucket.addTemplate',
    prop: 'template',
    value: undefined,
    make: () => {
      const app = testApp();
      const p = new ProjectPortfolio(new Stack(app, 'Portfolio', { env: ENV }), 'P');
      const bucket = new ProjectTemplateBucket(new Stack(app, 'S3Templates', { env: ENV }), 'B');
      const t = new MLOpsProjectTemplate(p, 'T', { stages: [{ name: 'dev' }], buildSeedCode: SEED, deploySeedCode: SEED });
      p.addTemplate(t, { snapshotDirectory: tempDir('snap') });
      bucket.addTemplate(t);
    },
    error: /the template belongs to stack 'Portfolio'.*but this bucket is in stack 'S3Templates'; create the template inside this ProjectTemplateBucket/,
  },
  {
    on: 'ProjectTemplateBucket.addTemplate',
    prop: 'versionName',
    value: 'v 1',
    make: () => {
      const bucket = new ProjectTemplateBucket(stack(), 'B');
      bucket.addTemplate(new MLOpsProjectTemplate(bucket, 'T', { stages: [{ name: 'dev' }], buildSeedCode: SEED, deploySeedCode: SEED }), { versionName: 'v 1' });
    },
    error: /versionName 'v 1' is invalid; use 1-100 letters/,
  },
  // --- the composition and extension API (0.3.0) ---
  { on: 'SecurityScan.checkov', prop: 'skipChecks', value: 'CKV-AWS-1', make: () => SecurityScan.checkov({ skipChecks: ['CKV-AWS-1'] }), error: /SecurityScan\.checkov: skipChecks\[0\] 'CKV-AWS-1' is not a checkov check id; use ids such as CKV_AWS_123/ },
  { on: 'DeploymentStages.fixedAccounts', prop: 'region', value: 'eu-wset-1', make: () => DeploymentStages.fixedAccounts({ preProdAccount: '222222222222', prodAccount: '333333333333', region: 'eu-wset-1' }), error: /DeploymentStages\.fixedAccounts: region 'eu-wset-1'/ },
  { on: 'DeploymentStages.devPreProdProd', prop: 'prodAccount', value: '3333', make: () => DeploymentStages.devPreProdProd({ prodAccount: '3333' }), error: /DeploymentStages\.devPreProdProd: prodAccount '3333' is not an AWS account id; use exactly 12 digits/ },
  { on: 'ProjectNetwork.fromIds', prop: 'subnetIds', value: 'subnet-XYZ', make: () => ProjectNetwork.fromIds({ vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-XYZ'], securityGroupIds: ['sg-0a1b2c3d'] }), error: /ProjectNetwork\.fromIds: subnetIds\[0\] 'subnet-XYZ' is not a subnet id; use subnet- followed by 8 or 17 hexadecimal digits/ },
  { on: 'ProjectNetwork.enteredAtCreation', prop: 'vpcIdParameterName', value: 'SubnetIds', make: () => ProjectNetwork.enteredAtCreation({ vpcIdParameterName: 'SubnetIds' }), error: /ProjectNetwork\.enteredAtCreation: vpcIdParameterName 'SubnetIds' and subnetIdsParameterName name the same parameter; give each part of the network a parameter of its own/ },
  { on: 'ProjectNetwork.fromSsmParameters', prop: 'subnetIds', value: '/mlops//network', make: () => ProjectNetwork.fromSsmParameters({ subnetIds: '/mlops//network' }), error: /ProjectNetwork\.fromSsmParameters: subnetIds '\/mlops\/\/network'/ },
  { on: 'StageNetwork', prop: 'securityGroupIds', value: 'sg-1', make: () => deploy([{ name: 'dev', network: { securityGroupIds: ['sg-1'] } }]), error: /stages\[0\]\.network\.securityGroupIds\[0\] 'sg-1' is not a security group id; use sg- followed by 8 or 17 hexadecimal digits/ },
  {
    on: 'DeployPipeline.addActionAfterDeployment',
    prop: 'stageName',
    value: 'production',
    make: () => {
      const s = stack();
      new DeployPipeline(s, 'Deploy', {
        projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket: artifactBucket(s), seedCode: SEED, stages: [{ name: 'dev' }],
      }).addActionAfterDeployment('production', new actions.ManualApprovalAction({ actionName: 'X' }));
    },
    error: /addActionAfterDeployment: stageName 'production' is not a deployment stage of the pipeline; use one of 'dev'/,
  },
  {
    on: 'BuildPipeline.addActionAfterSageMakerPipeline',
    prop: 'action',
    value: 'runOrder 7',
    make: () => {
      const s = stack();
      const pipeline = new BuildPipeline(s, 'Build', {
        projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket: artifactBucket(s), seedCode: SEED,
      });
      pipeline.addActionAfterSageMakerPipeline(new actions.ManualApprovalAction({ actionName: 'Review', runOrder: 7 }));
      return pipeline;
    },
    accept: 'documented: the action\'s own runOrder is replaced; it runs right after SMPipeline',
    check: (pipeline: BuildPipeline) => {
      const stages = Object.values<any>(Template.fromStack(Stack.of(pipeline)).findResources('AWS::CodePipeline::Pipeline'))[0].Properties.Stages;
      expect(stages[1].Actions.map((a: any) => [a.Name, a.RunOrder])).toEqual([['SMPipeline', 1], ['Review', 2]]);
    },
  },
  {
    on: 'ProjectPortfolio.addTemplate',
    prop: 'template',
    value: undefined,
    make: () => {
      const s = stack();
      const first = new ProjectPortfolio(s, 'First');
      const second = new ProjectPortfolio(s, 'Second');
      second.addTemplate(new MLOpsProjectTemplate(s, 'T', { stages: [{ name: 'dev' }], publisher: first }), { snapshotDirectory: tempDir('snap') });
    },
    error: /ProjectPortfolio\.addTemplate\(T\): the template is published through 'S\/First'/,
  },
];

/** Every error tells what to do about it: a remedy after ';' (or ':' in the older messages). */
const REMEDY = /[;:] *(use|give|leave|set|create|remove|list|call|add|copy|rename|choose|pass|exclude|let)\b/;

describe('bad input: the table', () => {
  test('has at least 79 rows, each an error or an asserted deliberate accept', () => {
    expect(rows.length).toBeGreaterThanOrEqual(79);
    for (const row of rows) {
      expect([row.on, row.prop, row.error !== undefined || (row.accept !== undefined && row.check !== undefined)]).toEqual([row.on, row.prop, true]);
    }
  });

  test('covers every public construct and method', () => {
    const covered = new Set(rows.map(row => row.on));
    for (const name of [
      'SeedCodeAsset', 'SeedCodeAsset.fromBundledApp', 'SeedCodeAsset.publishLocation', 'SeedCode.fromDirectory', 'SeedCode.fromBucket',
      'SeedCode.fromSsmParameters', 'SeedCode.fromAsset', 'SourceRepository.codeConnection', 'BuildPipeline', 'DeployPipeline', 'DeploymentStage',
      'MLOpsProjectTemplate', 'BasicProjectTemplate', 'ByocProjectTemplate', 'DynamicAccountsProjectTemplate', 'ProjectPortfolio', 'ProjectPortfolio.addTemplate',
      'ProjectTemplateBucket', 'ProjectTemplateBucket.addTemplate', 'SecurityScan.checkov', 'DeploymentStages.fixedAccounts',
      'DeploymentStages.devPreProdProd', 'ProjectNetwork.fromIds', 'ProjectNetwork.enteredAtCreation', 'ProjectNetwork.fromSsmParameters', 'StageNetwork',
      'DeployPipeline.addActionAfterDeployment', 'BuildPipeline.addActionAfterSageMakerPipeline',
    ]) {
      expect([name, covered.has(name)]).toEqual([name, true]);
    }
  });

  const errors = rows.filter(row => row.error).map(row => [`${row.on} ${row.prop} ${JSON.stringify(row.value ?? '')}`, row] as const);
  test.each(errors)('%s is refused', (_name, row) => {
    let message: string | undefined;
    try {
      row.make();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(row.error!);
    // The message names the property, the value and what to do.
    expect(message).toContain(row.prop.replace(/^stages\[\]\./, '').split(' ')[0].replace(/^.*\./, ''));
    if (row.value !== undefined) expect(message).toContain(row.value.length > 40 ? row.value.slice(0, 40) : row.value);
    expect(message).toMatch(REMEDY);
  });

  const accepts = rows.filter(row => row.accept).map(row => [`${row.on} ${row.prop} ${JSON.stringify(row.value ?? '')}: ${row.accept}`, row] as const);
  test.each(accepts)('%s', (_name, row) => {
    row.check!(row.make());
  });
});

describe('what a retained repository means for a new project of the same name', () => {
  test('by default, repositories are <project-name>-build and -deploy, retained when the project goes', () => {
    const { construct } = template();
    const names = Object.values<any>(synthesized(construct).findResources('AWS::CodeCommit::Repository'))
      .map(r => [r.Properties.RepositoryName, r.DeletionPolicy]);
    expect(names).toEqual([
      [{ 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-build']] }, 'Retain'],
      [{ 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-deploy']] }, 'Retain'],
    ]);
  });

  test('projectIdInRepositoryNames names them <project-name>-<project-id>-build and -deploy', () => {
    const { construct } = template({ projectIdInRepositoryNames: true });
    const names = Object.values<any>(synthesized(construct).findResources('AWS::CodeCommit::Repository')).map(r => r.Properties.RepositoryName);
    expect(names).toEqual([
      { 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-', { Ref: 'SageMakerProjectId' }, '-build']] },
      { 'Fn::Join': ['', [{ Ref: 'SageMakerProjectName' }, '-', { Ref: 'SageMakerProjectId' }, '-deploy']] },
    ]);
  });

  test('a repository renamed on an update is kept, also with DESTROY', () => {
    const s = stack();
    const pipeline = new BuildPipeline(s, 'Build', {
      projectName: 'churn', projectId: 'p-abc', modelPackageGroupName: 'churn-p-abc', artifactBucket: artifactBucket(s), seedCode: SEED, repositoryRemovalPolicy: RemovalPolicy.DESTROY,
    });
    const repository = Template.fromStack(s).toJSON().Resources[s.getLogicalId(pipeline.repository.node.defaultChild as CfnResource)];
    expect([repository.DeletionPolicy, repository.UpdateReplacePolicy]).toEqual(['Delete', 'Retain']);
  });
});

describe('quotas hold for what the library builds', () => {
  test('a 48-stage deploy pipeline has 50 CodePipeline stages, the most allowed', () => {
    const s = deploy(manyStages(48));
    const pipeline = Object.values<any>(Template.fromStack(s).findResources('AWS::CodePipeline::Pipeline'))[0];
    expect(pipeline.Properties.Stages).toHaveLength(50);
    expect(codepipeline.Pipeline).toBeDefined();
  });
});
