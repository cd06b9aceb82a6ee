import * as fs from 'fs';
import * as path from 'path';
import { IgnoreStrategy } from 'aws-cdk-lib';

/**
 * The files that several bundled apps hold alike are kept once, in folders under
 * `seed_code/shared/` laid out as they appear in an app. A bundled app's archive holds the files
 * of its layers (folders relative to `seed_code/`, in this order) and then those of its own folder
 * (`seed_code/<app>`); apps missing here are their own folder alone.
 *
 * The single source of truth: `.ci/seed-code-tests.sh` tests the apps as the library assembles
 * them from this table.
 */
export const SEED_APP_LAYERS: Readonly<Record<string, readonly string[]>> = {
  build_app: ['shared/build'],
  byoc_build_app: ['shared/build'],
  deploy_app: ['shared/deploy'],
  batch_inference_app: ['shared/deploy'],
};

/** The `seed_code/` folder of the installed package. A function, so that tests can point it at a copy. */
export function seedCodeRoot(): string {
  return path.join(__dirname, '..', '..', 'seed_code');
}

/**
 * The folders the archive of bundled app `app` is assembled from, in order: its layers, then its
 * own folder (`root/<app>`). Tests that read an app's files look for them in these.
 */
export function seedAppFolders(root: string, app: string): string[] {
  return [...(SEED_APP_LAYERS[app] ?? []), app].map(folder => path.join(root, folder));
}

/**
 * The layers of the bundled app whose own folder is `folder`, as absolute paths, or `[]` when
 * `folder` is not the folder of a bundled app with layers in `root` (a folder of the user's own,
 * even one copied from a bundled app, is zipped as it is).
 */
export function seedAppLayers(root: string, folder: string): string[] {
  const real = realPathOrSelf(folder);
  const app = Object.keys(SEED_APP_LAYERS).find(name => realPathOrSelf(path.join(root, name)) === real);
  return app === undefined ? [] : seedAppFolders(root, app).slice(0, -1);
}

/**
 * Copy the included files of each folder into `outputDir`, folders merged. A file may come from
 * one folder only: the same path in two of them is an error (one would silently hide the other).
 * Symbolic links inside a folder are followed (`assertSafeSeedFolder` has made sure they stay
 * inside it and do not loop). Returns the number of files copied.
 */
export function assembleSeedFolders(folders: readonly string[], outputDir: string, exclude: string[]): number {
  const origin = new Map<string, string>();
  for (const folder of folders) {
    const ignore = IgnoreStrategy.fromCopyOptions({ exclude }, folder);
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (ignore.ignores(full)) continue;
        const relative = path.relative(folder, full);
        const target = path.join(outputDir, relative);
        if (fs.statSync(full).isDirectory()) {
          fs.mkdirSync(target, { recursive: true });
          walk(full);
          continue;
        }
        const other = origin.get(relative);
        if (other !== undefined) {
          throw new Error(`Seed code: '${relative.split(path.sep).join('/')}' is in both '${other}' and '${folder}'; a file may come from only one of the folders an app is assembled from: keep one of them`);
        }
        origin.set(relative, folder);
        fs.copyFileSync(full, target);
      }
    };
    walk(folder);
  }
  return origin.size;
}

function realPathOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
