import { deps, event, gitlab, h, SECRET_ARN, SEED_PATHS, useFakeProvider } from './harness';
import { handle, handleAndRespond } from '../../../src/handlers/git-provider';

/** The git provider custom resource handler against a fake GitLab on 127.0.0.1. */
useFakeProvider();

describe('GitLab', () => {

  test('create: a private project in the group, with the seed code as the first commit on the branch', async () => {
    const outcome = await handleAndRespond(event('Create', gitlab({ Branch: 'develop' })), deps(), 30_000);
    const repo = h.fake.repository('acme', 'churn-build')!;
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `gitlab:${h.fake.gitlabUrl}:acme/churn-build;created=${repo.gitlabId}` });
    expect(repo.private).toBe(true);
    expect(repo.defaultBranch).toBe('develop');
    expect(h.fake.historyLength('acme', 'churn-build', 'develop')).toBe(1);
    const files = h.fake.filesOn('acme', 'churn-build', 'develop');
    expect([...files.keys()].sort()).toEqual(SEED_PATHS);
    expect(files.get('scripts/build.sh')!.mode).toBe('100755');
    expect(h.fake.cfnResponses[0].Status).toBe('SUCCESS');
  });

  test('repository exists', async () => {
    h.fake.addRepository('acme', 'churn-build');
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome.Reason).toBe('repository acme/churn-build already exists on GitLab; delete or rename it, or set createRepository: false to use it as it is');
  });

  test('bad token', async () => {
    h.secret = 'glpat-wrong';
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome.Reason).toBe(`the token in secret ${SECRET_ARN} was refused by GitLab (401): store a valid personal access token with the api scope`);
  });

  test('rate limited (429 with Retry-After)', async () => {
    h.fake.rateLimit = { status: 429, retryAfterSeconds: 60 };
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
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});

describe('GitLab refusals and lost answers', () => {
  test('delete of a project that is gone already: a success, nothing deleted', async () => {
    const id = (await handle(event('Create', gitlab()), deps())).PhysicalResourceId;
    h.fake.removeRepository('acme', 'churn-build');
    expect(await handle(event('Delete', gitlab({ RemovalPolicy: 'destroy' }), id), deps())).toEqual({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(h.fake.requests.some(r => r.method === 'DELETE')).toBe(false);
    expect(h.logs).toContain('acme/churn-build is gone already');
  });

  test('a 400 that is not "already taken": FAILED with GitLab\'s message, nothing made', async () => {
    h.fake.faults.push({ match: 'POST /gitlab/projects', status: 400, times: 1 });
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome).toEqual({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: 'GitLab refused to create acme/churn-build (400: "injected 400")' });
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });

  test('a create whose answer was lost, then found taken on retry: not taken for ours, left in place, never deleted', async () => {
    h.fake.faults.push({ match: 'POST /gitlab/projects', resetAfter: true, times: 1 });
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'repository acme/churn-build exists on GitLab after a create request that got no answer was retried: it may be half-made by that request; '
        + 'it is left in place: check it and delete it before retrying',
    });
    expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('a retried commit refused, and no branch made by the first attempt: FAILED, and the project removed', async () => {
    h.fake.faults.push({ match: '/repository/commits', reset: true, times: 1 }, { match: '/repository/commits', status: 400, times: 1 });
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome).toEqual({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: 'GitLab refused to commit the seed code (400: injected 400)' });
    expect(h.fake.requests.some(r => r.method === 'GET' && /\/repository\/branches\/main$/.test(r.path))).toBe(true);
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});
