import { deps, event, h, props, SECRET_ARN, SEED_PATHS, useFakeProvider } from './harness';
import { handle, handleAndRespond } from '../../../src/handlers/git-provider';

/**
 * The git provider custom resource handler against a fake GitHub on 127.0.0.1: the requests a
 * project creation makes, and the messages CloudFormation shows when it fails.
 */
useFakeProvider();

describe('GitHub', () => {
  test('create: a private repository in the organization whose only history is one commit of the seed code on the branch', async () => {
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    const repo = h.fake.repository('acme', 'churn-build')!;
    // The physical id records that this resource created the repository, and its id on GitHub.
    const id = `github:${h.fake.githubUrl}:acme/churn-build;created=${repo.gitlabId}`;
    expect(outcome).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: id,
      Data: { FullRepositoryId: 'acme/churn-build' },
    });
    expect(repo.private).toBe(true);
    expect(repo.defaultBranch).toBe('main');
    expect([...repo.branches.keys()]).toEqual(['main']);
    expect(h.fake.historyLength('acme', 'churn-build', 'main')).toBe(1);
    const files = h.fake.filesOn('acme', 'churn-build', 'main');
    expect([...files.keys()].sort()).toEqual(SEED_PATHS);
    expect(files.get('pipelines/abalone/pipeline.py')!.content).toBe('def get_pipeline(): ...\n');
    expect(files.get('scripts/build.sh')!.mode).toBe('100755');
    expect(files.get('buildspec.yml')!.mode).toBe('100644');
    expect(h.fake.requests.every(r => r.authorized || r.path.startsWith('/cfn/'))).toBe(true);
    // CloudFormation hears of it through the response URL.
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({
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
    const repo = h.fake.repository('alice', 'churn-build')!;
    expect(repo.defaultBranch).toBe('release/v1');
    expect([...repo.branches.keys()]).toEqual(['release/v1']);
    expect(h.fake.historyLength('alice', 'churn-build', 'release/v1')).toBe(1);
    expect(h.fake.requests.some(r => r.method === 'POST' && r.path === '/github/user/repos')).toBe(true);
  });

  test('GitHub Enterprise Server: the same calls against the configured API URL', async () => {
    const outcome = await handle(event('Create', props({ Provider: 'github-enterprise', ApiUrl: `${h.fake.githubUrl}/` })), deps());
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github-enterprise:${h.fake.githubUrl}:acme/churn-build;created=${h.fake.repository('acme', 'churn-build')!.gitlabId}` });
    expect(h.fake.historyLength('acme', 'churn-build', 'main')).toBe(1);
  });

  test('a repository that is still empty for a moment after creation is retried', async () => {
    h.fake.emptyRepositoryAnswers = 2;
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome.Status).toBe('SUCCESS');
    expect(h.fake.requests.filter(r => r.path.endsWith('/git/blobs')).length).toBe(SEED_PATHS.length + 2);
  });

  test('repository exists: fails, says what to do, and leaves the repository alone', async () => {
    h.fake.addRepository('acme', 'churn-build');
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'repository acme/churn-build already exists on GitHub; delete or rename it, or set createRepository: false to use it as it is',
    });
    expect(h.fake.cfnResponses[0]).toMatchObject({ Status: 'FAILED', Reason: outcome.Reason });
    expect(h.fake.filesOn('acme', 'churn-build', 'main').get('README.md')!.content).toBe('existing\n');
    // The rollback's delete does not touch it, even when the template destroys repositories.
    const rollback = await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps());
    expect(rollback.Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('bad token: the secret named, the token not', async () => {
    h.secret = 'ghp_revoked';
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    expect(outcome.Reason).toBe(`the token in secret ${SECRET_ARN} was refused by GitHub (401): store a valid personal access token with the repo scope`);
    expect(h.fake.cfnResponses[0].Status).toBe('FAILED');
  });

  test('rate limited (403 with x-ratelimit-remaining 0): until when', async () => {
    h.fake.rateLimit = { status: 403, resetEpochSeconds: 1893456000 };
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome.Reason).toBe('rate limited by GitHub until 2030-01-01T00:00:00.000Z; retry the project creation after that');
  });

  test('owner not found', async () => {
    const outcome = await handle(event('Create', props({ Owner: 'nobody' })), deps());
    expect(outcome.Reason).toBe('owner nobody not found on GitHub, or the token cannot see it');
    expect(h.fake.requests.some(r => r.method === 'POST')).toBe(false);
  });

  test('owner is another user: GitHub creates repositories only for the token\'s user or organizations', async () => {
    const outcome = await handle(event('Create', props({ Owner: 'bob' })), deps());
    expect(outcome.Reason).toMatch(/^owner bob is a GitHub user other than the token's \(alice\); use an organization, or a token of bob$/);
  });

  test('a failure after the repository was made removes it, so that a retry can succeed', async () => {
    h.fake.faults.push({ match: '/git/commits', status: 422, times: 1 });
    const failed = await handle(event('Create', props()), deps());
    expect(failed).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1' });
    expect(failed.Reason).toMatch(/^GitHub refused to create the seed code commit \(422: injected 422\)$/);
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
  });

  test('delete leaves the repository unless the removal policy is destroy', async () => {
    const id = (await handle(event('Create', props()), deps())).PhysicalResourceId;
    const before = h.fake.requests.length;
    expect(await handle(event('Delete', props(), id), deps())).toEqual({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(h.fake.requests.length).toBe(before);
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();

    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
    // Already gone: still a success.
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
  });

  test('update: the same repository is left as it is; a new name creates a new repository', async () => {
    const id = (await handle(event('Create', props()), deps())).PhysicalResourceId;
    const before = h.fake.requests.length;
    expect(await handle(event('Update', props({ SeedKey: 'other.zip' }), id, props()), deps())).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(h.fake.requests.length).toBe(before);

    const renamed = await handle(event('Update', props({ RepositoryName: 'churn-build-2' }), id, props()), deps());
    expect(renamed).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github:${h.fake.githubUrl}:acme/churn-build-2;created=${h.fake.repository('acme', 'churn-build-2')!.gitlabId}` });
    expect(h.fake.repository('acme', 'churn-build-2')).toBeDefined();
  });

  test('update to another owner or name with destroy: refused, so that the old repository and its history are not deleted', async () => {
    const id = (await handle(event('Create', props({ RemovalPolicy: 'destroy' })), deps())).PhysicalResourceId;
    const before = h.fake.requests.length;
    const moved = await handle(event('Update', props({ RemovalPolicy: 'destroy', Owner: 'other-org' }), id, props({ RemovalPolicy: 'destroy' })), deps());
    expect(moved).toMatchObject({ Status: 'FAILED', PhysicalResourceId: id });
    expect(moved.Reason).toMatch(/moves the project from acme\/churn-build to other-org\/churn-build, after which CloudFormation would delete acme\/churn-build and its history, as the removal policy is destroy; keep the git owner/);
    expect(h.fake.requests.length).toBe(before);
    // Switching to destroy in the same update is refused too.
    expect((await handle(event('Update', props({ RemovalPolicy: 'destroy', RepositoryName: 'churn-2' }), id, props()), deps())).Status).toBe('FAILED');
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('physical ids of version 0.1.0 (no ownership suffix): an update keeps them, so CloudFormation replaces nothing; a delete with destroy still deletes', async () => {
    await handle(event('Create', props()), deps());
    const legacy = `github:${h.fake.githubUrl}:acme/churn-build`;
    expect(await handle(event('Update', props({ SeedKey: 'other.zip' }), legacy, props()), deps())).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: legacy });
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), legacy), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});

describe('GitHub refusals after the lookups', () => {
  test('a 422 that is not "already exists": FAILED with GitHub\'s message, nothing made', async () => {
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 422, times: 1 });
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome).toEqual({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: 'GitHub refused to create acme/churn-build (422: injected 422)' });
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });

  test('a 404 to the create (the organization gone, or out of the token\'s reach)', async () => {
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 404, times: 1 });
    expect((await handle(event('Create', props()), deps())).Reason).toBe('owner acme not found on GitHub, or the token cannot see it');
  });

  test('a repository that stays empty (409) for five uploads: FAILED, and the repository removed', async () => {
    h.fake.emptyRepositoryAnswers = 5;
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'GitHub still reports acme/churn-build as empty (409: Git Repository is empty.); retry the project creation',
    });
    expect(h.sleeps).toEqual([1000, 2000, 3000, 4000]);
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });

  test('a branch refused at the first attempt: FAILED, and the repository removed', async () => {
    h.fake.faults.push({ match: 'POST /github/repos/acme/churn-build/git/refs', status: 422, times: 1 });
    const outcome = await handle(event('Create', props({ Branch: 'develop' })), deps());
    expect(outcome).toMatchObject({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: 'GitHub refused to create branch develop (422: injected 422)' });
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});
