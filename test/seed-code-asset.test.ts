import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import { BundledSeedApp, DEFAULT_SEED_CODE_EXCLUDES, SeedCode, SeedCodeAsset } from '../src';
import { emptyFolder, folderWith } from './util/fs-fixtures';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';
import * as seedLayers from '../src/private/seed-layers';

const SEED_CODE = path.join(__dirname, '..', 'seed_code');

function newStack(): Stack {
  return new Stack(testApp(), 'Stack', { env: { account: '111111111111', region: 'eu-west-1' } });
}

/** The files under `dir`, relative, with `/` separators, sorted; the default excludes left out. */
function filesOf(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter(entry => entry.isFile())
    .map(entry => path.relative(dir, path.join(entry.parentPath ?? (entry as any).path, entry.name)).split(path.sep).join('/'))
    .filter(file => !file.split('/').some(part => part === '__pycache__' || part === '.pytest_cache' || part.endsWith('.pyc')))
    .sort();
}

function keyOf(dir: string, options: { exclude?: string[] } = {}): string {
  const asset = new SeedCodeAsset(newStack(), 'Seed', { path: dir, ...options });
  return asset.asset.assetHash;
}

describe('SeedCodeAsset', () => {
  test.each(Object.values(BundledSeedApp))('the bundled app %s is found inside the package', app => {
    const dir = SeedCodeAsset.bundledAppPath(app);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(dir).toBe(path.resolve(__dirname, '..', 'seed_code', app));
    const asset = SeedCodeAsset.fromBundledApp(newStack(), 'Seed', app);
    expect(asset.sourcePath).toBe(dir);
  });

  test('the object key depends only on content: same folder, same key; one changed byte, new key', () => {
    const a = folderWith({ 'pipeline.py': 'print(1)\n', 'README.md': '# hi\n' });
    const b = folderWith({ 'pipeline.py': 'print(1)\n', 'README.md': '# hi\n' });
    const c = folderWith({ 'pipeline.py': 'print(2)\n', 'README.md': '# hi\n' });
    expect(keyOf(a)).toBe(keyOf(b));
    expect(keyOf(a)).not.toBe(keyOf(c));
  });

  test('leaves out the default excludes', () => {
    expect(DEFAULT_SEED_CODE_EXCLUDES).toEqual(['.git', '__pycache__', '*.pyc', '.venv', 'node_modules', 'cdk.out', '.pytest_cache', '.DS_Store']);
    const clean = folderWith({ 'app.py': 'x = 1\n' });
    const dirty = folderWith({
      'app.py': 'x = 1\n',
      '.git/HEAD': 'ref: refs/heads/main\n',
      '__pycache__/app.cpython-311.pyc': 'bytecode',
      'lib/mod.pyc': 'bytecode',
      '.venv/bin/python': '#!',
      'node_modules/x/index.js': '',
      'cdk.out/manifest.json': '{}',
      '.pytest_cache/v/cache': '',
      '.DS_Store': 'mac',
    });
    expect(keyOf(dirty)).toBe(keyOf(clean));
  });

  test('adds the user excludes to the defaults', () => {
    const clean = folderWith({ 'app.py': 'x = 1\n' });
    const withData = folderWith({ 'app.py': 'x = 1\n', 'data/big.csv': '1,2,3\n', '.git/HEAD': 'x' });
    expect(keyOf(withData)).not.toBe(keyOf(clean));
    expect(keyOf(withData, { exclude: ['data'] })).toBe(keyOf(clean));
  });

  test('a file named gitignore becomes .gitignore in the archive, at any depth', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const dir = folderWith({ 'gitignore': '__pycache__/\n', 'pkg/gitignore': '*.egg-info\n', 'pkg/mod.py': 'x = 1\n', '__pycache__/m.pyc': 'b' });
    const asset = new SeedCodeAsset(stack, 'Seed', { path: dir });
    const staged = path.join(app.synth().directory, asset.asset.assetPath);
    const files = (fs.readdirSync(staged, { recursive: true }) as string[]).sort();
    expect(files).toEqual(['.gitignore', 'pkg', path.join('pkg', '.gitignore'), path.join('pkg', 'mod.py')]);
    expect(fs.readFileSync(path.join(staged, '.gitignore'), 'utf-8')).toBe('__pycache__/\n');
  });

  test('the bundled apps keep their .gitignore, which npm would drop from the package', () => {
    const app = testApp();
    const stack = new Stack(app, 'S');
    const assets = Object.values(BundledSeedApp).map(bundled => SeedCodeAsset.fromBundledApp(stack, bundled, bundled));
    const directory = app.synth().directory;
    for (const asset of assets) {
      expect(fs.existsSync(path.join(directory, asset.asset.assetPath, '.gitignore'))).toBe(true);
      expect(fs.existsSync(path.join(directory, asset.asset.assetPath, 'gitignore'))).toBe(false);
    }
  });

  test('the archive of each build app is the complete app: the shared files, then its own', () => {
    expect(seedLayers.seedAppFolders(SEED_CODE, 'build_app')).toEqual([path.join(SEED_CODE, 'shared', 'build'), path.join(SEED_CODE, 'build_app')]);
    expect(seedLayers.seedAppFolders(SEED_CODE, 'deploy_app')).toEqual([path.join(SEED_CODE, 'shared', 'deploy'), path.join(SEED_CODE, 'deploy_app')]);
    expect(seedLayers.seedAppFolders(SEED_CODE, 'batch_inference_app')).toEqual([path.join(SEED_CODE, 'shared', 'deploy'), path.join(SEED_CODE, 'batch_inference_app')]);
    const shared = filesOf(path.join(SEED_CODE, 'shared', 'build'));
    const app = testApp();
    const stack = new Stack(app, 'S');
    const build = SeedCodeAsset.fromBundledApp(stack, 'Build', BundledSeedApp.BUILD_APP);
    const byoc = SeedCodeAsset.fromBundledApp(stack, 'Byoc', BundledSeedApp.BYOC_BUILD_APP);
    const directory = app.synth().directory;
    const staged = (asset: SeedCodeAsset) => path.join(directory, asset.asset.assetPath);
    for (const asset of [build, byoc]) {
      const own = filesOf(asset.sourcePath);
      // One copy of each file: nothing of the app's own folder is also shared.
      expect(own.filter(file => shared.includes(file))).toEqual([]);
      const expected = [...shared, ...own].map(file => file.replace(/(^|\/)gitignore$/, '$1.gitignore')).sort();
      expect(filesOf(staged(asset))).toEqual(expected);
    }
    expect(filesOf(staged(build))).toEqual(expect.arrayContaining([
      '.gitignore', 'README.md', 'buildspec.yml', 'pyproject.toml', 'requirements.txt', 'requirements-dev.txt',
      'ml_pipelines/run_pipeline.py', 'ml_pipelines/runner.py', 'ml_pipelines/abalone/pipeline.py', 'ml_pipelines/abalone/steps.py',
      'ml_pipelines/abalone/scripts/preprocess.py', 'ml_pipelines/abalone/scripts/evaluate.py', 'tests/conftest.py',
    ]));
    expect(filesOf(staged(byoc))).toEqual(expect.arrayContaining(['buildspec-docker.yml', 'container/Dockerfile', 'scripts/build_and_push.sh']));
    // The shared files are the same, to the byte, in both apps and in the source.
    for (const file of shared.filter(f => path.basename(f) !== 'gitignore')) {
      const source = fs.readFileSync(path.join(SEED_CODE, 'shared', 'build', file));
      expect({ file, same: fs.readFileSync(path.join(staged(build), file)).equals(source) }).toEqual({ file, same: true });
      expect({ file, same: fs.readFileSync(path.join(staged(byoc), file)).equals(source) }).toEqual({ file, same: true });
    }
    // Still executable.
    expect(() => fs.accessSync(path.join(staged(byoc), 'scripts', 'build_and_push.sh'), fs.constants.X_OK)).not.toThrow();
    expect(build.asset.assetHash).not.toBe(byoc.asset.assetHash);
  });

  describe('with a copy of the seed code folder', () => {
    let root: string;
    beforeEach(() => {
      root = tempDir('seed-layout');
      for (const folder of ['shared', 'build_app', 'byoc_build_app']) {
        fs.cpSync(path.join(SEED_CODE, folder), path.join(root, folder), { recursive: true, filter: src => !/__pycache__|\.pyc$/.test(src) });
      }
      jest.spyOn(seedLayers, 'seedCodeRoot').mockReturnValue(root);
    });
    afterEach(() => jest.restoreAllMocks());

    const keys = () => {
      const stack = newStack();
      return {
        build: SeedCodeAsset.fromBundledApp(stack, 'Build', BundledSeedApp.BUILD_APP).asset.assetHash,
        byoc: SeedCodeAsset.fromBundledApp(stack, 'Byoc', BundledSeedApp.BYOC_BUILD_APP).asset.assetHash,
      };
    };

    test('the same content gives the same keys wherever the package is installed', () => {
      const copied = keys();
      expect(SeedCodeAsset.bundledAppPath(BundledSeedApp.BUILD_APP)).toBe(path.join(root, 'build_app'));
      jest.restoreAllMocks();
      expect(SeedCodeAsset.bundledAppPath(BundledSeedApp.BUILD_APP)).toBe(path.join(SEED_CODE, 'build_app'));
      expect(keys()).toEqual(copied);
    });

    test('a changed shared file changes the key of both apps; a changed own file, that of its app only', () => {
      const before = keys();
      fs.appendFileSync(path.join(root, 'shared', 'build', 'ml_pipelines', 'abalone', 'scripts', 'preprocess.py'), '# changed\n');
      const sharedChanged = keys();
      expect(sharedChanged.build).not.toBe(before.build);
      expect(sharedChanged.byoc).not.toBe(before.byoc);
      fs.appendFileSync(path.join(root, 'build_app', 'buildspec.yml'), '# changed\n');
      const ownChanged = keys();
      expect(ownChanged.build).not.toBe(sharedChanged.build);
      expect(ownChanged.byoc).toBe(sharedChanged.byoc);
      // A new shared file is in the archive of both.
      fs.writeFileSync(path.join(root, 'shared', 'build', 'NOTICE'), 'x\n');
      const added = keys();
      expect(added.build).not.toBe(ownChanged.build);
      expect(added.byoc).not.toBe(ownChanged.byoc);
    });

    test('a file both shared and the app\'s own is an error naming it and both folders', () => {
      fs.writeFileSync(path.join(root, 'build_app', 'pyproject.toml'), '[project]\n');
      expect(() => SeedCodeAsset.fromBundledApp(newStack(), 'Build', BundledSeedApp.BUILD_APP))
        .toThrow(`'pyproject.toml' is in both '${path.join(root, 'shared', 'build')}' and '${path.join(root, 'build_app')}'`);
    });

    test('a folder of the user\'s own is zipped as it is, even a copy of a bundled app\'s folder', () => {
      jest.restoreAllMocks();
      const app = testApp();
      const asset = new SeedCodeAsset(new Stack(app, 'S'), 'Seed', { path: path.join(root, 'build_app') });
      const staged = path.join(app.synth().directory, asset.asset.assetPath);
      expect(filesOf(staged)).toEqual(filesOf(path.join(root, 'build_app')).map(f => f.replace(/(^|\/)gitignore$/, '$1.gitignore')).sort());
      expect(fs.existsSync(path.join(staged, 'ml_pipelines', 'abalone', 'scripts', 'preprocess.py'))).toBe(false);
    });
  });

  test('a missing folder is an error naming the path', () => {
    expect(() => new SeedCodeAsset(newStack(), 'Seed', { path: '/nonexistent/seed' }))
      .toThrow(/path '\/nonexistent\/seed' does not exist/);
  });

  test('a file instead of a folder is an error naming the path', () => {
    const dir = folderWith({ 'only.txt': 'x' });
    const file = path.join(dir, 'only.txt');
    expect(() => new SeedCodeAsset(newStack(), 'Seed', { path: file })).toThrow(`path '${file}' is a file`);
  });

  test('an empty folder, or one with only excluded files, is an error naming the path', () => {
    const empty = emptyFolder();
    expect(() => new SeedCodeAsset(newStack(), 'Seed', { path: empty })).toThrow(`path '${empty}' is an empty folder`);
    const onlyExcluded = folderWith({ '__pycache__/a.pyc': 'x', '.DS_Store': 'x' });
    expect(() => new SeedCodeAsset(newStack(), 'Seed', { path: onlyExcluded })).toThrow(`path '${onlyExcluded}' is an empty folder`);
  });

  test('exposes bucket and key, and grantRead allows reading that one object only', () => {
    const stack = newStack();
    const asset = new SeedCodeAsset(stack, 'Seed', { path: folderWith({ 'a.py': 'a' }) });
    const role = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    asset.grantRead(role);
    expect(asset.bucketName).toBe('cdk-hnb659fds-assets-111111111111-eu-west-1');
    expect(asset.objectKey).toBe(`${asset.asset.assetHash}.zip`);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{
          Action: ['s3:GetObject', 's3:GetObjectVersion'],
          Effect: 'Allow',
          Resource: {
            'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp(`/${asset.asset.assetHash}\\.zip$`)])],
          },
        }],
      },
    });
  });

  test('gives CodeCommit what it needs to create a repository from it', () => {
    const stack = newStack();
    const asset = new SeedCodeAsset(stack, 'Seed', { path: folderWith({ 'a.py': 'a' }) });
    new codecommit.Repository(stack, 'Repo', { repositoryName: 'r', code: asset.repositoryCode('develop') });
    Template.fromStack(stack).hasResourceProperties('AWS::CodeCommit::Repository', {
      Code: {
        BranchName: 'develop',
        S3: { Bucket: 'cdk-hnb659fds-assets-111111111111-eu-west-1', Key: `${asset.asset.assetHash}.zip` },
      },
    });
  });

  test('inside a Service Catalog product stack the archive is in the product asset bucket', () => {
    const stack = newStack();
    const assetBucket = new s3.Bucket(stack, 'Assets', { bucketName: 'org-template-assets' });
    const product = new servicecatalog.ProductStack(stack, 'Product', { assetBucket });
    const seed = SeedCode.fromBundledApp(BundledSeedApp.BUILD_APP);
    new codecommit.Repository(product, 'Repo', { repositoryName: 'r', code: seed.repositoryCode(product, 'main') });
    new servicecatalog.CloudFormationProduct(stack, 'P', {
      productName: 'p',
      owner: 'o',
      productVersions: [{ productVersionName: 'v1', cloudFormationTemplate: servicecatalog.CloudFormationTemplate.fromProductStack(product) }],
    });
    productTemplate(product).hasResourceProperties('AWS::CodeCommit::Repository', {
      Code: { BranchName: 'main', S3: { Bucket: 'org-template-assets', Key: Match.stringLikeRegexp('^[0-9a-f]{64}\\.zip$') } },
    });
    // The parent stack copies the archive into the asset bucket.
    Template.fromStack(stack).resourceCountIs('Custom::CDKBucketDeployment', 1);
  });

  test('publishes its location in SSM with the original system\'s names by default', () => {
    const stack = newStack();
    SeedCodeAsset.fromBundledApp(stack, 'Build', BundledSeedApp.BUILD_APP).publishLocation();
    SeedCodeAsset.fromBundledApp(stack, 'Byoc', BundledSeedApp.BYOC_BUILD_APP).publishLocation();
    SeedCodeAsset.fromBundledApp(stack, 'Deploy', BundledSeedApp.DEPLOY_APP).publishLocation();
    SeedCodeAsset.fromBundledApp(stack, 'Batch', BundledSeedApp.BATCH_INFERENCE_APP).publishLocation();
    const template = Template.fromStack(stack);
    for (const name of ['/mlops/code/seed_bucket', '/mlops/code/build', '/mlops/code/build/byoc', '/mlops/code/deploy', '/mlops/code/deploy/batch']) {
      template.hasResourceProperties('AWS::SSM::Parameter', { Name: name, Type: 'String' });
    }
    // One bucket parameter, shared.
    expect(Object.keys(template.findResources('AWS::SSM::Parameter', { Properties: { Name: '/mlops/code/seed_bucket' } }))).toHaveLength(1);
  });

  test('publishes under names the user chooses; a folder of their own needs a key parameter name', () => {
    const stack = newStack();
    const own = new SeedCodeAsset(stack, 'Llm', { path: folderWith({ 'train.py': 'x' }) });
    expect(() => own.publishLocation()).toThrow(/objectKeyParameterName is required/);
    own.publishLocation({ bucketParameterName: '/org/seed/bucket', objectKeyParameterName: '/org/seed/llm_build' });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/org/seed/bucket' });
    template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/org/seed/llm_build', Value: `${own.asset.assetHash}.zip` });
  });
});

describe('SeedCode', () => {
  test('fromSsmParameters reads the location when the stack is deployed', () => {
    const stack = newStack();
    const code = SeedCode.fromSsmParameters('/mlops/code/llm_build');
    const config = code.bind(stack);
    expect(stack.resolve(config.bucketName)).toBe('{{resolve:ssm:/mlops/code/seed_bucket}}');
    expect(stack.resolve(config.objectKey)).toBe('{{resolve:ssm:/mlops/code/llm_build}}');
  });

  test('fromBundledApp zips a bundled app once per stack however often it is bound', () => {
    const stack = newStack();
    const code = SeedCode.fromBundledApp(BundledSeedApp.DEPLOY_APP);
    const a = code.bind(stack);
    const b = SeedCode.fromBundledApp(BundledSeedApp.DEPLOY_APP).bind(stack);
    expect(a.objectKey).toBe(b.objectKey);
    expect(stack.node.findAll().filter(c => c instanceof SeedCodeAsset)).toHaveLength(1);
  });

  test('fromAsset refuses an asset of another stack, saying what to do', () => {
    const app = testApp();
    const one = new Stack(app, 'One');
    const two = new Stack(app, 'Two');
    const asset = new SeedCodeAsset(one, 'Seed', { path: folderWith({ 'a.py': 'a' }) });
    expect(() => SeedCode.fromAsset(asset).bind(two)).toThrow(/is in stack 'One' but is used in 'Two'/);
  });

  test('fromBucket grants reading exactly that object', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'R', { assumedBy: new iam.ServicePrincipal('codebuild.amazonaws.com') });
    SeedCode.fromBucket('my-seeds', 'build.zip').bind(stack, role);
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::my-seeds/build.zip']] } }] },
    });
  });
});
