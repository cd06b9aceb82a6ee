import { deps, event, h, props, TOKEN, useFakeProvider } from './harness';
import { handle, handleAndRespond } from '../../../src/handlers/git-provider';
import { FakeGitProvider } from '../../util/fake-git-provider';

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
