import { deps, event, gitlab, h, props, recordingFetch, TOKEN, useFakeProvider } from './harness';
import { handle } from '../../../src/handlers/git-provider';

/**
 * The token travels only over https: API URLs of any other form are refused before the token is
 * read, the test switch admits plain http to loopback addresses only, and redirects are reported
 * rather than followed. Hosts that must not be reached get a fetch that answers by itself.
 */
useFakeProvider();

/** Dependencies that count the token reads. */
function counting(overrides: Parameters<typeof deps>[0] = {}) {
  const reads = { count: 0 };
  return {
    reads,
    deps: deps({ getSecret: async () => { reads.count++; return TOKEN; }, ...overrides }),
  };
}

const FIX = 'set apiUrl to the https:// address of the GitHub Enterprise Server API, e.g. https://github.example.com/api/v3';

describe('API URLs', () => {
  test.each([
    ['http://github.example.com/api/v3', 'is not https://; the token would travel in clear text'],
    ['HTTP://GITHUB.EXAMPLE.COM/api/v3', 'is not https://; the token would travel in clear text'],
    ['http://user:password@github.example.com/api/v3', 'is not https://; the token would travel in clear text'],
    // Names that start like a loopback address are not one.
    ['http://127.0.0.1.nip.io/api/v3', 'is not https://; the token would travel in clear text'],
    ['http://localhost.example.com/api/v3', 'is not https://; the token would travel in clear text'],
    // Loopback, but not http.
    ['ws://127.0.0.1:8080/api/v3', 'is not https://; the token would travel in clear text'],
    ['ftp://github.example.com/api/v3', 'is not https://; the token would travel in clear text'],
    ['github.example.com/api/v3', 'is not a URL'],
    ['https//github.example.com/api/v3', 'is not a URL'],
  ])('%s is refused before the token is read, even with the test switch for loopback http', async (apiUrl, problem) => {
    const { reads, deps: d } = counting({ fetch: recordingFetch(500).fetch });
    const outcome = await handle(event('Create', props({ Provider: 'github-enterprise', ApiUrl: apiUrl })), d);
    expect(outcome).toEqual({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: `the API URL '${apiUrl}' ${problem}: ${FIX}` });
    expect(reads.count).toBe(0);
  });

  test.each(['http://localhost:8080', 'http://127.1.2.3:8080', 'http://[::1]:8080'])(
    'the test switch admits http to the loopback address %s; without it, it is refused like any other',
    async apiUrl => {
      const allowed = recordingFetch(401);
      const outcome = await handle(event('Create', props({ Provider: 'github-enterprise', ApiUrl: `${apiUrl}/` })), deps({ fetch: allowed.fetch }));
      // Admitted: the handler read the token and asked the API, which refused it.
      expect(outcome.Reason).toMatch(/^the token in secret \S+ was refused by GitHub Enterprise Server \(401\)/);
      expect(allowed.calls.map(c => c.url)).toEqual([`${apiUrl}/users/acme`]);

      const refused = recordingFetch(401);
      const { reads, deps: d } = counting({ fetch: refused.fetch, allowHttpToLoopback: false });
      const denied = await handle(event('Create', props({ Provider: 'github-enterprise', ApiUrl: apiUrl })), d);
      expect(denied.Reason).toBe(`the API URL '${apiUrl}' is not https://; the token would travel in clear text: ${FIX}`);
      expect(reads.count).toBe(0);
      expect(refused.calls).toEqual([]);
    },
  );

  test('without an API URL, GitHub and GitLab get their public https:// APIs; GitHub Enterprise Server needs one', async () => {
    const github = recordingFetch(401);
    await handle(event('Create', props({ ApiUrl: '' })), deps({ fetch: github.fetch, allowHttpToLoopback: false }));
    expect(github.calls.map(c => c.url)).toEqual(['https://api.github.com/users/acme']);

    const gitlabFetch = recordingFetch(401);
    await handle(event('Create', props({ Provider: 'gitlab', ApiUrl: '' })), deps({ fetch: gitlabFetch.fetch, allowHttpToLoopback: false }));
    expect(gitlabFetch.calls.map(c => c.url)).toEqual(['https://gitlab.com/api/v4/namespaces/acme']);

    const { reads, deps: d } = counting({ fetch: recordingFetch(500).fetch });
    const enterprise = await handle(event('Create', props({ Provider: 'github-enterprise', ApiUrl: '' })), d);
    expect(enterprise).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: 'no API URL for github-enterprise; set apiUrl, e.g. https://github.example.com/api/v3',
    });
    expect(reads.count).toBe(0);
  });

  test('the token goes in a header of requests to the API URL only, never in a URL; redirects are not followed', async () => {
    const github = recordingFetch();
    expect((await handle(event('Create', props()), deps({ fetch: github.fetch }))).Status).toBe('SUCCESS');
    const gitlabFetch = recordingFetch();
    expect((await handle(event('Create', gitlab({ RepositoryName: 'churn-deploy' })), deps({ fetch: gitlabFetch.fetch }))).Status).toBe('SUCCESS');

    for (const [calls, base, header, value] of [
      [github.calls, h.fake.githubUrl, 'authorization', `Bearer ${TOKEN}`],
      [gitlabFetch.calls, h.fake.gitlabUrl, 'private-token', TOKEN],
    ] as const) {
      expect(calls.length).toBeGreaterThan(3);
      for (const call of calls) {
        expect(call.url.startsWith(`${base}/`)).toBe(true);
        expect(call.url).not.toContain(TOKEN);
        expect(call.init.headers[header]).toBe(value);
        expect(call.init.redirect).toBe('manual');
      }
    }
    expect(github.calls[0].init.headers['x-github-api-version']).toBe('2022-11-28');
  });

  test.each([302, 307, 308])('a %i redirect is reported, not followed, even to the same host', async status => {
    h.fake.faults.push({ match: 'GET /github/users/acme', status, headers: { location: `${h.fake.githubUrl}/users/acme` } });
    const outcome = await handle(event('Create', props()), deps());
    expect(outcome.Reason).toBe(`GitHub answered 'look up acme' with a redirect (${status} to ${h.fake.githubUrl}/users/acme); set apiUrl to the API's own https:// address`);
    expect(h.fake.requests.length).toBe(1);
  });
});

describe('physical ids whose API URL is not https', () => {
  test('delete leaves the repository and does not read the token, even with the test switch for loopback http', async () => {
    for (const id of [
      'github-enterprise:http://github.example.com/api/v3:acme/churn-build;created=7',
      'gitlab:http://gitlab.example.com/api/v4:acme/churn-build;created=7',
      'github:http://github.example.com/api/v3:acme/churn-build',
    ]) {
      const { reads, deps: d } = counting({ fetch: recordingFetch(500).fetch });
      expect(await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), d)).toEqual({ Status: 'SUCCESS', PhysicalResourceId: id });
      expect(reads.count).toBe(0);
    }
    expect(h.logs.filter(l => /^leaving \S+ in place: the API URL 'http:\/\/\S+' is not https:\/\/; the token would travel in clear text$/.test(l)).length).toBe(3);
  });
});
