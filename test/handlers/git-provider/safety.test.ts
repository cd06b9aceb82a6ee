import { deps, event, gitlab, h, props, SEED_PATHS, TOKEN, useFakeProvider } from './harness';
import { handle, handleAndRespond, lambdaBudgetMs, SAFETY_MARGIN_MS } from '../../../src/handlers/git-provider';

/** The handler's safety properties: https only, retries within the time budget, deletes only what it created. */
useFakeProvider();

describe('safe by default: https only, retries within the time budget, deletes only what it created', () => {

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
    expect(h.fake.requests.filter(r => !r.path.startsWith('/cfn/'))).toEqual([]);

    const httpId = 'github-enterprise:http://github.example.com/api/v3:acme/churn-build;created=7';
    expect(await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), httpId), deps({ ...counting, allowHttpToLoopback: false }))).toEqual({ Status: 'SUCCESS', PhysicalResourceId: httpId });
    expect(secretReads).toBe(0);
    expect(h.logs.join('\n')).toContain('is not https://');
  });

  test('5xx answers are retried with exponential backoff and jitter, then the creation succeeds', async () => {
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 503, times: 2 }, { match: '/git/trees', status: 502, times: 1 });
    const outcome = await handle(event('Create', props()), deps({ random: () => 0.5 }));
    expect(outcome.Status).toBe('SUCCESS');
    expect(h.fake.historyLength('acme', 'churn-build', 'main')).toBe(1);
    // Half the cap fixed, half random: caps 10, 20 ms for the create, 10 ms for the tree.
    expect(h.sleeps).toEqual([8, 15, 8]);
    expect(h.logs.some(l => l === 'GitHub answered 503 (injected 503) to \'create acme/churn-build\'; retry 1 in 8 ms')).toBe(true);
  });

  test('backoff stays within [cap/2, cap] and the cap stops growing at maxDelayMs', async () => {
    h.fake.faults.push({ match: '/github/users/acme', status: 500 });
    const low = await handle(event('Create', props()), deps({ random: () => 0, retry: { baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 5 } }));
    expect(low.Reason).toBe(`GitHub answered 500 (injected 500) to 'look up acme'; gave up after 5 attempts; check that ${h.fake.githubUrl} is reachable from Lambda and the provider is available, then retry the project creation`);
    expect(h.sleeps).toEqual([50, 100, 150, 150]);
    h.sleeps = [];
    await handle(event('Create', props()), deps({ random: () => 0.999, retry: { baseDelayMs: 100, maxDelayMs: 300, maxAttempts: 5 } }));
    expect(h.sleeps).toEqual([100, 200, 300, 300]);
  });

  test('429 with Retry-After (seconds or a date) waits that long, then succeeds', async () => {
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 429, headers: { 'retry-after': '3' }, times: 1 });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
    expect(h.sleeps.length).toBe(1);
    expect(h.sleeps[0]).toBeGreaterThan(2_500);
    expect(h.sleeps[0]).toBeLessThanOrEqual(3_000);

    h.sleeps = [];
    const at = new Date(Date.now() + 5_000).toUTCString();
    h.fake.faults.push({ match: 'POST /gitlab/projects', status: 429, headers: { 'retry-after': at }, times: 1 });
    expect((await handle(event('Create', gitlab({ RepositoryName: 'churn-deploy' })), deps())).Status).toBe('SUCCESS');
    expect(h.sleeps.length).toBe(1);
    expect(h.sleeps[0]).toBeGreaterThan(3_000);
    expect(h.sleeps[0]).toBeLessThanOrEqual(5_000);
  });

  test('GitHub\'s secondary rate limit (403 with Retry-After) is waited out too; a plain 403 is not retried', async () => {
    h.fake.faults.push({ match: '/git/commits', status: 403, headers: { 'retry-after': '1' }, times: 1 });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
    expect(h.sleeps.length).toBe(1);

    h.sleeps = [];
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 403, times: 1 });
    const denied = await handle(event('Create', props({ RepositoryName: 'other' })), deps());
    expect(denied.Reason).toMatch(/^the token in secret .* may not create acme\/other on GitHub \(403: injected 403\)/);
    expect(h.sleeps).toEqual([]);
  });

  test('a rate limit that ends after the budget fails at once, saying until when', async () => {
    h.fake.faults.push({ match: '/github/', status: 429, headers: { 'retry-after': '3600' } });
    const outcome = await handleAndRespond(event('Create', props()), deps(), 60_000);
    expect(outcome.Reason).toMatch(/^rate limited by GitHub until \S+Z; retry the project creation after that$/);
    expect(h.sleeps).toEqual([]);
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED', Reason: outcome.Reason })]);
  });

  test('network errors (a connection reset before or after the request took effect) are retried', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', reset: true, times: 2 });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
    expect(h.sleeps.length).toBe(2);
    expect(h.logs.some(l => /^cannot reach GitHub at .* \(fetch failed: .*\); retry 1 in \d+ ms$/.test(l))).toBe(true);

    // The branch was made but the answer lost: the retry finds it and moves it to the seed commit.
    h.fake.faults.push({ match: 'POST /github/repos/acme/churn-2/git/refs', resetAfter: true, times: 1 });
    expect((await handle(event('Create', props({ RepositoryName: 'churn-2', Branch: 'develop' })), deps())).Status).toBe('SUCCESS');
    expect([...h.fake.repository('acme', 'churn-2')!.branches.keys()]).toEqual(['develop']);
    expect(h.fake.historyLength('acme', 'churn-2', 'develop')).toBe(1);

    // GitLab: the commit was made but the answer lost.
    h.fake.faults.push({ match: '/repository/commits', resetAfter: true, times: 1 });
    expect((await handle(event('Create', gitlab({ RepositoryName: 'churn-3' })), deps())).Status).toBe('SUCCESS');
    expect([...h.fake.filesOn('acme', 'churn-3', 'main').keys()].sort()).toEqual(SEED_PATHS);
  });

  test('a create whose answer was lost, then found existing on retry: not taken for ours, left in place, never deleted', async () => {
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', resetAfter: true, times: 1 });
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'repository acme/churn-build exists on GitHub after a create request that got no answer was retried: it may be half-made by that request; it is left in place: check it and delete it before retrying',
    });
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('5xx until the budget ends: FAILED with the reason, sent to CloudFormation before the time limit; nothing more is sent', async () => {
    h.fake.faults.push({ match: '/github/users/acme', status: 503 });
    const started = Date.now();
    const outcome = await handleAndRespond(event('Create', props()), deps({ sleep: undefined, retry: { baseDelayMs: 20, maxDelayMs: 80, maxAttempts: 1000 } }), 1_000);
    const took = Date.now() - started;
    expect(outcome.Status).toBe('FAILED');
    // The last attempt may be cut short by the budget before GitHub answers: the 503 is still the reason.
    expect(outcome.Reason).toMatch(/^GitHub answered 503 \(injected 503\) to 'look up acme'(, then no answer in time)?; gave up after \d+ attempts in [01]\.\d s, stopping before the function's time limit; check that http:\/\/127\.0\.0\.1:\d+\/github is reachable from Lambda/);
    // Within the budget, the response included: no waiting for the function's timeout.
    expect(took).toBeLessThan(1_000 + 300);
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED', Reason: outcome.Reason, PhysicalResourceId: 'not-created:request-1' })]);
    const requests = h.fake.requests.length;
    await new Promise(resolve => setTimeout(resolve, 200));
    expect(h.fake.requests.length).toBe(requests);
  });

  test('a provider that accepts the connection and never answers: the attempt is cut at the budget, FAILED in time', async () => {
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', hang: true });
    const started = Date.now();
    const outcome = await handleAndRespond(event('Create', props()), deps({ sleep: undefined }), 800);
    expect(Date.now() - started).toBeLessThan(800 + 300);
    expect(outcome.Reason).toMatch(/^cannot reach GitHub at \S+ \(no answer in time\); gave up after 1 attempt in 0\.\d s, stopping before the function's time limit;/);
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
  });

  test('a 503, then an attempt cut at the budget without an answer: the reason keeps the 503', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', status: 503, times: 1 }, { match: 'GET /github/users/acme', hang: true });
    const outcome = await handleAndRespond(event('Create', props()), deps({ sleep: undefined, retry: { baseDelayMs: 20, maxDelayMs: 80, maxAttempts: 1000 } }), 800);
    expect(outcome.Status).toBe('FAILED');
    expect(outcome.Reason).toMatch(/^GitHub answered 503 \(injected 503\) to 'look up acme', then no answer in time; gave up after 2 attempts in 0\.\d s, stopping before the function's time limit;/);
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
    h.fake.faults.push({ match: 'PUT /cfn/', status: 503, times: 1 });
    const outcome = await handleAndRespond(event('Create', props()), deps(), 30_000);
    expect(outcome.Status).toBe('SUCCESS');
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'SUCCESS' })]);
  });

  test('a redirect is reported, not followed (it could lead the token elsewhere)', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', status: 301, headers: { location: 'http://elsewhere.example.com/users/acme' } });
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome.Reason).toBe('GitHub answered \'look up acme\' with a redirect (301 to http://elsewhere.example.com/users/acme); set apiUrl to the API\'s own https:// address');
    expect(h.fake.requests.filter(r => r.path.startsWith('/github/')).length).toBe(1);
  });

  test('an adopted repository (it existed) is used as it is and never deleted, even with destroy', async () => {
    h.fake.addRepository('acme', 'churn-build');
    const outcome = await handle(event('Create', props({ ExistingRepository: 'adopt', RemovalPolicy: 'destroy' })), deps());
    expect(outcome).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `github:${h.fake.githubUrl}:acme/churn-build;adopted` });
    expect(h.fake.filesOn('acme', 'churn-build', 'main').get('README.md')!.content).toBe('existing\n');
    const before = h.fake.requests.length;
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(h.fake.requests.length).toBe(before);
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();

    // GitLab alike.
    h.fake.addRepository('acme', 'churn-deploy');
    const gl = await handle(event('Create', gitlab({ RepositoryName: 'churn-deploy', ExistingRepository: 'adopt' })), deps());
    expect(gl.PhysicalResourceId).toBe(`gitlab:${h.fake.gitlabUrl}:acme/churn-deploy;adopted`);
    expect((await handle(event('Delete', gitlab({ RepositoryName: 'churn-deploy', RemovalPolicy: 'destroy' }), gl.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-deploy')).toBeDefined();
  });

  test('a created repository deleted and made again by someone else under the same name is not deleted', async () => {
    for (const [p, url] of [[props(), h.fake.githubUrl], [gitlab(), h.fake.gitlabUrl]] as const) {
      const created = await handle(event('Create', p), deps());
      expect(created.PhysicalResourceId).toMatch(new RegExp(`^${p.Provider}:${url.replace(/[.]/g, '\\.')}:acme/churn-build;created=\\d+$`));
      h.fake.removeRepository('acme', 'churn-build');
      const theirs = h.fake.addRepository('acme', 'churn-build');
      expect((await handle(event('Delete', { ...p, RemovalPolicy: 'destroy' }, created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
      expect(h.fake.repository('acme', 'churn-build')).toBe(theirs);
      expect(h.logs.some(l => /^leaving acme\/churn-build in place: it is not the (repository|project) this resource created/.test(l))).toBe(true);
      h.fake.removeRepository('acme', 'churn-build');
    }
  });

  test('delete: a created repository with destroy is deleted; retain, unknown or not-created ids never are', async () => {
    const created = await handle(event('Create', gitlab()), deps());
    for (const id of [created.PhysicalResourceId.replace(/;created=\d+$/, ';adopted'), 'not-created:request-0', 'garbage', '']) {
      expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
    }
    expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'retain' }), created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
    expect(h.fake.requests.some(r => r.method === 'DELETE')).toBe(false);
    expect((await handle(event('Delete', gitlab({ RemovalPolicy: 'destroy' }), created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});
