import { CfnDynamicReference, CfnDynamicReferenceService, Names, Stack, Token } from 'aws-cdk-lib';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { validateS3BucketName, validateSsmParameterName } from './private/input-checks';
import { reserveParameterName } from './private/names';
import { BundledSeedApp, SeedCodeAsset, SeedCodeAssetOptions } from './seed-code-asset';

/**
 * Where a seed code archive is, once bound to a scope.
 */
export interface SeedCodeConfig {
  /** Bucket that holds the zip archive. */
  readonly bucketName: string;

  /** Key of the zip archive. */
  readonly objectKey: string;
}

/**
 * The starter code a new project's repository begins with.
 *
 * Use one of the static factories; the archive is made (or referenced) when a pipeline binds it.
 */
export abstract class SeedCode {
  /**
   * One of the apps shipped in this package's `seed_code/` folder, zipped as an asset of the
   * stack that uses it.
   */
  public static fromBundledApp(app: BundledSeedApp, options: SeedCodeAssetOptions = {}): SeedCode {
    return new AssetSeedCode(`SeedCode${app.replace(/_/g, '')}`, scope => SeedCodeAsset.fromBundledApp(scope, 'Asset', app, options));
  }

  /**
   * A folder of your own, zipped as an asset of the stack that uses it.
   */
  public static fromDirectory(directory: string, options: SeedCodeAssetOptions = {}): SeedCode {
    if (directory.trim().length === 0) {
      throw new Error(`SeedCode.fromDirectory: directory '${directory}' is empty, which would zip the folder the app runs in; give the folder of starter code`);
    }
    return new AssetSeedCode(undefined, scope => new SeedCodeAsset(scope, 'Asset', { ...options, path: directory }));
  }

  /**
   * An asset you created yourself, in the same stack that uses it.
   */
  public static fromAsset(asset: SeedCodeAsset): SeedCode {
    return new ExistingAssetSeedCode(asset);
  }

  /**
   * An archive already in S3.
   */
  public static fromBucket(bucketName: string, objectKey: string): SeedCode {
    validateS3BucketName('SeedCode.fromBucket', 'bucketName', bucketName);
    if (!Token.isUnresolved(objectKey) && (objectKey.trim().length === 0 || objectKey.startsWith('/') || objectKey.length > 1024)) {
      throw new Error(`SeedCode.fromBucket: objectKey '${objectKey}' is not the key of a zip archive in bucket '${bucketName}'; use the key without a leading '/', at most 1024 characters, such as 'seed/build_app.zip'`);
    }
    return new StaticSeedCode(bucketName, objectKey);
  }

  /**
   * An archive whose location is published in SSM parameters, read when the stack is deployed
   * (the original system's `{{resolve:ssm:/mlops/code/...}}` mechanism).
   *
   * @param objectKeyParameterName e.g. `/mlops/code/build`
   * @param bucketParameterName e.g. `/mlops/code/seed_bucket`
   */
  public static fromSsmParameters(objectKeyParameterName: string, bucketParameterName: string = '/mlops/code/seed_bucket'): SeedCode {
    validateSsmParameterName('SeedCode.fromSsmParameters', 'objectKeyParameterName', objectKeyParameterName);
    validateSsmParameterName('SeedCode.fromSsmParameters', 'bucketParameterName', bucketParameterName);
    if (objectKeyParameterName === bucketParameterName) {
      throw new Error(`SeedCode.fromSsmParameters: objectKeyParameterName '${objectKeyParameterName}' is also the bucketParameterName; the bucket and the object key are two parameters: give the names publishLocation() used`);
    }
    return new SsmSeedCode(bucketParameterName, objectKeyParameterName);
  }

  /**
   * Make the archive available in `scope`, and let `grantee` (who creates the repository) read it.
   */
  public abstract bind(scope: Construct, grantee?: iam.IGrantable): SeedCodeConfig;

  /**
   * Whether binding adds a file asset to the stack (the archive of a folder). A Service Catalog
   * product stack keeps file assets in an asset bucket, so a template with such seed code needs one.
   */
  public get createsFileAsset(): boolean {
    return false;
  }

  /**
   * What CodeCommit needs to create a repository whose first commit is this code.
   *
   * @param branch the branch of the first commit
   */
  public repositoryCode(scope: Construct, branch: string = 'main', grantee?: iam.IGrantable): codecommit.Code {
    const config = this.bind(scope, grantee);
    return new S3ObjectRepositoryCode(config, branch);
  }
}

class AssetSeedCode extends SeedCode {
  constructor(private readonly sharedId: string | undefined, private readonly make: (scope: Construct) => SeedCodeAsset) {
    super();
  }

  public get createsFileAsset(): boolean {
    return true;
  }

  public bind(scope: Construct, grantee?: iam.IGrantable): SeedCodeConfig {
    // Bundled apps are zipped once per stack however many pipelines use them.
    const stack = Stack.of(scope);
    const holderId = this.sharedId ?? `SeedCode${Names.uniqueId(scope)}`;
    let holder = stack.node.tryFindChild(holderId) as Construct | undefined;
    if (!holder) {
      holder = new Construct(stack, holderId);
    }
    const asset = (holder.node.tryFindChild('Asset') as SeedCodeAsset | undefined) ?? this.make(holder);
    if (grantee) asset.grantRead(grantee);
    return { bucketName: asset.bucketName, objectKey: asset.objectKey };
  }
}

class ExistingAssetSeedCode extends SeedCode {
  constructor(private readonly asset: SeedCodeAsset) {
    super();
  }

  public bind(scope: Construct, grantee?: iam.IGrantable): SeedCodeConfig {
    if (Stack.of(scope) !== Stack.of(this.asset)) {
      throw new Error(`SeedCode.fromAsset: the asset '${this.asset.node.path}' is in stack '${Stack.of(this.asset).stackName}' but is used in '${Stack.of(scope).stackName}'; create the asset in the stack that uses it, or use SeedCode.fromSsmParameters() for an archive shared through SSM`);
    }
    if (grantee) this.asset.grantRead(grantee);
    return { bucketName: this.asset.bucketName, objectKey: this.asset.objectKey };
  }
}

class StaticSeedCode extends SeedCode {
  constructor(private readonly bucketName: string, private readonly objectKey: string) {
    super();
  }

  public bind(scope: Construct, grantee?: iam.IGrantable): SeedCodeConfig {
    if (grantee) grantObjectRead(scope, grantee, this.bucketName, this.objectKey);
    return { bucketName: this.bucketName, objectKey: this.objectKey };
  }
}

class SsmSeedCode extends SeedCode {
  constructor(private readonly bucketParameterName: string, private readonly objectKeyParameterName: string) {
    super();
  }

  public bind(scope: Construct, grantee?: iam.IGrantable): SeedCodeConfig {
    // Platform parameters: a project named after their first segment under /mlops/ would read them.
    reserveParameterName(scope, this.bucketParameterName);
    reserveParameterName(scope, this.objectKeyParameterName);
    const bucketName = new CfnDynamicReference(CfnDynamicReferenceService.SSM, this.bucketParameterName).toString();
    const objectKey = new CfnDynamicReference(CfnDynamicReferenceService.SSM, this.objectKeyParameterName).toString();
    if (grantee) grantObjectRead(scope, grantee, bucketName, objectKey);
    return { bucketName, objectKey };
  }
}

function grantObjectRead(scope: Construct, grantee: iam.IGrantable, bucketName: string, objectKey: string) {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:GetObject', 's3:GetObjectVersion'],
    resourceArns: [Stack.of(scope).formatArn({ service: 's3', region: '', account: '', resource: bucketName, resourceName: objectKey })],
  });
}

/** A CodeCommit `Code` for any S3 object, including ones given by tokens. */
class S3ObjectRepositoryCode extends codecommit.Code {
  constructor(private readonly location: SeedCodeConfig, private readonly branch: string) {
    super();
  }

  public bind(_scope: Construct): codecommit.CodeConfig {
    return {
      code: {
        branchName: this.branch,
        s3: { bucket: this.location.bucketName, key: this.location.objectKey },
      },
    };
  }
}
