import { deps, event, gitlab, h, props, useFakeProvider } from './harness';
import { handle, handleAndRespond } from '../../../src/handlers/git-provider';

/**
 * Retries within the time budget: what is waited for, what is not, and what CloudFormation hears
 * when the budget ends. `deps()` records the waits without waiting unless a test says otherwise.
 */
useFakeProvider();

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

/** Requests to the provider's API (not to the CloudFormation response URL). */
function apiRequests() {
  return h.fake.requests.filter(r => !r.path.startsWith('/cfn/'));
}

describe('retries within the time budget', () => {
  test('a budget that has ended already: no request is made', async () => {
    const outcome = await handle(event('Create', props()), deps(), { deadline: Date.now() - 1 });
    expect(outcome).toEqual({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: 'stopped: the time budget ended' });
    expect(apiRequests()).toEqual([]);
  });

  test('a backoff longer than the time left is not waited for: FAILED at once, saying it stopped before the time limit', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', status: 503 });
    const outcome = await handle(event('Create', props()), deps({ retry: { baseDelayMs: 5_000, maxDelayMs: 5_000 } }), { deadline: Date.now() + 1_000 });
    expect(outcome.Reason).toMatch(new RegExp('^GitHub answered 503 \\(injected 503\\) to \'look up acme\'; gave up after 1 attempt in 0\\.\\d s, '
      + 'stopping before the function\'s time limit; check that http://127\\.0\\.0\\.1:\\d+/github is reachable from Lambda'));
    expect(h.sleeps).toEqual([]);
    expect(apiRequests().length).toBe(1);
  });

  test('a wait that outlasts the budget: stopped after it, saying what was retried', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', status: 503 });
    const slowSleep = async (ms: number) => {
      h.sleeps.push(ms);
      await new Promise(resolve => setTimeout(resolve, 300));
    };
    const outcome = await handle(event('Create', props()), deps({ sleep: slowSleep }), { deadline: Date.now() + 200 });
    expect(outcome.Reason).toBe('stopped: the time budget ended after: GitHub answered 503 (injected 503) to \'look up acme\'');
    expect(h.sleeps.length).toBe(1);
    expect(apiRequests().length).toBe(1);
  });

  test('a rate limit that ends within the budget is waited out (GitHub: x-ratelimit-reset with none remaining)', async () => {
    const reset = Math.floor(Date.now() / 1000) + 2;
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, times: 1 });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
    expect(h.sleeps.length).toBe(1);
    expect(h.sleeps[0]).toBeGreaterThan(500);
    expect(h.sleeps[0]).toBeLessThanOrEqual(2_000);
    expect(h.logs).toContainEqual(expect.stringMatching(new RegExp(`^rate limited by GitHub until ${ISO}; retry 1 in \\d+ ms$`)));
  });

  test('GitLab: a 429 with ratelimit-reset is waited out too', async () => {
    const reset = Math.floor(Date.now() / 1000) + 2;
    h.fake.faults.push({ match: 'POST /gitlab/projects', status: 429, headers: { 'ratelimit-reset': String(reset) }, times: 1 });
    expect((await handle(event('Create', gitlab()), deps())).Status).toBe('SUCCESS');
    expect(h.sleeps.length).toBe(1);
    expect(h.sleeps[0]).toBeGreaterThan(500);
    expect(h.sleeps[0]).toBeLessThanOrEqual(2_000);
  });

  test('a 429 that does not say when it ends is retried with the backoff', async () => {
    h.fake.faults.push({ match: 'POST /github/orgs/acme/repos', status: 429, times: 1 });
    expect((await handle(event('Create', props()), deps({ random: () => 0.5 }))).Status).toBe('SUCCESS');
    expect(h.sleeps).toEqual([8]);
    expect(h.logs).toContain('rate limited by GitHub; retry 1 in 8 ms');
  });

  test('a rate limit that outlasts the attempts fails, saying until when', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', status: 429, headers: { 'retry-after': '1' } });
    const outcome = await handle(event('Create', props()), deps({ retry: { maxAttempts: 2 } }));
    expect(outcome.Reason).toMatch(new RegExp(`^rate limited by GitHub until ${ISO}; retry the project creation after that$`));
    expect(h.sleeps.length).toBe(1);
    expect(apiRequests().length).toBe(2);
  });

  test('each attempt has its own time limit: a request that gets no answer is cut and retried', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', hang: true, times: 1 });
    const started = Date.now();
    expect((await handle(event('Create', props()), deps({ retry: { requestTimeoutMs: 200, baseDelayMs: 10 } }))).Status).toBe('SUCCESS');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(h.logs).toContainEqual(expect.stringMatching(/^cannot reach GitHub at \S+ \(no answer in time\); retry 1 in \d+ ms$/));
  });

  test('the budget ends with the repository made: CloudFormation gets its id, so that a rollback with destroy deletes it', async () => {
    h.fake.faults.push({ match: 'GET /github/users/acme', status: 503, times: 1 });
    // The tree request never ends, and ignores the budget's signal.
    const stuck = deps({ sleep: undefined, fetch: (url, init) => (url.endsWith('/git/trees') ? new Promise<Response>(() => undefined) : fetch(url, init)) });
    const outcome = await handleAndRespond(event('Create', props({ RemovalPolicy: 'destroy' })), stuck, 1_000);
    const id = `github:${h.fake.githubUrl}:acme/churn-build;created=${h.fake.repository('acme', 'churn-build')!.gitlabId}`;
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: id,
      Reason: 'the git provider did not finish within 1 seconds (the function\'s time limit less a safety margin) while trying to create the seed code tree on GitHub; '
        + 'last problem: GitHub answered 503 (injected 503) to \'look up acme\'; '
        + 'repository acme/churn-build was created before the time ran out: the rollback deletes it only with the removal policy DESTROY, otherwise delete it before retrying; '
        + 'check that the provider is reachable from Lambda and retry',
    });
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED', PhysicalResourceId: id })]);

    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});
