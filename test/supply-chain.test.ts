import * as fs from 'fs';
import * as path from 'path';
import { Stack } from 'aws-cdk-lib';
import {
  BasicProjectTemplate,
  BundledSeedApp,
  ByocProjectTemplate,
  DynamicAccountsProjectTemplate,
  MLOpsProjectTemplate,
  ProjectPortfolio,
} from '../src';
import { productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';
import { CHECKOV_VERSION } from '../src/private/pipeline-deploy';
import { seedAppFolders } from '../src/private/seed-layers';

/**
 * Supply chain at run time: what the build specs install on every run is pinned, so a new
 * release (or a replaced package) of a tool cannot change a project's builds unseen. Covers the
 * build specs the library writes into the templates and those of the seed code, the seed code's
 * requirements files and the BYOC image's Dockerfile.
 */
const SEED = path.join(__dirname, '..', 'seed_code');
/** The bundled apps; each is assembled from shared folders and its own (`seedAppFolders`). */
const SEED_APPS: string[] = Object.values(BundledSeedApp);
/** The files of an app's archive named `name`, from its shared folders or its own. */
function seedFiles(app: string, filter: (name: string) => boolean): string[] {
  return seedAppFolders(SEED, app).flatMap(folder => fs.readdirSync(folder).filter(filter).map(name => path.join(folder, name)));
}

/** An exact version: 1.2.3 (and pre-release or build suffixes). */
const EXACT = /^\d+\.\d+\.\d+([.+-][0-9A-Za-z.+-]*)?$/;

/**
 * Why a shell command installs something unpinned, or [] when it does not. `requirements` reads a
 * requirements file that `pip install -r` names.
 */
function unpinnedInstalls(command: string, requirements: (file: string) => string | undefined = () => undefined): string[] {
  const problems: string[] = [];
  const words = (text: string) => text.split(/\s+/).map(w => w.replace(/^['"]|['"]$/g, '')).filter(Boolean);
  // A major (or major.minor) version only: aws-cdk@2, foo@2.1.
  for (const m of command.matchAll(/(^|\s)['"]?((?:@[\w.-]+\/)?[\w.-]+)@(\d+(?:\.\d+)?)(?![\w.])/g)) {
    problems.push(`${m[2]}@${m[3]} is a version range`);
  }
  if (/(--upgrade|-U)\s+(\S+\s+)*pip(\s|$)/.test(command) && /pip\S*\s+install/.test(command)) problems.push('upgrades pip to whatever the index has');
  if (/\b(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|z)?sh\b/.test(command)) problems.push('pipes a download into a shell');
  for (const m of command.matchAll(/\bnpm\s+(?:install|i|add)\b([^;&|]*)/g)) {
    for (const spec of words(m[1]).filter(w => !w.startsWith('-'))) {
      const at = spec.lastIndexOf('@');
      if (at <= 0 || !EXACT.test(spec.slice(at + 1))) problems.push(`npm package ${spec} is not pinned to an exact version`);
    }
  }
  for (const m of command.matchAll(/\bpip3?\s+install\b([^;&|]*)/g)) {
    const args = words(m[1]);
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (arg === '-r' || arg === '--requirement' || arg === '-c' || arg === '--constraint') {
        const file = args[++i];
        const text = requirements(file);
        if (text === undefined) problems.push(`requirements file ${file} not found`);
        else problems.push(...unboundedRequirements(text).map(r => `${file}: ${r}`));
      } else if (arg.startsWith('-')) {
        continue;
      } else if (arg === '.' || arg.startsWith('./') || arg.startsWith('/')) {
        // The repository's own package: its dependencies are its requirements file.
        continue;
      } else if (!/^[\w.[\],-]+==[\w.+-]+$/.test(arg)) {
        problems.push(`pip package ${arg} is not pinned with ==`);
      }
    }
  }
  for (const m of command.matchAll(/\b(apt-get|apt|yum|dnf)\s+install\b([^;&|]*)/g)) {
    for (const pkg of words(m[2]).filter(w => !w.startsWith('-'))) {
      if (!/[=-]\d/.test(pkg)) problems.push(`${m[1]} package ${pkg} is not pinned`);
    }
  }
  return problems;
}

/** Requirements without a version specifier. */
function unboundedRequirements(text: string): string[] {
  return text.split('\n')
    .map(line => line.replace(/#.*/, '').trim())
    .filter(line => line && !line.startsWith('-'))
    .filter(line => !/(==|>=|<=|~=|<|>)\s*\d/.test(line))
    .map(line => `${line} has no version bound`);
}

/** The commands of a YAML build spec, as lines (folded `>-` commands joined). */
function buildSpecLines(text: string): string[] {
  return text.split('\n').filter(line => !/^\s*#/.test(line));
}

describe('the scanner', () => {
  test.each([
    ['npm install --global --no-fund --no-audit aws-cdk@2', /aws-cdk@2 is a version range/],
    ['npm install -g aws-cdk', /npm package aws-cdk is not pinned to an exact version/],
    ['npm i -g @aws-cdk/toolkit@^1.2.3', /npm package @aws-cdk\/toolkit@\^1\.2\.3 is not pinned/],
    ['pip install --upgrade --quiet pip', /upgrades pip/],
    ['python -m pip install -U pip', /upgrades pip/],
    ['pip install checkov', /pip package checkov is not pinned with ==/],
    ['/tmp/checkov/bin/pip install --quiet \'checkov>=3.2,<4\'', /pip package checkov>=3\.2,<4 is not pinned with ==/],
    ['curl -sSL https://example.com/install.sh | bash', /pipes a download into a shell/],
    ['apt-get install -y jq', /apt-get package jq is not pinned/],
    ['pip install -r requirements.txt', /requirements\.txt: boto3 has no version bound/],
  ])('flags %s', (command, problem) => {
    expect(unpinnedInstalls(command, () => 'boto3\nnumpy>=1.24,<3\n')).toContainEqual(expect.stringMatching(problem));
  });

  test.each([
    'npm install --global --no-fund --no-audit --ignore-scripts aws-cdk@2.1148.1',
    '/tmp/checkov/bin/pip install --quiet \'checkov==3.3.30\'',
    'pip install --quiet -r requirements-dev.txt',
    'pip install --quiet .',
    'apt-get install -y jq=1.6-2.1',
    'docker push "$ECR_REPO_URI:$tag"',
  ])('passes %s', command => {
    expect(unpinnedInstalls(command, () => 'numpy>=1.24,<3\n')).toEqual([]);
  });
});

describe('what the templates install at run time', () => {
  function synthesize(make: (portfolio: ProjectPortfolio) => MLOpsProjectTemplate): any {
    const stack = new Stack(testApp(), 'Portfolio', { env: { account: '111111111111', region: 'eu-west-1' } });
    const portfolio = new ProjectPortfolio(stack, 'Portfolio');
    const template = make(portfolio);
    portfolio.addTemplate(template, { snapshotDirectory: tempDir('snap') });
    return productTemplate(template).toJSON();
  }
  const templates: Record<string, any> = {
    basic: synthesize(p => new BasicProjectTemplate(p, 'Basic', { preProdAccount: '222222222222', prodAccount: '333333333333', deploymentRegion: 'eu-west-1' })),
    dynamicAccounts: synthesize(p => new DynamicAccountsProjectTemplate(p, 'DynamicAccounts')),
    byoc: synthesize(p => new ByocProjectTemplate(p, 'Byoc')),
  };
  const projects = Object.entries(templates).flatMap(([name, template]) => Object.entries(template.Resources as Record<string, any>)
    .filter(([, r]) => r.Type === 'AWS::CodeBuild::Project')
    .map(([id, r]) => ({ name: `${name} ${id}`, properties: r.Properties })));

  test('build specs written into the templates pin every install', () => {
    const inline = projects.filter(p => p.properties.Source.BuildSpec.trim().startsWith('{'));
    expect(inline.length).toBeGreaterThan(0);
    for (const project of inline) {
      const spec = JSON.parse(project.properties.Source.BuildSpec);
      const commands: string[] = Object.values(spec.phases ?? {}).flatMap((phase: any) => phase.commands ?? []);
      expect({ project: project.name, problems: commands.flatMap(c => unpinnedInstalls(c)) }).toEqual({ project: project.name, problems: [] });
    }
    expect(JSON.stringify(inline.map(p => p.properties.Source.BuildSpec))).toContain(CHECKOV_VERSION);
  });

  test('build specs read from the repositories are the seed code\'s, scanned below', () => {
    const seedBuildSpecs = new Set(SEED_APPS.flatMap(app => fs.readdirSync(path.join(SEED, app)).filter(f => /^buildspec.*\.yml$/.test(f))));
    const fromSource = projects.filter(p => !p.properties.Source.BuildSpec.trim().startsWith('{'));
    expect(fromSource.length).toBeGreaterThan(0);
    for (const project of fromSource) expect(seedBuildSpecs).toContain(project.properties.Source.BuildSpec);
  });

  test('CodeBuild images are AWS-managed images, referenced by name (AWS patches them; there is no digest to pin)', () => {
    const images = new Set(projects.map(p => p.properties.Environment.Image));
    expect([...images]).toEqual(['aws/codebuild/standard:7.0']);
  });
});

describe('what the seed code installs at run time', () => {
  const buildSpecs = SEED_APPS.flatMap(app => fs.readdirSync(path.join(SEED, app))
    .filter(f => /^buildspec.*\.yml$/.test(f))
    .map(f => [`${app}/${f}`, app] as const));

  test.each(buildSpecs)('%s pins every install', (file, app) => {
    const read = (name: string) => {
      const p = seedAppFolders(SEED, app).map(folder => path.join(folder, name)).find(candidate => fs.existsSync(candidate));
      return p ? fs.readFileSync(p, 'utf-8') : undefined;
    };
    const problems = buildSpecLines(fs.readFileSync(path.join(SEED, file), 'utf-8')).flatMap(line => unpinnedInstalls(line, read));
    expect(problems).toEqual([]);
  });

  test('the deploy app pins the CDK CLI, and bounds the cloud assembly schema of aws-cdk-lib to what that CLI reads', () => {
    const spec = fs.readFileSync(path.join(SEED, 'deploy_app', 'buildspec.yml'), 'utf-8');
    expect(spec).toMatch(/npm install .*aws-cdk@\d+\.\d+\.\d+$/m);
    const requirements = fs.readFileSync(path.join(SEED, 'deploy_app', 'requirements.txt'), 'utf-8');
    expect(requirements).toMatch(/^aws-cdk-lib>=2\.\d+\.\d+,<3$/m);
    expect(requirements).toMatch(/^aws-cdk\.cloud-assembly-schema<\d+$/m);
    // The note names the CLI version the bound is for.
    const cli = /aws-cdk@(\d+\.\d+\.\d+)/.exec(spec)![1];
    expect(requirements).toContain(`aws-cdk ${cli}`);
  });

  const requirementFiles = [...new Set(SEED_APPS.flatMap(app => seedFiles(app, f => /^requirements.*\.txt$/.test(f))))]
    .map(file => path.relative(SEED, file));
  test.each(requirementFiles)('%s bounds every requirement', file => {
    expect(unboundedRequirements(fs.readFileSync(path.join(SEED, file), 'utf-8'))).toEqual([]);
  });

  test('the BYOC image: libraries pinned exactly; base image by tag on purpose (documented, with how to pin its digest)', () => {
    const container = path.join(SEED, 'byoc_build_app', 'container');
    const dockerfile = fs.readFileSync(path.join(container, 'Dockerfile'), 'utf-8');
    const requirements = fs.readFileSync(path.join(container, 'requirements.txt'), 'utf-8');
    const lines = requirements.split('\n').map(l => l.replace(/#.*/, '').trim()).filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^[\w.-]+==\d+(\.\d+)*$/);
    const runs = dockerfile.split('\n').filter(l => l.startsWith('RUN '));
    expect(runs.flatMap(l => unpinnedInstalls(l, name => fs.readFileSync(path.join(container, path.basename(name)), 'utf-8')))).toEqual([]);
    const from = dockerfile.split('\n').filter(l => l.startsWith('FROM '));
    expect(from).toEqual(['FROM public.ecr.aws/docker/library/python:3.11-slim']);
    expect(dockerfile).toContain('@sha256:<digest shown>');
  });
});

describe('.ci/seed-code-tests.sh scans the seed code with the checkov the pipeline installs', () => {
  test('it reads the pin from src/private/pipeline-deploy.ts', () => {
    const script = fs.readFileSync(path.join(__dirname, '..', '.ci', 'seed-code-tests.sh'), 'utf-8');
    expect(script).toContain('src/private/pipeline-deploy.ts');
    expect(script).not.toMatch(/checkov[><=~]=?\d/);
    expect(CHECKOV_VERSION).toMatch(/^checkov==\d+\.\d+\.\d+$/);
  });
});
