import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FakeGitProvider, writeZip } from '../../util/fake-git-provider';
import { tempDir } from '../../util/temp-dir';
import {
  CustomResourceEvent,
  handle,
  handleAndRespond,
  HandlerDependencies,
  lambdaBudgetMs,
  RepositoryProperties,
  SAFETY_MARGIN_MS,
} from '../../../src/handlers/git-provider';
import { readZip } from '../../../src/handlers/git-provider/zip';

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
/** The waits the handler asked for (the default `sleep` of the tests returns at once). */
let sleeps: number[];

beforeEach(async () => {
  fake = await FakeGitProvider.start({ token: TOKEN, tokenUser: 'alice', users: ['bob'], organizations: ['acme'] });
  logs = [];
  sleeps = [];
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
    sleep: async ms => {
      sleeps.push(ms);
    },
    log: line => logs.push(line),
    // The fake listens on http://127.0.0.1; the handler refuses http:// everywhere else.
    allowHttpToLoopback: true,
    retry: { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 4, requestTimeoutMs: 2_000 },
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
    const repo = fake.repository('acme', 'churn-build')!;
    // The physical id records that this resource created the repository, and its id on GitHub.
    const id = `github:${fake.githubUrl}:acme/churn-build;created=${repo.gitlabId}`;
    expect(outcome).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: id,
      Data: { FullRepositoryId: 'acme/churn-build' },
    });
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
      PhysicalResourceId: id,
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
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github-enterprise:${fake.githubUrl}:acme/churn-build;created=${fake.repository('acme', 'churn-build')!.gitlabId}` });
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
    fake.faults.push({ match: '/git/commits', status: 422, times: 1 });
    const failed = await handle(event('Create', props()), deps());
    expect(failed).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1' });
    expect(failed.Reason).toMatch(/^GitHub refused to create the seed code commit \(422: injected 422\)$/);
    expect(fake.repository('acme', 'churn-build')).toBeUndefined();
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
  });

  test('delete leaves the repository unless the removal policy is destroy', async () => {
    const id = (await handle(event('Create', props()), deps())).PhysicalResourceId;
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
    const id = (await handle(event('Create', props()), deps())).PhysicalResourceId;
    const before = fake.requests.length;
    expect(await handle(event('Update', props({ SeedKey: 'other.zip' }), id, props()), deps())).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(fake.requests.length).toBe(before);

    const renamed = await handle(event('Update', props({ RepositoryName: 'churn-build-2' }), id, props()), deps());
    expect(renamed).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github:${fake.githubUrl}:acme/churn-build-2;created=${fake.repository('acme', 'churn-build-2')!.gitlabId}` });
    expect(fake.repository('acme', 'churn-build-2')).toBeDefined();
  });

  test('update to another owner or name with destroy: refused, so that the old repository and its history are not deleted', async () => {
    const id = (await handle(event('Create', props({ RemovalPolicy: 'destroy' })), deps())).PhysicalResourceId;
    const before = fake.requests.length;
    const moved = await handle(event('Update', props({ RemovalPolicy: 'destroy', Owner: 'other-org' }), id, props({ RemovalPolicy: 'destroy' })), deps());
    expect(moved).toMatchObject({ Status: 'FAILED', PhysicalResourceId: id });
    expect(moved.Reason).toMatch(/moves the project from acme\/churn-build to other-org\/churn-build, after which CloudFormation would delete acme\/churn-build and its history, as the removal policy is destroy; keep the git owner/);
    expect(fake.requests.length).toBe(before);
    // Switching to destroy in the same update is refused too.
    expect((await handle(event('Update', props({ RemovalPolicy: 'destroy', RepositoryName: 'churn-2' }), id, props()), deps())).Status).toBe('FAILED');
    expect(fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('physical ids of version 0.1.0 (no ownership suffix): an update keeps them, so CloudFormation replaces nothing; a delete with destroy still deletes', async () => {
    await handle(event('Create', props()), deps());
    const legacy = `github:${fake.githubUrl}:acme/churn-build`;
    expect(await handle(event('Update', props({ SeedKey: 'other.zip' }), legacy, props()), deps())).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: legacy });
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), legacy), deps())).Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});

describe('GitLab', () => {
  const gitlab = (overrides: Partial<RepositoryProperties> = {}) => props({ Provider: 'gitlab', ApiUrl: fake.gitlabUrl, ...overrides });

  test('create: a private project in the group, with the seed code as the first commit on the branch', async () => {
    const outcome = await handleAndRespond(event('Create', gitlab({ Branch: 'develop' })), deps(), 30_000);
    const repo = fake.repository('acme', 'churn-build')!;
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `gitlab:${fake.gitlabUrl}:acme/churn-build;created=${repo.gitlabId}` });
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
    const id = (await handle(event('Create', gitlab()), deps())).PhysicalResourceId;
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
    expect(outcome).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/did not finish within 0 seconds .* while reading the seed code/) });
    expect(fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
  });

  test('an unreachable provider (connection refused): retried with backoff, then a reason that says what to check', async () => {
    const closed = await FakeGitProvider.start({ token: TOKEN });
    const url = closed.githubUrl;
    await closed.close();
    const outcome = await handle(event('Create', props({ ApiUrl: url })), deps());
    expect(outcome.Status).toBe('FAILED');
    expect(outcome.Reason).toBe(`cannot reach GitHub at ${url} (fetch failed: ECONNREFUSED); gave up after 4 attempts; check that ${url} is reachable from Lambda and the provider is available, then retry the project creation`);
    expect(sleeps.length).toBe(3);
  });
});

describe('safe by default: https only, retries within the time budget, deletes only what it created', () => {
  const gitlab = (overrides: Partial<RepositoryProperties> = {}) => props({ Provider: 'gitlab', ApiUrl: fake.gitlabUrl, ...overrides });

  test('an http:// API URL is refused before the token is read; on delete, left alone', async () => {
    let secretReads = 0;
    const counting = { getSecret: async () => { secretReads++; return TOKEN; } };
    const outcome = await handleAndRespond(event('Create', props({ Provider: 'github-enterprise', ApiUrl: 'http://github.example.com/api/v3' })), deps(counting), 30_000);
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'the API URL \'http://github.example.com/api/v3\' is not https://; the token would travel in clear text: set apiUrl to the https:// address of the GitHub Enterprise Server API, e.g. https://github.example.com/api/v3',
    });
    // Loopback http is for these tests only: without the test switch it is refused too.
    const loopback = await handle(event('Create', props()), deps({ ...counting, allowHttpToLoopback: false }));
    expect(loopback.Reason).toMatch(/^the API URL 'http:\/\/127\.0\.0\.1:\d+\/github' is not https:\/\//);
    expect(secretReads).toBe(0);
    expect(fake.requests.filter(r => !r.path.startsWith('/cfn/'))).toEqual([]);

    const httpId = 'github-enterprise:http://github.example.com/api/v3:acme/churn-build;created=7';
    expect(await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), httpId), deps({ ...counting, allowHttpToLoopback: false }))).toEqual({ Status: 'SUCCESS', PhysicalResourceId: httpId });
    expect(secretReads).toBe(0);
    expect(logs.join('\n')).toContain('is not https://');
  });

  test('5xx answers are retried with exponential backoff and jitter, then the creation succeeds', async () => {
    fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 503, times: 2 }, { match: '/git/trees', status: 502, times: 1 });
    const outcome = await handle(event('Create', props()), deps({ random: () => 0.5 }));
    expect(outcome.Status).toBe('SUCCESS');
    expect(fake.historyLength('acme', 'churn-build', 'main')).toBe(1);
    // Half the cap fixed, half random: caps 10, 20 ms for the create, 10 ms for the tree.
    expect(sleeps).toEqual([8, 15, 8]);
    expect(logs.some(l => l === 'GitHub answered 503 (injected 503) to \'create acme/churn-build\'; retry 1 in 8 ms')).toBe(true);
  });

  test('backoff stays within [cap/2, cap] and the cap stops growing at maxDelayMs', async () => {
    fake.faults.push({ match: '/github/users/acme', status: 500 });
    const low = await handle(event('Create', props()), deps({ random: () => 0, retry: { baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 5 } }));
    expect(low.Reason).toBe(`GitHub answered 500 (injected 500) to 'look up acme'; gave up after 5 attempts; check that ${fake.githubUrl} is reachable from Lambda and the provider is available, then retry the project creation`);
    expect(sleeps).toEqual([50, 100, 150, 150]);
    sleeps = [];
    await handle(event('Create', props()), deps({ random: () => 0.999, retry: { baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 5 } }));
    expect(sleeps).toEqual([100, 200, 300, 300]);
  });

  test('429 with Retry-After (seconds or a date) waits that long, then succeeds', async () => {
    fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 429, headers: { 'retry-after': '3' }, times: 1 });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
    expect(sleeps.length).toBe(1);
    expect(sleeps[0]).toBeGreaterThan(2_500);
    expect(sleeps[0]).toBeLessThanOrEqual(3_000);

    sleeps = [];
    const at = new Date(Date.now() + 5_000).toUTCString();
    fake.faults.push({ match: 'POST /gitlab/projects', status: 429, headers: { 'retry-after': at }, times: 1 });
    expect((await handle(event('Create', gitlab({ RepositoryName: 'churn-deploy' })), deps())).Status).toBe('SUCCESS');
    expect(sleeps.length).toBe(1);
    expect(sleeps[0]).toBeGreaterThan(3_000);
    expect(sleeps[0]).toBeLessThanOrEqual(5_000);
  });

  test('GitHub\'s secondary rate limit (403 with Retry-After) is waited out too; a plain 403 is not retried', async () => {
    fake.faults.push({ match: '/git/commits', status: 403, headers: { 'retry-after': '1' }, times: 1 });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
    expect(sleeps.length).toBe(1);

    sleeps = [];
    fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 403, times: 1 });
    const denied = await handle(event('Create', props({ RepositoryName: 'other' })), deps());
    expect(denied.Reason).toMatch(/^the token in secret .* may not create acme\/other on GitHub \(403: injected 403\)/);
    expect(sleeps).toEqual([]);
  });

  test('a rate limit that ends after the budget fails at once, saying until when', async () => {
    fake.faults.push({ match: '/github/', status: 429, headers: { 'retry-after': '3600' } });
    const outcome = await handleAndRespond(event('Create', props()), deps(), 60_000);
    expect(outcome.Reason).toMatch(/^rate limited by GitHub until \S+Z; retry the project creation after that$/);
    expect(sleeps).toEqual([]);
    expect(fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED', Reason: outcome.Reason })]);
  });

  test('network errors (a connection reset before or after the request took effect) are retried', async () => {
    fake.faults.push({ match: 'GET /github/users/acme', reset: true, times: 2 });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
    expect(sleeps.length).toBe(2);
    expect(logs.some(l => /^cannot reach GitHub at .* \(fetch failed: .*\); retry 1 in \d+ ms$/.test(l))).toBe(true);

    // The branch was made but the answer lost: the retry finds it and moves it to the seed commit.
    fake.faults.push({ match: 'POST /github/repos/acme/churn-2/git/refs', resetAfter: true, times: 1 });
    expect((await handle(event('Create', props({ RepositoryName: 'churn-2', Branch: 'develop' })), deps())).Status).toBe('SUCCESS');
    expect([...fake.repository('acme', 'churn-2')!.branches.keys()]).toEqual(['develop']);
    expect(fake.historyLength('acme', 'churn-2', 'develop')).toBe(1);

    // GitLab: the commit was made but the answer lost.
    fake.faults.push({ match: '/repository/commits', resetAfter: true, times: 1 });
    expect((await handle(event('Create', gitlab({ RepositoryName: 'churn-3' })), deps())).Status).toBe('SUCCESS');
    expect([...fake.filesOn('acme', 'churn-3', 'main').keys()].sort()).toEqual(SEED_PATHS);
  });

  test('a create whose answer was lost, then found existing on retry: not taken for ours, left in place, never deleted', async () => {
    fake.faults.push({ match: 'POST /github/orgs/acme/repos', resetAfter: true, times: 1 });
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'repository acme/churn-build exists on GitHub after a create request that got no answer was retried: it may be half-made by that request; it is left in place: check it and delete it before retrying',
    });
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('5xx until the budget ends: FAILED with the reason, sent to CloudFormation before the time limit; nothing more is sent', async () => {
    fake.faults.push({ match: '/github/users/acme', status: 503 });
    const started = Date.now();
    const outcome = await handleAndRespond(event('Create', props()), deps({ sleep: undefined, retry: { baseDelayMs: 20, maxDelayMs: 80, maxAttempts: 1000 } }), 1_000);
    const took = Date.now() - started;
    expect(outcome.Status).toBe('FAILED');
    expect(outcome.Reason).toMatch(/^GitHub answered 503 \(injected 503\) to 'look up acme'; gave up after \d+ attempts in [01]\.\d s, stopping before the function's time limit; check that http:\/\/127\.0\.0\.1:\d+\/github is reachable from Lambda/);
    // Within the budget, the response included: no waiting for the function's timeout.
    expect(took).toBeLessThan(1_000 + 300);
    expect(fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED', Reason: outcome.Reason, PhysicalResourceId: 'not-created:request-1' })]);
    const requests = fake.requests.length;
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(fake.requests.length).toBe(requests);
  });

  test('a provider that accepts the connection and never answers: the attempt is cut at the budget, FAILED in time', async () => {
    fake.faults.push({ match: 'POST /github/orgs/acme/repos', hang: true });
    const started = Date.now();
    const outcome = await handleAndRespond(event('Create', props()), deps({ sleep: undefined }), 800);
    expect(Date.now() - started).toBeLessThan(800 + 300);
    expect(outcome.Reason).toMatch(/^cannot reach GitHub at \S+ \(no answer in time\); gave up after 1 attempt in 0\.\d s, stopping before the function's time limit;/);
    expect(fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
  });

  test('a step that ignores the budget still ends in FAILED at the budget, saying what it was doing', async () => {
    const outcome = await handleAndRespond(event('Create', props()), deps({ getObject: () => new Promise(() => undefined) }), 100);
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'the git provider did not finish within 0 seconds (the function\'s time limit less a safety margin) while reading the seed code; check that the provider is reachable from Lambda and retry',
    });
  });

  test('the budget is the function\'s remaining time less a safety margin', () => {
    expect(lambdaBudgetMs({ getRemainingTimeInMillis: () => 300_000 })).toBe(300_000 - SAFETY_MARGIN_MS);
    expect(lambdaBudgetMs({ getRemainingTimeInMillis: () => 20_000 })).toBe(10_000);
    expect(lambdaBudgetMs(undefined)).toBe(300_000 - SAFETY_MARGIN_MS);
  });

  test('the response to CloudFormation is retried on 5xx', async () => {
    fake.faults.push({ match: 'PUT /cfn/', status: 503, times: 1 });
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    expect(outcome.Status).toBe('SUCCESS');
    expect(fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test('a redirect is reported, not followed (it could lead the token elsewhere)', async () => {
    fake.faults.push({ match: 'GET /github/users/acme', status: 301, headers: { location: 'http://elsewhere.example.com/users/acme' } });
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome.Reason).toBe('GitHub answered \'look up acme\' with a redirect (301 to http://elsewhere.example.com/users/acme); set apiUrl to the API\'s own https:// address');
    expect(fake.requests.filter(r => r.path.startsWith('/github/')).length).toBe(1);
  });

  test('an adopted repository (it existed) is used as it is and never deleted, even with destroy', async () => {
    fake.addRepository('acme', 'churn-build');
    const outcome = await handle(event('Create', props({ ExistingRepository: 'adopt', RemovalPolicy: 'destroy' })), deps());
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github:${fake.githubUrl}:acme/churn-build;adopted` });
    expect(fake.filesOn('acme', 'churn-build', 'main').get('README.md')!.content).toBe('existing\n');
    const before = fake.requests.length;
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(fake.requests.length).toBe(before);
    expect(fake.repository('acme', 'churn-build')).toBeDefined();

    // GitLab alike.
    fake.addRepository('acme', 'churn-deploy');
    const gl = await handle(event('Create', gitlab({ RepositoryName: 'churn-deploy', ExistingRepository: 'adopt' })), deps());
    expect(gl.PhysicalResourceId).toBe(`gitlab:${fake.gitlabUrl}:acme/churn-deploy;adopted`);
    expect((await handle(event('Delete', gitlab({ RepositoryName: 'churn-deploy', RemovalPolicy: 'destroy' }), gl.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-deploy')).toBeDefined();
  });

  test('a created repository deleted and made again by someone else under the same name is not deleted', async () => {
    for (const [p, url] of [[props(), fake.githubUrl], [gitlab(), fake.gitlabUrl]] as const) {
      const created = await handle(event('Create', p), deps());
      expect(created.PhysicalResourceId).toMatch(new RegExp(`^${p.Provider}:${url.replace(/[.]/g, '\\.')}:acme/churn-build;created=\\d+$`));
      fake.removeRepository('acme', 'churn-build');
      const theirs = fake.addRepository('acme', 'churn-build');
      expect((await handle(event('Delete', { ...p, RemovalPolicy: 'destroy' }, created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
      expect(fake.repository('acme', 'churn-build')).toBe(theirs);
      expect(logs.some(l => /^leaving acme\/churn-build in place: it is not the (repository|project) this resource created/.test(l))).toBe(true);
      fake.removeRepository('acme', 'churn-build');
    }
  });

  test('delete: a created repository with destroy is deleted; retain, unknown or not-created ids never are', async () => {
    const created = await handle(event('Create', gitlab()), deps());
    for (const id of [created.PhysicalResourceId.replace(/;created=\d+$/, ';adopted'), 'not-created:request-0', 'garbage', '']) {
      expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
    }
    expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'retain' }), created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-build')).toBeDefined();
    expect(fake.requests.some(r => r.method === 'DELETE')).toBe(false);
    expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'destroy' }), created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(fake.repository('acme', 'churn-build')).toBeUndefined();
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
