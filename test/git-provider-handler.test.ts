import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FakeGitProvider, writeZip } from './util/fake-git-provider';
import { tempDir } from './util/temp-dir';
import {
  CustomResourceEvent,
  handle,
  handleAndRespond,
  HandlerDependencies,
  RepositoryProperties,
} from '../src/private/git-provider-handler';
import { readZip } from '../src/private/git-provider-handler/zip';

/**
 * The git provider custom resource handler against a fake GitHub / GitLab on 127.0.0.1: the
 * requests a project creation makes, and the messages CloudFormation shows when it fails.
 */
const TOKEN = 'ghp_s3cr3tT0kenValue1234567890';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf';

const SEED = writeZip([
  { path: 'buildspec.yml', content: 'version: 0.2\n' },
  { path: 'pipelines/run_pipeline.py', content: 'print("run")\n' },
  { path: 'pipelines/abalone/pipeline.py', content: 'def get_pipeline(): ...\n', stored: true },
  { path: 'scripts/build.sh', content: '#!/bin/sh\necho build\n', executable: true },
  { path: '.gitignore', content: '__pycache__/\n' },
]);
const SEED_PATHS = ['.gitignore', 'buildspec.yml', 'pipelines/abalone/pipeline.py', 'pipelines/run_pipeline.py', 'scripts/build.sh'];

let fake: FakeGitProvider;
let logs: string[];
let secret: string;

beforeEach(async () => {
  fake = await FakeGitProvider.start({ token: TOKEN, tokenUser: 'alice', users: ['bob'], organizations: ['acme'] });
  logs = [];
  secret = TOKEN;
});

afterEach(async () => {
  await fake.close();
  // Nothing the handler logged or sent may hold the token.
  expect(logs.join('\n')).not.toContain(TOKEN);
  expect(JSON.stringify(fake.cfnResponses)).not.toContain(TOKEN);
  expect(fake.bodies.join('\n')).not.toContain(TOKEN);
});

function deps(overrides: Partial<HandlerDependencies> = {}): HandlerDependencies {
  return {
    getSecret: async arn => {
      if (arn !== SECRET_ARN) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
      return secret;
    },
    getObject: async (bucket, key) => {
      if (bucket !== 'seed-bucket' || key !== 'build.zip') throw Object.assign(new Error('no such key'), { name: 'NoSuchKey' });
      return SEED;
    },
    fetch: (url, init) => fetch(url, init),
    sleep: async () => undefined,
    log: line => logs.push(line),
    ...overrides,
  };
}

function props(overrides: Partial<RepositoryProperties> = {}): RepositoryProperties {
  return {
    Provider: 'github',
    ApiUrl: fake.githubUrl,
    Owner: 'acme',
    RepositoryName: 'churn-build',
    Branch: 'main',
    TokenSecretArn: SECRET_ARN,
    SeedBucket: 'seed-bucket',
    SeedKey: 'build.zip',
    RemovalPolicy: 'retain',
    Description: 'Model build code of SageMaker project churn',
    ...overrides,
  };
}

function event(requestType: 'Create' | 'Update' | 'Delete', properties: RepositoryProperties, physicalId?: string, old?: RepositoryProperties): CustomResourceEvent {
  return {
    RequestType: requestType,
    ResponseURL: `${fake.url}/cfn/response?X-Amz-Signature=abc`,
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/SC-111111111111-pp-abc/1',
    RequestId: 'request-1',
    LogicalResourceId: 'BuildRepository',
    PhysicalResourceId: physicalId,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:f', ...properties },
    OldResourceProperties: old,
  };
}

describe('GitHub', () => {
  test('create: a private repository in the organization whose only history is one commit of the seed code on the branch', async () => {
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    expect(outcome).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: `github:${fake.githubUrl}:acme/churn-build`,
      Data: { FullRepositoryId: 'acme/churn-build' },
    });
    const repo = fake.repository('acme', 'churn-build')!;
    expect(repo.private).toBe(true);
    expect(repo.defaultBranch).toBe('main');
    expect([...repo.branches.keys()]).toEqual(['main']);
    expect(fake.historyLength('acme', 'churn-build', 'main')).toBe(1);
    const files = fake.filesOn('acme', 'churn-build', 'main');
    expect([...files.keys()].sort()).toEqual(SEED_PATHS);
    expect(files.get('pipelines/abalone/pipeline.py')!.content).toBe('def get_pipeline(): ...\n');
    expect(files.get('scripts/build.sh')!.mode).toBe('100755');
    expect(files.get('buildspec.yml')!.mode).toBe('100644');
    expect(fake.requests.every(r => r.authorized || r.path.startsWith('/cfn/'))).toBe(true);
    // CloudFormation hears of it through the response URL.
    expect(fake.cfnResponses).toEqual([expect.objectContaining({
      Status: 'SUCCESS',
      RequestId: 'request-1',
      LogicalResourceId: 'BuildRepository',
      PhysicalResourceId: `github:${fake.githubUrl}:acme/churn-build`,
      Data: { FullRepositoryId: 'acme/churn-build' },
    })]);
  });

  test('create for the token\'s own user, on another branch: the branch becomes the default and the only branch', async () => {
    const outcome = await handle(event('Create', props({ Owner: 'alice', Branch: 'release/v1' })), deps());
    expect(outcome.Status).toBe('SUCCESS');
    const repo = fake.repository('alice', 'churn-build')!;
    expect(repo.defaultBranch).toBe('release/v1');
    expect([...repo.branches.keys()]).toEqual(['release/v1']);
    expect(fake.historyLength('alice', 'churn-build', 'release/v1')).toBe(1);
    expect(fake.requests.some(r => r.method === 'POST' && r.path === '/github/user/repos')).toBe(true);
  });

  test('GitHub Enterprise Server: the same calls against the configured API URL', async () => {
    const outcome = await handle(event('Create', props({ Provider: 'github-enterprise', ApiUrl: `${fake.githubUrl}/` })), deps());
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github-enterprise:${fake.githubUrl}:acme/churn-build` });
    expect(fake.historyLength('acme', 'churn-build', 'main')).toBe(1);
  });

  test('a repository that is still empty for a moment after creation is retried', async () => {
    fake.emptyRepositoryAnswers = 2;
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome.Status).toBe('SUCCESS');
    expect(fake.requests.filter(r => r.path.endsWith('/git/blobs')).length).toBe(SEED_PATHS.length + 2);
  });

  test('repository exists: fails, says what to do, and leaves the repository alone', async () => {
    fake.addRepository('acme', 'churn-build');
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'repository acme/churn-build already exists on GitHub; delete or rename it, or set createRepository: false to use it as it is',
    });
    expect(fake.cfnResponses[0]).toMatchObject({ Status: 'FAILED', Reason: outcome.Reason });
    expect(fake.filesOn('acme', 'churn-build', 'main').get('README.md')!.content).toBe('existing\n');
    // The rollback's delete does not touch it, even when the template destroys repositories.
    const rollback = await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps());
    expect(rollback.Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('bad token: the secret named, the token not', async () => {
    secret = 'ghp_revoked';
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    expect(outcome.Reason).toBe(`the token in secret ${SECRET_ARN} was refused by GitHub (401): store a valid personal access token with the repo scope`);
    expect(fake.cfnResponses[0].Status).toBe('FAILED');
  });

  test('rate limited (403 with x-ratelimit-remaining 0): until when', async () => {
    fake.rateLimit = { status: 403, resetEpochSeconds: 1893456000 };
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome.Reason).toBe('rate limited by GitHub until 2030-01-01T00:00:00.000Z; retry the project creation after that');
  });

  test('owner not found', async () => {
    const outcome = await handle(event('Create', props({ Owner: 'nobody' })), deps());
    expect(outcome.Reason).toBe('owner nobody not found on GitHub, or the token cannot see it');
    expect(fake.requests.some(r => r.method === 'POST')).toBe(false);
  });

  test('owner is another user: GitHub creates repositories only for the token\'s user or organizations', async () => {
    const outcome = await handle(event('Create', props({ Owner: 'bob' })), deps());
    expect(outcome.Reason).toMatch(/^owner bob is a GitHub user other than the token's \(alice\); use an organization, or a token of bob$/);
  });

  test('a failure after the repository was made removes it, so that a retry can succeed', async () => {
    fake.failPathOnce = '/git/commits';
    const failed = await handle(event('Create', props()), deps());
    expect(failed.Status).toBe('FAILED');
    expect(failed.Reason).toMatch(/^GitHub refused to create the seed code commit \(500: internal error\)$/);
    expect(fake.repository('acme', 'churn-build')).toBeUndefined();
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
  });

  test('delete leaves the repository unless the removal policy is destroy', async () => {
    await handle(event('Create', props()), deps());
    const id = `github:${fake.githubUrl}:acme/churn-build`;
    const before = fake.requests.length;
    expect(await handle(event('Delete', props(), id), deps())).toEqual({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(fake.requests.length).toBe(before);
    expect(fake.repository('acme', 'churn-build')).toBeDefined();

    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-build')).toBeUndefined();
    // Already gone: still a success.
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
  });

  test('update: the same repository is left as it is; a new name creates a new repository', async () => {
    await handle(event('Create', props()), deps());
    const id = `github:${fake.githubUrl}:acme/churn-build`;
    const before = fake.requests.length;
    expect(await handle(event('Update', props({ SeedKey: 'other.zip' }), id, props()), deps())).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(fake.requests.length).toBe(before);

    const renamed = await handle(event('Update', props({ RepositoryName: 'churn-build-2' }), id, props()), deps());
    expect(renamed).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github:${fake.githubUrl}:acme/churn-build-2` });
    expect(fake.repository('acme', 'churn-build-2')).toBeDefined();
  });
});

describe('GitLab', () => {
  const gitlab = (overrides: Partial<RepositoryProperties> = {}) => props({ Provider: 'gitlab', ApiUrl: fake.gitlabUrl, ...overrides });

  test('create: a private project in the group, with the seed code as the first commit on the branch', async () => {
    const outcome = await handleAndRespond(event('Create', gitlab({ Branch: 'develop' })), deps(), 30_000);
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `gitlab:${fake.gitlabUrl}:acme/churn-build` });
    const repo = fake.repository('acme', 'churn-build')!;
    expect(repo.private).toBe(true);
    expect(repo.defaultBranch).toBe('develop');
    expect(fake.historyLength('acme', 'churn-build', 'develop')).toBe(1);
    const files = fake.filesOn('acme', 'churn-build', 'develop');
    expect([...files.keys()].sort()).toEqual(SEED_PATHS);
    expect(files.get('scripts/build.sh')!.mode).toBe('100755');
    expect(fake.cfnResponses[0].Status).toBe('SUCCESS');
  });

  test('repository exists', async () => {
    fake.addRepository('acme', 'churn-build');
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome.Reason).toBe('repository acme/churn-build already exists on GitLab; delete or rename it, or set createRepository: false to use it as it is');
  });

  test('bad token', async () => {
    secret = 'glpat-wrong';
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome.Reason).toBe(`the token in secret ${SECRET_ARN} was refused by GitLab (401): store a valid personal access token with the api scope`);
  });

  test('rate limited (429 with Retry-After)', async () => {
    fake.rateLimit = { status: 429, retryAfterSeconds: 60 };
    const before = Date.now();
    const outcome = await handle(event('Create', gitlab()), deps());
    const until = new Date(/until (\S+);/.exec(outcome.Reason!)![1]).getTime();
    expect(outcome.Reason).toMatch(/^rate limited by GitLab until \S+Z; retry the project creation after that$/);
    expect(until).toBeGreaterThanOrEqual(before + 59_000);
    expect(until).toBeLessThan(before + 120_000);
  });

  test('owner not found', async () => {
    const outcome = await handle(event('Create', gitlab({ Owner: 'nobody' })), deps());
    expect(outcome.Reason).toBe('owner nobody not found on GitLab, or the token cannot see it');
  });

  test('delete with removal policy destroy', async () => {
    await handle(event('Create', gitlab()), deps());
    const id = `gitlab:${fake.gitlabUrl}:acme/churn-build`;
    expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});

describe('what the handler reads', () => {
  test('a secret holding {"token": ...} works as well as the bare token', async () => {
    secret = JSON.stringify({ token: TOKEN });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
  });

  test('a secret it cannot read, or an empty one', async () => {
    const missing = await handle(event('Create', props({ TokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:missing-xyz' })), deps());
    expect(missing.Reason).toBe('cannot read the token secret arn:aws:secretsmanager:eu-west-1:111111111111:secret:missing-xyz (ResourceNotFoundException); check that it exists in this account and region and holds a SecretString');
    secret = '  ';
    expect((await handle(event('Create', props()), deps())).Reason).toMatch(/^the token secret .* is empty; store a personal access token/);
    expect(fake.requests).toEqual([]);
  });

  test('seed code that is missing or not a zip', async () => {
    expect((await handle(event('Create', props({ SeedKey: 'gone.zip' })), deps())).Reason).toBe('cannot read the seed code s3://seed-bucket/gone.zip (NoSuchKey)');
    const notZip = await handle(event('Create', props()), deps({ getObject: async () => Buffer.from('hello') }));
    expect(notZip.Reason).toBe('cannot read the seed code s3://seed-bucket/build.zip: the seed code archive is not a zip file (no end of central directory record)');
  });

  test('a provider that cannot create repositories', async () => {
    const outcome = await handle(event('Create', props({ Provider: 'bitbucket' })), deps());
    expect(outcome.Reason).toBe('git provider \'bitbucket\' cannot create repositories; set createRepository: false and create acme/churn-build yourself');
  });

  test('a provider that does not answer in time ends the event rather than leaving CloudFormation waiting', async () => {
    const outcome = await handleAndRespond(event('Create', props()), deps({ getObject: () => new Promise(() => undefined) }), 50);
    expect(outcome).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/did not finish within 0 seconds/) });
    expect(fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
  });

  test('an unreachable provider', async () => {
    const outcome = await handle(event('Create', props({ ApiUrl: 'http://127.0.0.1:1' })), deps());
    expect(outcome.Reason).toMatch(/^cannot reach GitHub at http:\/\/127\.0\.0\.1:1 \(.*\); check apiUrl and that Lambda can reach it$/);
  });
});

describe('readZip', () => {
  test('stored and deflated files, executables, no directory entries', () => {
    const entries = readZip(SEED);
    expect(entries.map(e => e.path).sort()).toEqual(SEED_PATHS);
    expect(entries.find(e => e.path === 'scripts/build.sh')).toMatchObject({ executable: true });
    expect(entries.find(e => e.path === 'buildspec.yml')!.data.toString()).toBe('version: 0.2\n');
  });

  test('refuses unsafe paths', () => {
    expect(() => readZip(writeZip([{ path: '../etc/passwd', content: 'x' }]))).toThrow(/entry '..\/etc\/passwd' has an unsafe path/);
  });

  const zipTool = spawnSync('zip', ['-v']).status === 0;
  (zipTool ? test : test.skip)('reads an archive made by Info-ZIP zip', () => {
    const dir = tempDir('zip');
    fs.mkdirSync(path.join(dir, 'src', 'app'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'app', 'main.py'), 'x = 1\n'.repeat(500));
    fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    expect(spawnSync('zip', ['-q', '-r', '-X', path.join(dir, 'out.zip'), 'src', 'run.sh'], { cwd: dir }).status).toBe(0);
    const entries = readZip(fs.readFileSync(path.join(dir, 'out.zip')));
    expect(entries.map(e => [e.path, e.executable, e.data.length]).sort()).toEqual([['run.sh', true, 10], ['src/app/main.py', false, 3000]]);
  });
});
