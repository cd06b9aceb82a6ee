import { deps, event, h, props, SECRET_ARN, TOKEN, useFakeProvider } from './harness';
import { handle, handleAndRespond } from '../../../src/handlers/git-provider';
import { FakeGitProvider, writeZip } from '../../util/fake-git-provider';

/** What the handler reads before it calls the provider: the token secret and the seed code. */
useFakeProvider();

describe('what the handler reads', () => {
  test('a secret holding {"token": ...} works as well as the bare token', async () => {
    h.secret = JSON.stringify({ token: TOKEN });
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
  });

  test('a secret it cannot read, or an empty one', async () => {
    const missing = await handle(event('Create', props({ TokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:missing-xyz' })), deps());
    expect(missing.Reason).toBe('cannot read the token secret arn:aws:secretsmanager:eu-west-1:111111111111:secret:missing-xyz (ResourceNotFoundException); check that it exists in this account and region and holds a SecretString');
    h.secret = '  ';
    expect((await handle(event('Create', props()), deps())).Reason).toMatch(/^the token secret .* is empty; store a personal access token/);
    expect(h.fake.requests).toEqual([]);
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
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED' })]);
  });

  test('an unreachable provider (connection refused): retried with backoff, then a reason that says what to check', async () => {
    const closed = await FakeGitProvider.start({ token: TOKEN });
    const url = closed.githubUrl;
    await closed.close();
    const outcome = await handle(event('Create', props({ ApiUrl: url })), deps());
    expect(outcome.Status).toBe('FAILED');
    expect(outcome.Reason).toBe(`cannot reach GitHub at ${url} (fetch failed: ECONNREFUSED); gave up after 4 attempts; check that ${url} is reachable from Lambda and the provider is available, then retry the project creation`);
    expect(h.sleeps.length).toBe(3);
  });
});

describe('the token secret', () => {
  test.each([
    ['{"Token": ...}', () => JSON.stringify({ Token: TOKEN })],
    ['{"TOKEN": ...}', () => JSON.stringify({ TOKEN })],
    ['the token with a trailing newline', () => `${TOKEN}\n`],
  ])('%s works too', async (_, secret) => {
    h.secret = secret();
    expect((await handle(event('Create', props()), deps())).Status).toBe('SUCCESS');
  });

  test('JSON that does not parse, or has no token: FAILED before any request, saying what to store', async () => {
    h.secret = '{"token": ';
    expect((await handle(event('Create', props()), deps())).Reason).toBe(
      `the token secret ${SECRET_ARN} looks like JSON but does not parse; store the token alone, or {"token": "<token>"}`);
    h.secret = JSON.stringify({ user: 'alice' });
    expect((await handle(event('Create', props()), deps())).Reason).toBe(
      `the token secret ${SECRET_ARN} is empty; store a personal access token, alone or as {"token": "<token>"}`);
    expect(h.fake.requests).toEqual([]);
  });

  test('a secret that cannot be read for a reason with no name', async () => {
    const outcome = await handle(event('Create', props()), deps({ getSecret: () => Promise.reject('throttled') }));
    expect(outcome.Reason).toBe(`cannot read the token secret ${SECRET_ARN} (error); check that it exists in this account and region and holds a SecretString`);
  });
});

describe('the seed code', () => {
  test('an archive with no files', async () => {
    const outcome = await handle(event('Create', props()), deps({ getObject: async () => writeZip([]) }));
    expect(outcome.Reason).toBe('the seed code s3://seed-bucket/build.zip has no files; a repository needs at least one');
    expect(h.fake.requests).toEqual([]);
  });
});

describe('what the provider answers', () => {
  /** The real fetch, except that the first requests get `answers`. */
  function answering(...answers: (() => Response)[]): Parameters<typeof deps>[0] {
    return { fetch: (url, init) => (answers.length ? Promise.resolve(answers.shift()!()) : fetch(url, init)) };
  }

  test('a body that is not JSON (say, a proxy\'s error page) is quoted in the message, shortened', async () => {
    const page = `<html><body>502 Bad Gateway${' '.repeat(400)}</body></html>`;
    const outcome = await handle(event('Create', props()), deps(answering(() => new Response(page, { status: 502 }))));
    expect(outcome.Status).toBe('SUCCESS');
    expect(h.logs).toContain(`GitHub answered 502 (${page.slice(0, 300)}) to 'look up acme'; retry 1 in ${h.sleeps[0]} ms`);
  });

  test('a JSON body without a message, and GitLab\'s "error" field', async () => {
    const outcome = await handle(event('Create', props()), deps(answering(
      () => new Response('{}', { status: 500 }),
      () => new Response(JSON.stringify({ error: 'insufficient_scope', errors: [{ code: 'missing' }] }), { status: 422 }),
    )));
    expect(h.logs).toContain(`GitHub answered 500 (no message) to 'look up acme'; retry 1 in ${h.sleeps[0]} ms`);
    expect(outcome.Reason).toBe('GitHub refused to look up acme (422: insufficient_scope; missing)');
  });
});
