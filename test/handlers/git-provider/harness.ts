import { CustomResourceEvent, HandlerDependencies, RepositoryProperties } from '../../../src/handlers/git-provider';
import { FakeGitProvider, writeZip } from '../../util/fake-git-provider';

/**
 * What the git provider handler's tests share: a fake GitHub / GitLab on 127.0.0.1 (a new one for
 * each test), the token and secret it accepts, the seed code, and the events CloudFormation sends.
 *
 * `useFakeProvider()` registers the hooks in the test file that calls it; jest loads this module
 * afresh for each test file, so files running in parallel do not share the state.
 */
export const TOKEN = 'ghp_s3cr3tT0kenValue1234567890';
export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf';

export const SEED = writeZip([
  { path: 'buildspec.yml', content: 'version: 0.2\n' },
  { path: 'pipelines/run_pipeline.py', content: 'print("run")\n' },
  { path: 'pipelines/abalone/pipeline.py', content: 'def get_pipeline(): ...\n', stored: true },
  { path: 'scripts/build.sh', content: '#!/bin/sh\necho build\n', executable: true },
  { path: '.gitignore', content: '__pycache__/\n' },
]);
export const SEED_PATHS = ['.gitignore', 'buildspec.yml', 'pipelines/abalone/pipeline.py', 'pipelines/run_pipeline.py', 'scripts/build.sh'];

/** The state of the test that runs; reset before each test. */
export interface Harness {
  fake: FakeGitProvider;
  logs: string[];
  /** What the token secret holds. */
  secret: string;
  /** The waits the handler asked for (the default `sleep` of the tests returns at once). */
  sleeps: number[];
}

export const h: Harness = {} as Harness;

/** A fake provider for each test of the calling file; after each, checks that the token went nowhere. */
export function useFakeProvider(): Harness {
  beforeEach(async () => {
    h.fake = await FakeGitProvider.start({ token: TOKEN, tokenUser: 'alice', users: ['bob'], organizations: ['acme'] });
    h.logs = [];
    h.sleeps = [];
    h.secret = TOKEN;
  });

  afterEach(async () => {
    await h.fake.close();
    // Nothing the handler logged or sent may hold the token.
    expect(h.logs.join('\n')).not.toContain(TOKEN);
    expect(JSON.stringify(h.fake.cfnResponses)).not.toContain(TOKEN);
    expect(h.fake.bodies.join('\n')).not.toContain(TOKEN);
  });
  return h;
}

export function deps(overrides: Partial<HandlerDependencies> = {}): HandlerDependencies {
  return {
    getSecret: async arn => {
      if (arn !== SECRET_ARN) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
      return h.secret;
    },
    getObject: async (bucket, key) => {
      if (bucket !== 'seed-bucket' || key !== 'build.zip') throw Object.assign(new Error('no such key'), { name: 'NoSuchKey' });
      return SEED;
    },
    fetch: (url, init) => fetch(url, init),
    sleep: async ms => {
      h.sleeps.push(ms);
    },
    log: line => h.logs.push(line),
    // The fake listens on http://127.0.0.1; the handler refuses http:// everywhere else.
    allowHttpToLoopback: true,
    retry: { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 4, requestTimeoutMs: 2_000 },
    ...overrides,
  };
}

export function props(overrides: Partial<RepositoryProperties> = {}): RepositoryProperties {
  return {
    Provider: 'github',
    ApiUrl: h.fake.githubUrl,
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

/** The properties of a GitLab project on the fake. */
export function gitlab(overrides: Partial<RepositoryProperties> = {}): RepositoryProperties {
  return props({ Provider: 'gitlab', ApiUrl: h.fake.gitlabUrl, ...overrides });
}

export function event(requestType: 'Create' | 'Update' | 'Delete', properties: RepositoryProperties, physicalId?: string, old?: RepositoryProperties): CustomResourceEvent {
  return {
    RequestType: requestType,
    ResponseURL: `${h.fake.url}/cfn/response?X-Amz-Signature=abc`,
    StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/SC-111111111111-pp-abc/1',
    RequestId: 'request-1',
    LogicalResourceId: 'BuildRepository',
    PhysicalResourceId: physicalId,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:f', ...properties },
    OldResourceProperties: old,
  };
}

/** A request the handler made, as `recordingFetch` saw it. */
export interface FetchCall {
  readonly url: string;
  readonly init: any;
}

/**
 * A fetch that records each request, then answers it with `answer` (a status, for hosts that must
 * not be reached), or passes it on to the real fetch when `answer` is not given.
 */
export function recordingFetch(answer?: number): { calls: FetchCall[]; fetch: HandlerDependencies['fetch'] } {
  const calls: FetchCall[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      return answer === undefined ? fetch(url, init) : new Response(JSON.stringify({ message: `answered ${answer}` }), { status: answer });
    },
  };
}
