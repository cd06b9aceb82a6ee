import { event, h, props, SECRET_ARN, SEED, SEED_PATHS, TOKEN, useFakeProvider } from './harness';
import { CustomResourceEvent, handler, HandlerDependencies, respond } from '../../../src/handlers/git-provider';

/**
 * What CloudFormation hears: the response PUT to the pre-signed URL, and the Lambda entry point
 * with the AWS SDK v3 that the runtime provides (a stand-in here: the package is not installed).
 */
const mockSdk: { secretIds: string[]; objects: unknown[]; secret: string; seed: Uint8Array } = { secretIds: [], objects: [], secret: '', seed: new Uint8Array() };

jest.mock('@aws-sdk/client-secrets-manager', () => ({
  SecretsManagerClient: class {
    public async send(command: { input: { SecretId: string } }) {
      mockSdk.secretIds.push(command.input.SecretId);
      return { SecretString: mockSdk.secret };
    }
  },
  GetSecretValueCommand: class {
    constructor(public readonly input: unknown) {}
  },
}), { virtual: true });

jest.mock('@aws-sdk/client-s3', () => ({
  S3Client: class {
    public async send(command: { input: unknown }) {
      mockSdk.objects.push(command.input);
      return { Body: { transformToByteArray: async () => mockSdk.seed } };
    }
  },
  GetObjectCommand: class {
    constructor(public readonly input: unknown) {}
  },
}), { virtual: true });

useFakeProvider();

beforeEach(() => {
  mockSdk.secretIds = [];
  mockSdk.objects = [];
  mockSdk.secret = TOKEN;
  mockSdk.seed = new Uint8Array(SEED);
});

afterEach(() => {
  jest.restoreAllMocks();
});

const RESPONSE_URL = 'https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/stack?X-Amz-Signature=0123abcd';

const EVENT: CustomResourceEvent = {
  RequestType: 'Create',
  ResponseURL: RESPONSE_URL,
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/SC-111111111111-pp-abc/1',
  RequestId: 'request-1',
  LogicalResourceId: 'BuildRepository',
  ResourceProperties: {},
};

/** A CloudFormation response URL that answers each PUT with the next of `answers` (a status, or an error to throw). */
function cloudFormation(...answers: (number | Error)[]) {
  const calls: { url: string; init: any }[] = [];
  const logs: string[] = [];
  const sleeps: number[] = [];
  const deps: Pick<HandlerDependencies, 'fetch' | 'log' | 'sleep'> = {
    fetch: async (url, init) => {
      calls.push({ url, init });
      const answer = answers[Math.min(calls.length, answers.length) - 1];
      if (answer instanceof Error) throw answer;
      return new Response(null, { status: answer });
    },
    log: line => logs.push(line),
    sleep: async ms => {
      sleeps.push(ms);
    },
  };
  return { calls, logs, sleeps, deps };
}

function networkError(code: string): Error {
  return Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
}

describe('respond', () => {
  test('a PUT without a content type, of every field CloudFormation reads; a long reason cut to 2000 characters', async () => {
    const cfn = cloudFormation(200);
    await respond(EVENT, { Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: 'x'.repeat(5000) }, cfn.deps);
    expect(cfn.calls.length).toBe(1);
    expect(cfn.calls[0].url).toBe(RESPONSE_URL);
    expect(cfn.calls[0].init).toMatchObject({ method: 'PUT', headers: { 'content-type': '' } });
    expect(JSON.parse(cfn.calls[0].init.body)).toEqual({
      Status: 'FAILED',
      Reason: 'x'.repeat(2000),
      PhysicalResourceId: 'not-created:request-1',
      StackId: EVENT.StackId,
      RequestId: 'request-1',
      LogicalResourceId: 'BuildRepository',
      Data: {},
    });

    // Without a reason, the status is the reason.
    await respond(EVENT, { Status: 'SUCCESS', PhysicalResourceId: 'p', Data: { FullRepositoryId: 'acme/churn-build' } }, cfn.deps);
    expect(JSON.parse(cfn.calls[1].init.body)).toMatchObject({ Status: 'SUCCESS', Reason: 'SUCCESS', Data: { FullRepositoryId: 'acme/churn-build' } });
    expect(cfn.logs).toEqual([]);
  });

  test('a 4xx (say, the URL expired) is not retried: logged', async () => {
    const cfn = cloudFormation(403);
    await respond(EVENT, { Status: 'SUCCESS', PhysicalResourceId: 'p' }, cfn.deps);
    expect(cfn.calls.length).toBe(1);
    expect(cfn.sleeps).toEqual([]);
    expect(cfn.logs).toEqual(['CloudFormation refused the response: 403']);
  });

  test('a 5xx is retried: three attempts, 500 and 1000 ms apart, then logged', async () => {
    const cfn = cloudFormation(503);
    await respond(EVENT, { Status: 'SUCCESS', PhysicalResourceId: 'p' }, cfn.deps);
    expect(cfn.calls.length).toBe(3);
    expect(cfn.sleeps).toEqual([500, 1000]);
    expect(cfn.logs).toEqual(['CloudFormation refused the response: 503']);

    const recovers = cloudFormation(502, 200);
    await respond(EVENT, { Status: 'SUCCESS', PhysicalResourceId: 'p' }, recovers.deps);
    expect(recovers.calls.length).toBe(2);
    expect(recovers.logs).toEqual([]);
  });

  test('network errors and timeouts are retried; the log names the error, not the signed URL', async () => {
    const cfn = cloudFormation(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }), networkError('ECONNRESET'));
    await respond(EVENT, { Status: 'SUCCESS', PhysicalResourceId: 'p' }, cfn.deps);
    expect(cfn.calls.length).toBe(3);
    expect(cfn.sleeps).toEqual([500, 1000]);
    expect(cfn.logs).toEqual(['cannot send the response to CloudFormation (fetch failed: ECONNRESET)']);
    expect(cfn.logs.join('\n')).not.toContain('X-Amz-Signature');
  });
});

describe('the Lambda entry point', () => {
  const context = { getRemainingTimeInMillis: () => 60_000 };

  function captureConsole() {
    jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
      h.logs.push(String(line));
    });
  }

  test('refuses http:// (the test switch is never set in Lambda) before reading the token, and tells CloudFormation', async () => {
    captureConsole();
    await handler(event('Create', props()), context);
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({
      Status: 'FAILED',
      PhysicalResourceId: 'not-created:request-1',
      Reason: expect.stringMatching(/^the API URL 'http:\/\/127\.0\.0\.1:\d+\/github' is not https:\/\/; the token would travel in clear text: set apiUrl/),
    })]);
    expect(mockSdk.secretIds).toEqual([]);
    expect(h.logs).toContainEqual(expect.stringMatching(/^failed: the API URL/));
  });

  test('reads the token from Secrets Manager and the seed code from S3 with the runtime\'s SDK, creates the repository, tells CloudFormation', async () => {
    captureConsole();
    const api = 'https://github.example.com/api/v3';
    const realFetch = globalThis.fetch;
    // The https API is the fake, reached over loopback http behind the handler's back.
    jest.spyOn(globalThis, 'fetch').mockImplementation((url, init) => realFetch(String(url).replace(api, h.fake.githubUrl), init));

    await handler(event('Create', props({ Provider: 'github-enterprise', ApiUrl: api })), context);
    const id = `github-enterprise:${api}:acme/churn-build;created=${h.fake.repository('acme', 'churn-build')!.gitlabId}`;
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'SUCCESS', PhysicalResourceId: id, Data: { FullRepositoryId: 'acme/churn-build' } })]);
    expect(mockSdk.secretIds).toEqual([SECRET_ARN]);
    expect(mockSdk.objects).toEqual([{ Bucket: 'seed-bucket', Key: 'build.zip' }]);
    expect([...h.fake.filesOn('acme', 'churn-build', 'main').keys()].sort()).toEqual(SEED_PATHS);
    expect(h.logs).toContain(`created github-enterprise:${api}:acme/churn-build with ${SEED_PATHS.length} files on main`);
  });

  test('a secret the runtime\'s SDK returns without a string: FAILED, saying the secret is empty', async () => {
    captureConsole();
    mockSdk.secret = undefined as unknown as string;
    await handler(event('Create', props({ Provider: 'github-enterprise', ApiUrl: 'https://github.example.com/api/v3' })), context);
    expect(h.fake.cfnResponses).toEqual([expect.objectContaining({ Status: 'FAILED', Reason: expect.stringMatching(/^the token secret \S+ is empty/) })]);
  });
});
