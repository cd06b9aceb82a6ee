import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, BundlingOutput, DockerImage, FileSystem, IgnoreStrategy, Stack } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { validateSsmParameterName } from './private/input-checks';
import { reserveParameterName } from './private/names';
import { assembleSeedFolders, seedAppLayers, seedCodeRoot } from './private/seed-layers';

/**
 * The starter apps shipped in this package's `seed_code/` folder.
 */
export enum BundledSeedApp {
  /** SageMaker Pipeline (preprocess, XGBoost train, evaluate, register) for the build repository. */
  BUILD_APP = 'build_app',
  /** The build app with training in the project's own container (Dockerfile, build and push). */
  BYOC_BUILD_APP = 'byoc_build_app',
  /** CDK app that deploys the newest approved model to one endpoint per stage. */
  DEPLOY_APP = 'deploy_app',
  /** CDK app that sets up scheduled batch transform of the newest approved model in every stage. */
  BATCH_INFERENCE_APP = 'batch_inference_app',
}

/**
 * Files and folders left out of every seed code archive unless `defaultExcludes` is turned off.
 */
export const DEFAULT_SEED_CODE_EXCLUDES: string[] = [
  '.git',
  '__pycache__',
  '*.pyc',
  '.venv',
  'node_modules',
  'cdk.out',
  '.pytest_cache',
  '.DS_Store',
];

/** The SSM parameter names the original system publishes for each bundled app. */
const DEFAULT_OBJECT_KEY_PARAMETERS: Record<string, string> = {
  [BundledSeedApp.BUILD_APP]: '/mlops/code/build',
  [BundledSeedApp.BYOC_BUILD_APP]: '/mlops/code/build/byoc',
  [BundledSeedApp.DEPLOY_APP]: '/mlops/code/deploy',
  [BundledSeedApp.BATCH_INFERENCE_APP]: '/mlops/code/deploy/batch',
};

/**
 * Options for packaging a folder of seed code.
 */
export interface SeedCodeAssetOptions {
  /**
   * Glob patterns to leave out, added to the default excludes.
   *
   * @default - only the default excludes
   */
  readonly exclude?: string[];

  /**
   * Whether to leave out `.git`, `__pycache__`, `*.pyc`, `.venv`, `node_modules`, `cdk.out`,
   * `.pytest_cache` and `.DS_Store`.
   *
   * @default true
   */
  readonly defaultExcludes?: boolean;
}

/**
 * Properties for a `SeedCodeAsset`.
 */
export interface SeedCodeAssetProps extends SeedCodeAssetOptions {
  /**
   * Path to the folder to zip. Relative paths are resolved from the current working directory.
   */
  readonly path: string;
}

/**
 * Names of the SSM parameters that publish where a seed code archive is.
 */
export interface SeedCodeLocationParameters {
  /**
   * Name of the parameter that holds the bucket name.
   *
   * @default '/mlops/code/seed_bucket'
   */
  readonly bucketParameterName?: string;

  /**
   * Name of the parameter that holds the object key.
   *
   * @default - the original system's name for a bundled app (`/mlops/code/build`,
   * `/mlops/code/build/byoc`, `/mlops/code/deploy`, `/mlops/code/deploy/batch`); required for any
   * other folder
   */
  readonly objectKeyParameterName?: string;
}

/**
 * A folder of starter code, zipped as an S3 asset, that seeds the git repositories of new projects.
 *
 * Packaging uses CDK's own asset staging (no Docker). The object key is derived from the
 * content only, so the same folder always gives the same key and any change gives a new one.
 * A file named `gitignore` becomes `.gitignore` in the archive (npm drops `.gitignore` files from
 * packages, so seed code that ships in one names them this way).
 * The archive of a bundled app also holds the files it shares with other bundled apps (see
 * `bundledAppPath`), so every repository receives the complete app.
 * It works in an ordinary stack and inside a Service Catalog product stack that has an asset bucket.
 */
export class SeedCodeAsset extends Construct {
  /**
   * Absolute path of the folder of one of the apps bundled in this package's `seed_code/` folder.
   *
   * The folder holds the files of the app that are its own. The build apps (`build_app`,
   * `byoc_build_app`) hold alike most of their code (preprocessing, evaluation, the pipeline's
   * steps, tests), kept once in `seed_code/shared/build/`, laid out as in the app: their
   * archives (`fromBundledApp`, or `new SeedCodeAsset` with this path) hold the shared files and
   * then the app's own, so a repository receives the complete app. To start a folder of your own
   * from a bundled app, copy `seed_code/shared/build/` and then this folder into it (or take the
   * asset's folder from `cdk.out` after a synth).
   *
   * Resolved relative to the installed package, so it works from `node_modules` and from the
   * Python and Java packages, which embed the npm package.
   */
  public static bundledAppPath(app: BundledSeedApp): string {
    return path.join(seedCodeRoot(), app);
  }

  /**
   * A seed code asset made from one of the apps bundled in this package.
   */
  public static fromBundledApp(scope: Construct, id: string, app: BundledSeedApp, options: SeedCodeAssetOptions = {}): SeedCodeAsset {
    if (!Object.values(BundledSeedApp).includes(app)) {
      throw new Error(`SeedCodeAsset.fromBundledApp(${id}): app '${app}' is not a bundled app; use one of ${Object.values(BundledSeedApp).join(', ')}, or new SeedCodeAsset(scope, id, { path }) for a folder of your own`);
    }
    const asset = new SeedCodeAsset(scope, id, { ...options, path: SeedCodeAsset.bundledAppPath(app) });
    asset.bundledApp = app;
    return asset;
  }

  /** The underlying S3 asset. */
  public readonly asset: s3assets.Asset;

  /** Name of the bucket that holds the archive. */
  public readonly bucketName: string;

  /** Key of the archive in the bucket; changes whenever the folder's content changes. */
  public readonly objectKey: string;

  /**
   * Absolute path of the folder that was zipped; for a bundled app, the folder of its own files,
   * zipped together with the files it shares with other bundled apps (see `bundledAppPath`).
   */
  public readonly sourcePath: string;

  private bundledApp?: BundledSeedApp;

  constructor(scope: Construct, id: string, props: SeedCodeAssetProps) {
    super(scope, id);
    const exclude = [...(props.defaultExcludes === false ? [] : DEFAULT_SEED_CODE_EXCLUDES), ...(props.exclude ?? [])];
    if (props.path.trim().length === 0) {
      throw new Error(`SeedCodeAsset ${this.node.path}: path '${props.path}' is empty, which would zip the folder the app runs in; give the folder of starter code`);
    }
    this.sourcePath = path.resolve(props.path);
    assertSeedFolder(this.sourcePath, exclude);
    // A bundled app that shares files with others is assembled from its layers and its own folder.
    const layers = seedAppLayers(seedCodeRoot(), this.sourcePath);
    for (const folder of [...layers, this.sourcePath]) assertSafeSeedFolder(`SeedCodeAsset ${this.node.path}`, folder, exclude);

    let packaging: Partial<s3assets.AssetProps> = {};
    if (layers.length > 0) {
      packaging = assembleBundling([...layers, this.sourcePath], exclude);
    } else if (containsFileNamed(this.sourcePath, GITIGNORE_STAND_IN, exclude)) {
      packaging = restoreGitignoreBundling(this.sourcePath, exclude);
    }
    this.asset = new s3assets.Asset(this, 'Asset', { path: this.sourcePath, exclude, ...packaging });
    this.bucketName = this.asset.s3BucketName;
    this.objectKey = this.asset.s3ObjectKey;
  }

  /**
   * Allow a principal to read the archive (CodeCommit reads it with the caller's credentials).
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    // Only the one object: the bucket is shared with every other asset of the app.
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      resourceArns: [this.objectArn()],
    });
  }

  /**
   * What a CodeCommit repository needs to start with this code as its first commit.
   *
   * @param branch the branch the first commit is made on
   */
  public repositoryCode(branch: string = 'main'): codecommit.Code {
    return codecommit.Code.fromAsset(this.asset, branch);
  }

  /**
   * Publish the archive's location as SSM parameters, the way the original system shares seed
   * code with product templates (`{{resolve:ssm:...}}` references).
   */
  public publishLocation(parameters: SeedCodeLocationParameters = {}): ssm.IStringParameter[] {
    const objectKeyParameterName = parameters.objectKeyParameterName
      ?? (this.bundledApp ? DEFAULT_OBJECT_KEY_PARAMETERS[this.bundledApp] : undefined);
    if (!objectKeyParameterName) {
      throw new Error(`SeedCodeAsset ${this.node.path}: objectKeyParameterName is required to publish the location of '${this.sourcePath}' (it has a default only for the bundled apps: ${Object.values(BundledSeedApp).join(', ')}); give one, such as '/mlops/code/my_seed'`);
    }
    const bucketParameterName = parameters.bucketParameterName ?? '/mlops/code/seed_bucket';
    validatePublishedNames(this, bucketParameterName, objectKeyParameterName);
    // Platform parameters: a project named after their first segment under /mlops/ would read them.
    reserveParameterName(this, bucketParameterName);
    reserveParameterName(this, objectKeyParameterName);
    const stack = Stack.of(this);
    // Several assets share one bucket parameter; create it once per stack.
    const bucketParameterId = `SeedCodeBucketParameter${bucketParameterName.replace(/[^A-Za-z0-9]/g, '')}`;
    const bucketParameter = (stack.node.tryFindChild(bucketParameterId) as ssm.StringParameter | undefined)
      ?? new ssm.StringParameter(stack, bucketParameterId, {
        parameterName: bucketParameterName,
        stringValue: this.bucketName,
        description: 'Bucket that holds the seed code of SageMaker project templates',
      });
    const keyParameter = new ssm.StringParameter(this, 'ObjectKeyParameter', {
      parameterName: objectKeyParameterName,
      stringValue: this.objectKey,
      description: `Object key of the seed code archive of ${path.basename(this.sourcePath)}`,
    });
    return [bucketParameter, keyParameter];
  }

  private objectArn(): string {
    return Stack.of(this).formatArn({ service: 's3', region: '', account: '', resource: this.bucketName, resourceName: this.objectKey });
  }
}

/**
 * npm leaves every `.gitignore` out of a package, so the seed code shipped in this package names
 * them `gitignore`; the archive gets them back under their real name. Done in-process (local
 * bundling): no Docker is involved, the image below is never pulled.
 */
const GITIGNORE_STAND_IN = 'gitignore';

function restoreGitignoreBundling(source: string, exclude: string[]): Partial<s3assets.AssetProps> {
  return {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('local-bundling-only'),
      local: {
        tryBundle(outputDir: string): boolean {
          FileSystem.copyDirectory(source, outputDir, { exclude });
          renameStandIns(outputDir);
          return true;
        },
      },
    },
  };
}

/**
 * The archive of a bundled app with layers: the files of its layers and of its own folder, copied
 * in-process (local bundling, no Docker) into the asset's staging folder in the cloud assembly,
 * `gitignore` renamed. The asset's hash is that of the assembled files (their relative paths and
 * content), so it is the same wherever the package is installed and changes with any file.
 */
function assembleBundling(folders: string[], exclude: string[]): Partial<s3assets.AssetProps> {
  return {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('local-bundling-only'),
      // A folder, zipped by the asset, even if it were to hold a single archive file.
      outputType: BundlingOutput.NOT_ARCHIVED,
      local: {
        tryBundle(outputDir: string): boolean {
          assembleSeedFolders(folders, outputDir, exclude);
          renameStandIns(outputDir);
          return true;
        },
      },
    },
  };
}

function renameStandIns(dir: string): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) renameStandIns(full);
    else if (entry.name === GITIGNORE_STAND_IN) fs.renameSync(full, path.join(dir, '.gitignore'));
  }
}

function containsFileNamed(dir: string, name: string, exclude: string[]): boolean {
  const ignore = IgnoreStrategy.fromCopyOptions({ exclude }, dir);
  const walk = (current: string): boolean => fs.readdirSync(current, { withFileTypes: true }).some(entry => {
    const full = path.join(current, entry.name);
    if (ignore.ignores(full)) return false;
    return entry.isDirectory() ? walk(full) : entry.name === name;
  });
  return walk(dir);
}

function assertSeedFolder(folder: string, exclude: string[]): void {
  if (!fs.existsSync(folder)) {
    throw new Error(`SeedCodeAsset: path '${folder}' does not exist; give the folder of starter code to zip`);
  }
  if (!fs.statSync(folder).isDirectory()) {
    throw new Error(`SeedCodeAsset: path '${folder}' is a file; give a folder of starter code to zip`);
  }
  const ignore = IgnoreStrategy.fromCopyOptions({ exclude }, folder);
  if (!hasIncludedFile(folder, ignore)) {
    throw new Error(`SeedCodeAsset: path '${folder}' is an empty folder (after excluding ${exclude.join(', ') || 'nothing'}); a repository cannot start from no files; add the starter code, or exclude less`);
  }
}

function hasIncludedFile(dir: string, ignore: IgnoreStrategy): boolean {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (ignore.ignores(full)) continue;
    if (entry.isFile() || entry.isSymbolicLink()) return true;
    if (entry.isDirectory() && hasIncludedFile(full, ignore)) return true;
  }
  return false;
}

/** Per stack: the SSM parameter names its seed code assets publish, and which asset publishes each. */
const publishedByStack = new WeakMap<Stack, Map<string, string>>();

/**
 * Throw unless the names are SSM parameter names this asset may create: valid, not reserved by
 * SSM, distinct, and not published by another asset of the stack (SSM holds one value per name,
 * so the second parameter would fail at deploy time), nor by this asset before.
 */
function validatePublishedNames(asset: SeedCodeAsset, bucketParameterName: string, objectKeyParameterName: string): void {
  const owner = `SeedCodeAsset ${asset.node.path}`;
  validateSsmParameterName(owner, 'bucketParameterName', bucketParameterName, true);
  validateSsmParameterName(owner, 'objectKeyParameterName', objectKeyParameterName, true);
  if (asset.node.tryFindChild('ObjectKeyParameter')) {
    throw new Error(`${owner}: publishLocation() was called before, and an asset publishes its location once; call it once, with the parameter names you want`);
  }
  if (bucketParameterName === objectKeyParameterName) {
    throw new Error(`${owner}: objectKeyParameterName '${objectKeyParameterName}' is also the bucketParameterName; an SSM parameter holds one value: give the object key a name of its own`);
  }
  const stack = Stack.of(asset);
  const published = publishedByStack.get(stack) ?? new Map<string, string>();
  publishedByStack.set(stack, published);
  const other = published.get(objectKeyParameterName);
  if (other !== undefined) {
    throw new Error(`${owner}: objectKeyParameterName '${objectKeyParameterName}' is ${other === 'bucket' ? 'the name of the seed code bucket parameter' : `already published by '${other}'`}; an SSM parameter holds one value: give each asset a name of its own`);
  }
  if (published.has(bucketParameterName) && published.get(bucketParameterName) !== 'bucket') {
    throw new Error(`${owner}: bucketParameterName '${bucketParameterName}' is already the object key parameter of '${published.get(bucketParameterName)}'; give the bucket parameter a name of its own`);
  }
  published.set(objectKeyParameterName, asset.node.path);
  published.set(bucketParameterName, 'bucket');
}

/**
 * Throw if zipping the folder would put into every project's repository what does not belong
 * there: the app itself (the folder is the one the app runs in, or holds it), git's own data
 * (`.git`, with its history and remote credentials), or anything reached through a symbolic
 * link that points outside the folder (the archive holds the target's content, such as a
 * private key); also a link whose target is missing, or that loops.
 */
function assertSafeSeedFolder(owner: string, folder: string, exclude: string[]): void {
  const root = fs.realpathSync(folder);
  const cwd = fs.realpathSync(process.cwd());
  if (isInside(root, cwd)) {
    throw new Error(`${owner}: path '${folder}' is the folder the app runs in, or holds it, so the archive would hold the app itself (its source, cdk.out, local settings); give a folder that holds only the starter code`);
  }
  const ignore = IgnoreStrategy.fromCopyOptions({ exclude }, folder);
  const visited = new Set<string>([root]);
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (ignore.ignores(full)) continue;
      const shown = path.relative(folder, full);
      if (entry.name === '.git') {
        throw new Error(`${owner}: path '${folder}' holds '${shown}', which would be in the archive (defaultExcludes is off, or an exclude pattern brings it back), with the repository's history and remote credentials; leave '.git' excluded`);
      }
      if (entry.isSymbolicLink()) {
        let target: string;
        try {
          target = fs.realpathSync(full);
        } catch {
          throw new Error(`${owner}: path '${folder}' holds symbolic link '${shown}', which points to '${fs.readlinkSync(full)}', which does not exist; remove the link, or exclude it`);
        }
        if (!isInside(root, target)) {
          throw new Error(`${owner}: path '${folder}' holds symbolic link '${shown}', which points to '${target}', outside the seed folder, whose content would land in every project's repository; copy what the starter code needs into the folder, or exclude the link`);
        }
        if (fs.statSync(target).isDirectory()) {
          if (isInside(target, path.join(fs.realpathSync(dir), entry.name))) {
            throw new Error(`${owner}: path '${folder}' holds symbolic link '${shown}', which points to '${path.relative(root, target) || '.'}', a folder that holds the link, so the archive would never end; remove the link, or exclude it`);
          }
          if (!visited.has(target)) {
            visited.add(target);
            walk(full);
          }
        }
      } else if (entry.isDirectory()) {
        walk(full);
      }
    }
  };
  walk(folder);
}

/** Whether `child` is `parent` or lies under it. */
function isInside(parent: string, child: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative));
}
