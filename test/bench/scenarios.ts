import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, AssetStaging, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { MLOpsProjectTemplate, ProjectPortfolio } from '../../src';
import { buildExampleApp, EXAMPLE_ENV } from '../example/app';

/** Where one synthesis writes: a fresh cloud assembly folder and a product snapshot folder. */
export interface SynthDirs {
  readonly outdir: string;
  readonly snapshotDirectory: string;
}

/** A scenario builds a fresh `App` each time it is called. */
export type AppBuilder = (dirs: SynthDirs) => App;

let root: string | undefined;

/** A new empty folder under the bench's temp root. */
export function tempDir(prefix: string): string {
  root ??= fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-smpt-bench-'));
  return fs.mkdtempSync(path.join(root, `${prefix}-`));
}

/** Remove everything the bench wrote to the temp folder. */
export function cleanTemp(): void {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  root = undefined;
}

/** The example organisation app of `test/example/app.ts` (three built-in templates). */
export const exampleApp: AppBuilder = dirs => buildExampleApp(dirs);

/**
 * A portfolio offering `products` light templates (a DEV stage in the project's account and a
 * PROD stage in a fixed account), each added with the version name given.
 */
export function portfolioApp(products: number, versionName?: string): AppBuilder {
  return dirs => {
    const app = new App({ outdir: dirs.outdir });
    const stack = new Stack(app, 'BenchPortfolio', { env: EXAMPLE_ENV });
    const portfolio = new ProjectPortfolio(stack, 'Portfolio', { providerName: 'Bench' });
    for (let i = 1; i <= products; i++) {
      const template = new MLOpsProjectTemplate(portfolio, `T${i}`, {
        stages: [{ name: 'dev' }, { name: 'prod', account: '333333333333' }],
      });
      portfolio.addTemplate(template, { versionName, snapshotDirectory: dirs.snapshotDirectory });
    }
    return app;
  };
}

/** Synthesize once; the asset hash cache is cleared first so every run hashes the seed code again. */
export function synthOnce(build: AppBuilder, dirs: SynthDirs): App {
  AssetStaging.clearAssetHashCache();
  const app = build(dirs);
  app.synth();
  return app;
}

/** Every `MLOpsProjectTemplate` (product stack) in an app, in construct order. */
export function templatesOf(app: IConstruct): MLOpsProjectTemplate[] {
  return app.node.findAll().filter((c): c is MLOpsProjectTemplate => c instanceof MLOpsProjectTemplate);
}
