import { awscdk, javascript } from 'projen';

/**
 * The floor of aws-cdk-lib we support; the dev dependency is pinned to it so the tests prove it.
 * 2.200.1, not 2.200.0: 2.200.0 was never published to Maven Central.
 */
const CDK_FLOOR = '2.200.1';
const CONSTRUCTS_FLOOR = '10.5.1';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-sagemaker-project-templates',
  description:
    'SageMaker project templates (model build and deploy CI/CD) published through AWS Service Catalog, as versioned CDK constructs.',
  author: 'cdk-sagemaker-project-templates maintainers',
  authorAddress: 'maintainers@cdk-sagemaker-project-templates.dev',
  repositoryUrl: 'https://github.com/cdk-sagemaker-project-templates/cdk-sagemaker-project-templates.git',
  license: 'Apache-2.0',
  keywords: ['cdk', 'awscdk', 'sagemaker', 'mlops', 'servicecatalog', 'codepipeline'],
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,

  cdkVersion: CDK_FLOOR,
  cdkVersionPinning: false,
  constructsVersion: CONSTRUCTS_FLOOR,
  jsiiVersion: '~6.0.0',
  minNodeVersion: '20.0.0',

  // The development tsconfig keeps the name the project layout fixes.
  tsconfigDevFile: 'tsconfig.dev.json',
  // One config that covers src/ and test/, rather than the nearest tsconfig.json per file.
  eslintOptions: { dirs: ['src'], devdirs: ['test'], tsconfigPath: './tsconfig.dev.json', projectService: false },

  // No GitHub here: CI is `.ci/run`, releases are cut by hand.
  github: false,
  release: false,
  // jsii-diff needs a previous release on npm; the `compat` task runs it once one exists.
  compat: false,

  publishToPypi: {
    distName: 'cdk-sagemaker-project-templates',
    module: 'cdk_sagemaker_project_templates',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdksagemakerprojecttemplates',
    mavenGroupId: 'io.github.cdksagemakerprojecttemplates',
    mavenArtifactId: 'cdk-sagemaker-project-templates',
  },

  devDeps: ['cdk-nag@^2'],

  jestOptions: {
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testTimeout: 120_000,
    },
  },

  gitignore: [
    'cdk.out/',
    '.venv/',
    '__pycache__/',
    '*.pyc',
    '.pytest_cache/',
    'bench-results.json',
    '.ci/work/',
  ],
});

project.tsconfigDev.addInclude('.projenrc.ts');

// The library reads its own version at run time (product version names follow it).
project.package.addVersion('0.4.0');

for (const pattern of ['.ci/', 'cdk.out/', 'bench-results.json', '**/__pycache__/', '**/*.pyc', '**/.venv/', '**/.pytest_cache/', '**/cdk.out/']) {
  project.addPackageIgnore(pattern);
}

// API compatibility with the last release (jsii-diff). Its assembly is kept in the repository, so
// the check needs no registry: when releasing, copy .jsii and package.json to
// test/compat/baseline.jsii.json and test/compat/baseline.package.json.
project.gitignore.addPatterns('/.compat-baseline/');
project.tasks.tryFind('compat')!.reset('bash test/compat/compat.sh');
project.tasks.tryFind('compat')!.description = 'Compare the public API with the last release (test/compat/baseline.*) using jsii-diff';

// The example and bench run their TypeScript without type-checking it (compile and the tests do
// that): the example answers in about 2 s instead of 5-13 s.
project.addTask('example', {
  description: 'Synthesize the example organisation app into cdk.out/ and print what it made',
  exec: 'ts-node --transpile-only --project tsconfig.dev.json test/example/main.ts',
});

project.addTask('bench', {
  description: 'Measure synth time, template sizes, per-project footprint and package sizes (prints a table, writes bench-results.json)',
  exec: 'ts-node --transpile-only --project tsconfig.dev.json test/bench/bench.ts',
});

project.synth();
