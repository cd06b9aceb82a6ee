/**
 * The custom resource handler that creates a project's repository on a git provider (GitHub,
 * GitHub Enterprise Server, GitLab) and pushes the seed code as its first commit.
 *
 * It runs on Lambda's Node.js runtime with no dependencies of its own: global `fetch`, `zlib`
 * for the seed code zip, and the AWS SDK v3 that the runtime provides (loaded lazily, so the
 * tests run the same code with fakes and without the SDK).
 *
 * The token is read from Secrets Manager when the function runs; it is never written to the
 * template, the logs, or the messages returned to CloudFormation, and it is sent only over https.
 *
 * Safe by default:
 * - the API URL must be https:// (tests may allow http to a loopback address only);
 * - 5xx answers, rate limits (429, or 403 with Retry-After / an exhausted quota) and network
 *   errors are retried with exponential backoff and jitter, honouring Retry-After, within the
 *   time budget: the function's remaining time less a safety margin;
 * - when the budget ends, CloudFormation gets FAILED with the reason before the function times
 *   out, so that a stack never waits an hour for a response;
 * - the physical id records whether this resource created the repository (and its id on the
 *   provider); Delete removes only a repository this resource created, that is still the same
 *   repository, and only with the removal policy 'destroy'. Adopted repositories are never deleted.
 */
import { readZip, ZipEntry } from './zip';

/** The CloudFormation custom resource event. */
export interface CustomResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: { [key: string]: any };
  readonly OldResourceProperties?: { [key: string]: any };
}

/** The resource's properties, as the construct writes them. */
export interface RepositoryProperties {
  /** 'github', 'github-enterprise' or 'gitlab'. */
  readonly Provider: string;
  /** Base URL of the provider's REST API. */
  readonly ApiUrl: string;
  readonly Owner: string;
  readonly RepositoryName: string;
  readonly Branch: string;
  readonly TokenSecretArn: string;
  readonly SeedBucket: string;
  readonly SeedKey: string;
  /** 'retain' or 'destroy'. */
  readonly RemovalPolicy: string;
  readonly Description?: string;
  /**
   * What Create does when the repository exists already: 'fail' (the default) or 'adopt' (use it
   * as it is, without the seed code; Delete never removes an adopted repository).
   */
  readonly ExistingRepository?: string;
}

/** What the handler needs from the outside world; injected so tests use fakes. */
export interface HandlerDependencies {
  /** Retry and timeout settings; tests use milliseconds. */
  readonly retry?: RetryOptions;
  /** Tests only: allow http:// API URLs whose host is a loopback address. Never set in Lambda. */
  readonly allowHttpToLoopback?: boolean;
  /** The secret string of a Secrets Manager secret. */
  getSecret(secretArn: string): Promise<string>;
  /** The bytes of an S3 object. */
  getObject(bucket: string, key: string): Promise<Uint8Array>;
  /** HTTP. */
  fetch(url: string, init?: any): Promise<Response>;
  /** Waits between retries. */
  sleep?(ms: number): Promise<void>;
  /** Log lines (never given the token). */
  log?(message: string): void;
  /** A number in [0, 1) for the backoff's jitter. @default Math.random */
  random?(): number;
}

/** How requests to the provider are retried. */
export interface RetryOptions {
  /** Backoff before the first retry, doubled for each next one (with jitter). @default 1000 */
  readonly baseDelayMs?: number;
  /** Longest backoff. @default 20000 */
  readonly maxDelayMs?: number;
  /** Attempts of one request, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** Time limit of one attempt. @default 30000 */
  readonly requestTimeoutMs?: number;
}

/** The time an event may take, and the signal that ends it. */
export interface RunBudget {
  /** Epoch milliseconds by which the handler must have an outcome. */
  readonly deadline: number;
  /** Aborted when the budget ends: requests in flight stop, no new ones start. */
  readonly signal?: AbortSignal;
}

/** Time kept between the end of the budget and the function's timeout, to respond. */
export const SAFETY_MARGIN_MS = 15_000;

/** The budget of `handle` when it is called without one (the function's timeout is 5 minutes). */
const DEFAULT_BUDGET_MS = 300_000 - SAFETY_MARGIN_MS;

/** How the event ends. */
export interface Outcome {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly PhysicalResourceId: string;
  readonly Reason?: string;
  readonly Data?: { [key: string]: string };
}

/** What creating a repository did. */
interface CreateResult {
  /** The provider's id of the repository. */
  readonly repositoryId?: string;
  /** Whether the repository existed and was adopted as it is. */
  readonly adopted: boolean;
}

/** Physical id of a repository this resource did not create (failed create): delete leaves it. */
const NOT_CREATED = 'not-created';

/**
 * Physical ids: `<provider>:<api url>:<owner>/<name>` and a suffix that tells whose the
 * repository is: `;created=<provider's repository id>` or `;adopted`. Ids without a suffix come
 * from versions that only ever created repositories (they refused existing ones): created.
 */
const CREATED_SUFFIX = ';created=';
const ADOPTED_SUFFIX = ';adopted';

/** A repository named by a physical id. */
interface RepositoryTarget {
  readonly provider: string;
  readonly apiUrl: string;
  readonly owner: string;
  readonly name: string;
  /** 'created' (this resource created it) or 'adopted' (it existed). */
  readonly ownership: 'created' | 'adopted';
  /** The provider's id of the created repository; absent in ids of earlier versions. */
  readonly repositoryId?: string;
}

function parsePhysicalId(id: string): RepositoryTarget | undefined {
  let base = id;
  let ownership: 'created' | 'adopted' = 'created';
  let repositoryId: string | undefined;
  const created = id.lastIndexOf(CREATED_SUFFIX);
  if (id.endsWith(ADOPTED_SUFFIX)) {
    base = id.slice(0, -ADOPTED_SUFFIX.length);
    ownership = 'adopted';
  } else if (created >= 0) {
    base = id.slice(0, created);
    repositoryId = id.slice(created + CREATED_SUFFIX.length);
    if (!/^\d+$/.test(repositoryId)) return undefined;
  }
  const match = /^(github|github-enterprise|gitlab):(https?:\/\/[^;\s]+):([^:;\s]+)\/([^/:;\s]+)$/.exec(base);
  if (!match) return undefined;
  return { provider: match[1], apiUrl: match[2], owner: match[3], name: match[4], ownership, repositoryId };
}

/** A failure whose message tells the platform team or data scientist what to fix. */
export class GitProviderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitProviderError';
  }
}

const PROVIDER_NAMES: { [key: string]: string } = {
  'github': 'GitHub',
  'github-enterprise': 'GitHub Enterprise Server',
  'gitlab': 'GitLab',
};

/** Handle one event: create, update or delete the repository. Never throws. */
export async function handle(event: CustomResourceEvent, deps: HandlerDependencies, budget?: RunBudget): Promise<Outcome> {
  const props = event.ResourceProperties as RepositoryProperties;
  const log = deps.log ?? (() => undefined);
  const run = budget instanceof Run ? budget : new Run(deps, budget ?? { deadline: Date.now() + DEFAULT_BUDGET_MS });
  log(`${event.RequestType} ${event.LogicalResourceId}: ${props.Provider} ${props.Owner}/${props.RepositoryName} on ${props.Branch}`);
  let token: string | undefined;
  try {
    if (event.RequestType === 'Delete') {
      const id = event.PhysicalResourceId ?? '';
      const target = parsePhysicalId(id);
      if (!target || target.ownership !== 'created') {
        log(`leaving ${id} in place: this resource did not create it`);
        return { Status: 'SUCCESS', PhysicalResourceId: id };
      }
      if (String(props.RemovalPolicy).toLowerCase() !== 'destroy') {
        log(`leaving ${id} in place: the removal policy is ${props.RemovalPolicy}`);
        return { Status: 'SUCCESS', PhysicalResourceId: id };
      }
      const insecure = insecureUrlProblem(target.apiUrl, deps);
      if (insecure) {
        // Failing would leave the stack in DELETE_FAILED for good; the token is not sent in clear.
        log(`leaving ${id} in place: ${insecure}`);
        return { Status: 'SUCCESS', PhysicalResourceId: id };
      }
      run.step = 'reading the token secret';
      token = await readToken(deps, props);
      // The repository the physical id names, which is the one created.
      const targetProps: RepositoryProperties = {
        ...props, Provider: target.provider, ApiUrl: target.apiUrl, Owner: target.owner, RepositoryName: target.name,
      };
      await providerFor(targetProps, token, run).deleteCreatedRepository(target.repositoryId);
      return { Status: 'SUCCESS', PhysicalResourceId: id };
    }
    const physicalId = physicalIdOf(props);
    const previous = parsePhysicalId(event.PhysicalResourceId ?? '');
    if (event.RequestType === 'Update' && previous && sameRepository(previous, props)) {
      // Same repository: the data scientists' history is theirs, seed code changes do not apply.
      // The physical id stays as it is, so CloudFormation does not take this for a replacement.
      return { Status: 'SUCCESS', PhysicalResourceId: event.PhysicalResourceId!, Data: dataOf(props) };
    }
    if (event.RequestType === 'Update' && previous && previous.ownership === 'created'
      && [props.RemovalPolicy, event.OldResourceProperties?.RemovalPolicy].some(policy => String(policy).toLowerCase() === 'destroy')) {
      // CloudFormation would delete the old repository once the new one exists: the project's history.
      throw new GitProviderError(`this update moves the project from ${previous.owner}/${previous.name} to ${props.Owner}/${props.RepositoryName}, `
        + `after which CloudFormation would delete ${previous.owner}/${previous.name} and its history, as the removal policy is destroy; `
        + 'keep the git owner and the project name as they were, or update with the removal policy retain first');
    }
    const insecure = insecureUrlProblem(apiUrlOf(props), deps);
    if (insecure) {
      throw new GitProviderError(`${insecure}: set apiUrl to the https:// address of the ${PROVIDER_NAMES[props.Provider] ?? props.Provider} API, e.g. https://github.example.com/api/v3`);
    }
    run.step = 'reading the token secret';
    token = await readToken(deps, props);
    const client = providerFor(props, token, run);
    run.step = 'reading the seed code';
    const files = await readSeedCode(deps, props);
    const result = await client.createRepository(files, physicalId);
    if (result.adopted) {
      log(`adopted ${physicalId} as it is`);
      return { Status: 'SUCCESS', PhysicalResourceId: `${physicalId}${ADOPTED_SUFFIX}`, Data: dataOf(props) };
    }
    log(`created ${physicalId} with ${files.length} files on ${props.Branch}`);
    return { Status: 'SUCCESS', PhysicalResourceId: createdId(physicalId, result.repositoryId), Data: dataOf(props) };
  } catch (error) {
    const message = redact(error instanceof GitProviderError ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)}`, token);
    log(`failed: ${message}`);
    return { Status: 'FAILED', PhysicalResourceId: failedPhysicalId(event, run), Reason: message };
  }
}

/** The physical id of a failed event: a repository this run created is recorded, so a rollback with 'destroy' removes it. */
function failedPhysicalId(event: CustomResourceEvent, run: Run): string {
  if (event.RequestType === 'Create') return run.created ?? `${NOT_CREATED}:${event.RequestId}`;
  return event.PhysicalResourceId ?? `${NOT_CREATED}:${event.RequestId}`;
}

function createdId(physicalId: string, repositoryId: string | undefined): string {
  return repositoryId && /^\d+$/.test(repositoryId) ? `${physicalId}${CREATED_SUFFIX}${repositoryId}` : physicalId;
}

function sameRepository(target: RepositoryTarget, props: RepositoryProperties): boolean {
  let apiUrl: string;
  try {
    apiUrl = apiUrlOf(props);
  } catch {
    return false;
  }
  return target.provider === props.Provider && target.apiUrl === apiUrl && target.owner === props.Owner && target.name === props.RepositoryName;
}

/** The function's budget: its remaining time less the safety margin kept to respond. */
export function lambdaBudgetMs(context?: { getRemainingTimeInMillis?(): number }): number {
  const remaining = context?.getRemainingTimeInMillis?.() ?? 300_000;
  // A function configured with a very short timeout still keeps some time to respond.
  return remaining > 2 * SAFETY_MARGIN_MS ? remaining - SAFETY_MARGIN_MS : Math.floor(remaining / 2);
}

/** The Lambda entry point: handles the event and sends the outcome to CloudFormation. */
export async function handler(event: CustomResourceEvent, context?: { getRemainingTimeInMillis?(): number }): Promise<void> {
  await handleAndRespond(event, awsDependencies(), lambdaBudgetMs(context));
}

/**
 * Handle the event within `budgetMs` and PUT the outcome to the event's response URL. Retries
 * give up in time to report why; should a step still be running when the budget ends, it is
 * aborted and CloudFormation gets FAILED with what the handler was doing.
 */
export async function handleAndRespond(event: CustomResourceEvent, deps: HandlerDependencies, budgetMs: number): Promise<Outcome> {
  const controller = new AbortController();
  const run = new Run(deps, { deadline: Date.now() + Math.max(budgetMs, 0), signal: controller.signal });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>(resolve => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(run.timedOut(event, budgetMs));
    }, Math.max(budgetMs, 0));
  });
  const outcome = await Promise.race([handle(event, deps, run), timeout]);
  clearTimeout(timer);
  controller.abort();
  await respond(event, outcome, deps);
  return outcome;
}

/** Send the outcome to CloudFormation's pre-signed response URL, retrying network errors and 5xx a few times. */
export async function respond(event: CustomResourceEvent, outcome: Outcome, deps: Pick<HandlerDependencies, 'fetch' | 'log' | 'sleep'>): Promise<void> {
  const body = JSON.stringify({
    Status: outcome.Status,
    // CloudFormation limits the whole response to 4 KB.
    Reason: (outcome.Reason ?? outcome.Status).slice(0, 2000),
    PhysicalResourceId: outcome.PhysicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: outcome.Data ?? {},
  });
  const sleep = deps.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    try {
      const response = await deps.fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' }, signal: AbortSignal.timeout(4_000) });
      if (response.ok) return;
      problem = `CloudFormation refused the response: ${response.status}`;
      if (response.status < 500) {
        deps.log?.(problem);
        return;
      }
    } catch (error) {
      problem = `cannot send the response to CloudFormation (${networkErrorOf(error)})`;
    }
    if (attempt >= 3) {
      deps.log?.(problem);
      return;
    }
    await sleep(500 * attempt);
  }
}

/** One event's time budget, retry settings and what it did so far. */
class Run implements RunBudget {
  public readonly deadline: number;
  public readonly signal?: AbortSignal;
  public readonly retry: Required<RetryOptions>;
  /** Time kept at the end of the budget for the handler's own failure message. */
  public readonly reserve: number;
  /** The last problem that a retry followed, for the message if the budget ends. */
  public lastProblem?: string;
  /** What the handler was doing. */
  public step = 'starting';
  /** The physical id of a repository created in this run, once created. */
  public created?: string;
  private readonly started = Date.now();

  constructor(public readonly deps: HandlerDependencies, budget: RunBudget) {
    this.deadline = budget.deadline;
    this.signal = budget.signal;
    this.retry = {
      baseDelayMs: deps.retry?.baseDelayMs ?? 1_000,
      maxDelayMs: deps.retry?.maxDelayMs ?? 20_000,
      maxAttempts: deps.retry?.maxAttempts ?? 8,
      requestTimeoutMs: deps.retry?.requestTimeoutMs ?? 30_000,
    };
    this.reserve = Math.round(Math.min(2_000, Math.max(0, this.deadline - this.started) / 10));
  }

  /** Time left for requests and waits, the reserve kept. */
  public remaining(): number {
    return this.deadline - this.reserve - Date.now();
  }

  public elapsedSeconds(): string {
    return ((Date.now() - this.started) / 1000).toFixed(1);
  }

  /** The signal of one attempt: its own time limit, within the budget. */
  public requestSignal(): AbortSignal {
    const timeout = AbortSignal.timeout(Math.max(1, Math.floor(Math.min(this.retry.requestTimeoutMs, this.remaining()))));
    return this.signal ? AbortSignal.any([timeout, this.signal]) : timeout;
  }

  /** Throws once the budget has ended. */
  public check(): void {
    if (this.signal?.aborted || this.deadline - Date.now() <= 0) {
      throw new GitProviderError(`stopped: the time budget ended${this.lastProblem ? ` after: ${this.lastProblem}` : ''}`);
    }
  }

  /** Exponential backoff with jitter: half the cap fixed, half random. */
  public backoff(attempt: number): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + (this.deps.random ?? Math.random)() * cap / 2);
  }

  public async sleep(ms: number): Promise<void> {
    this.check();
    if (this.deps.sleep) {
      await this.deps.sleep(ms);
    } else {
      await defaultSleep(ms, this.signal);
    }
    this.check();
  }

  /** The outcome when the budget ends with a step still running. */
  public timedOut(event: CustomResourceEvent, budgetMs: number): Outcome {
    const props = event.ResourceProperties as RepositoryProperties;
    const last = this.lastProblem ? `; last problem: ${this.lastProblem}` : '';
    const created = this.created && event.RequestType === 'Create'
      ? `; repository ${props.Owner}/${props.RepositoryName} was created before the time ran out: the rollback deletes it only with the removal policy DESTROY, otherwise delete it before retrying`
      : '';
    return {
      Status: 'FAILED',
      PhysicalResourceId: failedPhysicalId(event, this),
      Reason: `the git provider did not finish within ${Math.round(budgetMs / 1000)} seconds (the function's time limit less a safety margin) while ${this.step}${last}${created}; check that the provider is reachable from Lambda and retry`,
    };
  }
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>(resolve => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** What went wrong with a request that got no HTTP answer, without the URL's query (the response URL's signature). */
function networkErrorOf(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } } | undefined;
  if (e?.name === 'TimeoutError') return 'no answer in time';
  if (e?.name === 'AbortError') return 'stopped';
  const cause = e?.cause?.code ?? e?.cause?.message;
  return [e?.message ?? String(error), cause].filter(Boolean).join(': ');
}

/** Why an API URL may not carry the token, or undefined when it may. */
function insecureUrlProblem(apiUrl: string, deps: Pick<HandlerDependencies, 'allowHttpToLoopback'>): string | undefined {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return `the API URL '${apiUrl}' is not a URL`;
  }
  if (url.protocol === 'https:') return undefined;
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
  if (url.protocol === 'http:' && loopback && deps.allowHttpToLoopback) return undefined;
  return `the API URL '${apiUrl}' is not https://; the token would travel in clear text`;
}

function physicalIdOf(props: RepositoryProperties): string {
  return `${props.Provider}:${apiUrlOf(props)}:${props.Owner}/${props.RepositoryName}`;
}

function dataOf(props: RepositoryProperties): { [key: string]: string } {
  return { FullRepositoryId: `${props.Owner}/${props.RepositoryName}` };
}

function apiUrlOf(props: RepositoryProperties): string {
  const defaults: { [key: string]: string } = { github: 'https://api.github.com', gitlab: 'https://gitlab.com/api/v4' };
  const url = props.ApiUrl || defaults[props.Provider];
  if (!url) throw new GitProviderError(`no API URL for ${props.Provider}; set apiUrl, e.g. https://github.example.com/api/v3`);
  return url.replace(/\/+$/, '');
}

async function readToken(deps: HandlerDependencies, props: RepositoryProperties): Promise<string> {
  let secret: string;
  try {
    secret = await deps.getSecret(props.TokenSecretArn);
  } catch (error) {
    throw new GitProviderError(`cannot read the token secret ${props.TokenSecretArn} (${(error as Error)?.name ?? 'error'}); check that it exists in this account and region and holds a SecretString`);
  }
  let token = (secret ?? '').trim();
  if (token.startsWith('{')) {
    try {
      const parsed = JSON.parse(token);
      token = String(parsed.token ?? parsed.Token ?? parsed.TOKEN ?? '').trim();
    } catch {
      throw new GitProviderError(`the token secret ${props.TokenSecretArn} looks like JSON but does not parse; store the token alone, or {"token": "<token>"}`);
    }
  }
  if (!token) {
    throw new GitProviderError(`the token secret ${props.TokenSecretArn} is empty; store a personal access token, alone or as {"token": "<token>"}`);
  }
  return token;
}

async function readSeedCode(deps: HandlerDependencies, props: RepositoryProperties): Promise<ZipEntry[]> {
  let archive: Uint8Array;
  try {
    archive = await deps.getObject(props.SeedBucket, props.SeedKey);
  } catch (error) {
    throw new GitProviderError(`cannot read the seed code s3://${props.SeedBucket}/${props.SeedKey} (${(error as Error)?.name ?? 'error'})`);
  }
  let files: ZipEntry[];
  try {
    files = readZip(Buffer.from(archive));
  } catch (error) {
    throw new GitProviderError(`cannot read the seed code s3://${props.SeedBucket}/${props.SeedKey}: ${(error as Error).message}`);
  }
  if (files.length === 0) {
    throw new GitProviderError(`the seed code s3://${props.SeedBucket}/${props.SeedKey} has no files; a repository needs at least one`);
  }
  return files;
}

function redact(text: string, token?: string): string {
  // Real tokens are long; a short test value would garble the message.
  return token && token.length >= 8 ? text.split(token).join('***') : text;
}

interface GitProviderClient {
  /** Create the repository with the seed code (or adopt it, if allowed and it exists). */
  createRepository(files: ZipEntry[], physicalId: string): Promise<CreateResult>;
  /** Delete the repository if it is still the one created (same provider id, when known). */
  deleteCreatedRepository(repositoryId?: string): Promise<void>;
}

function providerFor(props: RepositoryProperties, token: string, run: Run): GitProviderClient {
  switch (props.Provider) {
    case 'github':
    case 'github-enterprise':
      return new GitHubClient(props, token, run);
    case 'gitlab':
      return new GitLabClient(props, token, run);
    default:
      throw new GitProviderError(`git provider '${props.Provider}' cannot create repositories; set createRepository: false and create ${props.Owner}/${props.RepositoryName} yourself`);
  }
}

interface ApiResponse {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
  /** Attempts the answer took: more than 1 when earlier attempts failed (and may have taken effect). */
  readonly attempts: number;
}

/** REST calls with the error handling and retries every provider shares. */
abstract class RestClient {
  protected readonly api: string;
  protected readonly providerName: string;
  protected readonly deps: HandlerDependencies;

  constructor(protected readonly props: RepositoryProperties, protected readonly token: string, protected readonly run: Run) {
    this.deps = run.deps;
    this.api = apiUrlOf(props);
    this.providerName = PROVIDER_NAMES[props.Provider] ?? props.Provider;
    const insecure = insecureUrlProblem(this.api, this.deps);
    if (insecure) throw new GitProviderError(insecure);
  }

  protected abstract authorization(): { [key: string]: string };

  /**
   * Call the API; statuses in `accept` are returned, 401 throws, others throw with `what`.
   * Network errors, 5xx and rate limits are retried with backoff while the budget allows.
   */
  protected async call(method: string, path: string, what: string, body?: unknown, accept: number[] = []): Promise<ApiResponse> {
    this.run.step = `trying to ${what} on ${this.providerName}`;
    const retry = this.run.retry;
    // The provider's last error answer to this call: what to report when a later attempt, cut
    // short by the time budget, gets no answer at all.
    let lastAnswer: string | undefined;
    for (let attempt = 1; ; attempt++) {
      this.run.check();
      let problem: string;
      let until: Date | undefined;
      let response: Response | undefined;
      let text = '';
      try {
        response = await this.deps.fetch(`${this.api}${path}`, {
          method,
          headers: {
            'accept': 'application/json',
            'user-agent': 'cdk-sagemaker-project-templates',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...this.authorization(),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          // A redirect could lead the token elsewhere, or to http://; it is reported instead.
          redirect: 'manual',
          signal: this.run.requestSignal(),
        });
        text = await response.text();
      } catch (error) {
        this.run.check();
        response = undefined;
        const networkError = networkErrorOf(error);
        problem = networkError === 'no answer in time' && lastAnswer
          ? `${lastAnswer}, then no answer in time`
          : `cannot reach ${this.providerName} at ${this.api} (${networkError})`;
      }
      if (response) {
        let parsed: any = undefined;
        try {
          parsed = text ? JSON.parse(text) : undefined;
        } catch {
          parsed = text;
        }
        const result: ApiResponse = { status: response.status, body: parsed, headers: response.headers, attempts: attempt };
        if (response.status >= 200 && response.status < 300) return result;
        const rateLimited = this.rateLimit(result);
        if (!rateLimited && accept.includes(response.status)) return result;
        if (response.status >= 300 && response.status < 400) {
          throw new GitProviderError(`${this.providerName} answered '${what}' with a redirect (${response.status} to ${response.headers.get('location') ?? 'nowhere'}); set apiUrl to the API's own https:// address`);
        }
        if (response.status === 401) {
          throw new GitProviderError(`the token in secret ${this.props.TokenSecretArn} was refused by ${this.providerName} (401): store a valid personal access token with the ${this.scopeName()} scope`);
        }
        if (rateLimited) {
          until = rateLimited.until;
          problem = `rate limited by ${this.providerName}${until ? ` until ${until.toISOString()}` : ''}`;
          const wait = until ? until.getTime() - Date.now() : 0;
          if (until && (wait >= this.run.remaining() || attempt >= retry.maxAttempts)) {
            throw new GitProviderError(`rate limited by ${this.providerName} until ${until.toISOString()}; retry the project creation after that`);
          }
        } else if (response.status >= 500) {
          problem = `${this.providerName} answered ${response.status} (${this.messageOf(result)}) to '${what}'`;
          lastAnswer = problem;
        } else if (response.status === 403) {
          throw new GitProviderError(`the token in secret ${this.props.TokenSecretArn} may not ${what} on ${this.providerName} (403: ${this.messageOf(result)}); give it the ${this.scopeName()} scope and access to ${this.props.Owner}`);
        } else {
          throw new GitProviderError(`${this.providerName} refused to ${what} (${response.status}: ${this.messageOf(result)})`);
        }
      }
      const delay = until ? Math.max(0, until.getTime() - Date.now()) : this.run.backoff(attempt);
      this.run.lastProblem = problem!;
      if (attempt >= retry.maxAttempts || delay >= this.run.remaining()) {
        const why = attempt >= retry.maxAttempts ? `${attempt} attempts` : `${attempt} attempt${attempt > 1 ? 's' : ''} in ${this.run.elapsedSeconds()} s, stopping before the function's time limit`;
        throw new GitProviderError(`${problem!}; gave up after ${why}; check that ${this.api} is reachable from Lambda and the provider is available, then retry the project creation`);
      }
      this.deps.log?.(`${problem!}; retry ${attempt} in ${delay} ms`);
      await this.run.sleep(delay);
    }
  }

  protected abstract scopeName(): string;

  /** The rate limit a response reports, with when it ends if known; undefined when it is no rate limit. */
  private rateLimit(response: ApiResponse): { until?: Date } | undefined {
    if (response.status !== 403 && response.status !== 429) return undefined;
    const h = response.headers;
    const remaining = h.get('x-ratelimit-remaining') ?? h.get('ratelimit-remaining');
    const reset = h.get('x-ratelimit-reset') ?? h.get('ratelimit-reset');
    const retryAfter = h.get('retry-after');
    if (retryAfter && /^\d+$/.test(retryAfter.trim())) return { until: new Date(Date.now() + Number(retryAfter) * 1000) };
    if (retryAfter && !Number.isNaN(Date.parse(retryAfter))) return { until: new Date(Date.parse(retryAfter)) };
    if (reset && /^\d+$/.test(reset) && (remaining === '0' || response.status === 429)) return { until: new Date(Number(reset) * 1000) };
    if (response.status === 429) return {};
    return undefined;
  }

  protected messageOf(response: ApiResponse): string {
    const body = response.body;
    if (typeof body === 'string') return body.slice(0, 300);
    const errors = Array.isArray(body?.errors) ? body.errors.map((e: any) => e?.message ?? e?.code ?? JSON.stringify(e)) : [];
    const parts = [body?.message, body?.error, ...errors]
      .filter(p => p !== undefined && p !== null)
      .map(p => (typeof p === 'string' ? p : JSON.stringify(p)));
    return (parts.join('; ') || 'no message').slice(0, 300);
  }

  protected alreadyExists(): GitProviderError {
    return new GitProviderError(`repository ${this.props.Owner}/${this.props.RepositoryName} already exists on ${this.providerName}; delete or rename it, or set createRepository: false to use it as it is`);
  }

  /** The create request was retried and then found the repository: the earlier attempt may have made it. */
  protected existsAfterRetry(): GitProviderError {
    return new GitProviderError(`repository ${this.props.Owner}/${this.props.RepositoryName} exists on ${this.providerName} after a create request that got no answer was retried: it may be half-made by that request; it is left in place: check it and delete it before retrying`);
  }

  protected ownerNotFound(): GitProviderError {
    return new GitProviderError(`owner ${this.props.Owner} not found on ${this.providerName}, or the token cannot see it`);
  }

  protected get adoptExisting(): boolean {
    return String(this.props.ExistingRepository ?? '').toLowerCase() === 'adopt';
  }

  protected async sleep(ms: number): Promise<void> {
    await this.run.sleep(ms);
  }

  /** After a repository is made, a failure that ends the run removes it (this run made it). */
  protected async removeHalfMade(error: unknown, remove: () => Promise<ApiResponse>): Promise<never> {
    const { Owner: owner, RepositoryName: name } = this.props;
    const stopped = this.run.signal?.aborted;
    const removed = stopped ? false : await remove().then(r => r.status !== 403, () => false);
    if (removed) this.run.created = undefined;
    const detail = error instanceof GitProviderError ? error.message : String((error as Error)?.message ?? error);
    throw new GitProviderError(`${detail}${removed ? '' : ` (the new repository ${owner}/${name} is left in place; delete it before retrying)`}`);
  }
}

/** GitHub and GitHub Enterprise Server (REST API v3). */
class GitHubClient extends RestClient implements GitProviderClient {
  protected authorization() {
    return { 'authorization': `Bearer ${this.token}`, 'x-github-api-version': '2022-11-28' };
  }

  protected scopeName(): string {
    return 'repo';
  }

  private get repoPath(): string {
    return `/repos/${encodeURIComponent(this.props.Owner)}/${encodeURIComponent(this.props.RepositoryName)}`;
  }

  public async createRepository(files: ZipEntry[], physicalId: string): Promise<CreateResult> {
    const { Owner: owner, RepositoryName: name, Branch: branch } = this.props;
    const ownerInfo = await this.call('GET', `/users/${encodeURIComponent(owner)}`, `look up ${owner}`, undefined, [404]);
    if (ownerInfo.status === 404) throw this.ownerNotFound();

    const existing = await this.call('GET', this.repoPath, `look up ${owner}/${name}`, undefined, [301, 302, 307, 308, 404]);
    if (existing.status !== 404) {
      if (this.adoptExisting && existing.status === 200) return { adopted: true, repositoryId: idOf(existing.body) };
      throw this.alreadyExists();
    }

    let createPath: string;
    if (ownerInfo.body?.type === 'Organization') {
      createPath = `/orgs/${encodeURIComponent(owner)}/repos`;
    } else {
      const me = await this.call('GET', '/user', 'read the token\'s user');
      if (String(me.body?.login).toLowerCase() !== owner.toLowerCase()) {
        throw new GitProviderError(`owner ${owner} is a ${this.providerName} user other than the token's (${me.body?.login}); use an organization, or a token of ${owner}`);
      }
      createPath = '/user/repos';
    }
    // auto_init gives the repository a first commit, without which the Git Data API refuses it;
    // the seed commit below replaces that history.
    const created = await this.call('POST', createPath, `create ${owner}/${name}`, {
      name,
      description: this.props.Description,
      private: true,
      auto_init: true,
    }, [404, 422]);
    if (created.status === 404) throw this.ownerNotFound();
    if (created.status === 422) {
      if (/already exists/i.test(this.messageOf(created))) throw created.attempts > 1 ? this.existsAfterRetry() : this.alreadyExists();
      throw new GitProviderError(`${this.providerName} refused to create ${owner}/${name} (422: ${this.messageOf(created)})`);
    }
    const repositoryId = idOf(created.body);
    this.run.created = createdId(physicalId, repositoryId);
    const defaultBranch: string = created.body?.default_branch ?? 'main';

    try {
      await this.pushSeedCommit(files, branch, defaultBranch);
    } catch (error) {
      // Remove the half-made repository so that a retry does not find it in the way.
      await this.removeHalfMade(error, () => this.call('DELETE', this.repoPath, `delete ${owner}/${name}`, undefined, [403, 404]));
    }
    return { adopted: false, repositoryId };
  }

  private async pushSeedCommit(files: ZipEntry[], branch: string, defaultBranch: string): Promise<void> {
    const tree = [];
    for (const file of files) {
      // Right after creation the repository can answer 409 (empty) for a moment.
      const blob = await this.retryWhileEmpty(() => this.call('POST', `${this.repoPath}/git/blobs`, `upload ${file.path}`, {
        content: file.data.toString('base64'),
        encoding: 'base64',
      }, [409]));
      tree.push({ path: file.path, mode: file.executable ? '100755' : '100644', type: 'blob', sha: blob.body.sha });
    }
    // Blobs, trees and commits are content-addressed: a retried request makes the same object.
    const createdTree = await this.call('POST', `${this.repoPath}/git/trees`, 'create the seed code tree', { tree });
    const commit = await this.call('POST', `${this.repoPath}/git/commits`, 'create the seed code commit', {
      message: 'Seed code of the SageMaker project',
      tree: createdTree.body.sha,
      parents: [],
    });
    const sha = commit.body.sha;
    const moveBranch = (name: string) => this.call('PATCH', `${this.repoPath}/git/refs/heads/${encodeRef(name)}`, `move ${name} to the seed code commit`, { sha, force: true });
    if (branch === defaultBranch) {
      await moveBranch(branch);
      return;
    }
    const ref = await this.call('POST', `${this.repoPath}/git/refs`, `create branch ${branch}`, { ref: `refs/heads/${branch}`, sha }, [422]);
    if (ref.status === 422) {
      // A retried request whose first attempt made the branch: make sure it is the seed commit.
      if (ref.attempts === 1) throw new GitProviderError(`${this.providerName} refused to create branch ${branch} (422: ${this.messageOf(ref)})`);
      await moveBranch(branch);
    }
    await this.call('PATCH', this.repoPath, `make ${branch} the default branch`, { default_branch: branch });
    await this.call('DELETE', `${this.repoPath}/git/refs/heads/${encodeRef(defaultBranch)}`, `delete the initial branch ${defaultBranch}`, undefined, [404, 422]);
  }

  private async retryWhileEmpty(call: () => Promise<ApiResponse>): Promise<ApiResponse> {
    for (let attempt = 1; ; attempt++) {
      const response = await call();
      if (response.status !== 409) return response;
      if (attempt >= 5) {
        throw new GitProviderError(`${this.providerName} still reports ${this.props.Owner}/${this.props.RepositoryName} as empty (409: ${this.messageOf(response)}); retry the project creation`);
      }
      await this.sleep(1000 * attempt);
    }
  }

  public async deleteCreatedRepository(repositoryId?: string): Promise<void> {
    const { Owner: owner, RepositoryName: name } = this.props;
    const log = this.deps.log ?? (() => undefined);
    const current = await this.call('GET', this.repoPath, `look up ${owner}/${name}`, undefined, [301, 302, 307, 308, 403, 404]);
    if (current.status === 404) {
      log(`${owner}/${name} is gone already`);
      return;
    }
    if (current.status >= 300 && current.status < 400) {
      log(`leaving ${owner}/${name} in place: it was renamed or moved (${current.status})`);
      return;
    }
    const id = current.status === 200 ? idOf(current.body) : undefined;
    if (repositoryId && id !== repositoryId) {
      log(`leaving ${owner}/${name} in place: it is not the repository this resource created (id ${id ?? 'unknown'}, created ${repositoryId})`);
      return;
    }
    const result = await this.call('DELETE', this.repoPath, `delete ${owner}/${name}`, undefined, [403, 404]);
    if (result.status === 403) {
      throw new GitProviderError(`the token in secret ${this.props.TokenSecretArn} may not delete ${owner}/${name}; give it the delete_repo scope, or delete the repository yourself`);
    }
  }
}

/** GitLab (REST API v4), gitlab.com or self-managed. */
class GitLabClient extends RestClient implements GitProviderClient {
  protected authorization() {
    return { 'private-token': this.token };
  }

  protected scopeName(): string {
    return 'api';
  }

  private get projectPath(): string {
    return `/projects/${encodeURIComponent(`${this.props.Owner}/${this.props.RepositoryName}`)}`;
  }

  public async createRepository(files: ZipEntry[], physicalId: string): Promise<CreateResult> {
    const { Owner: owner, RepositoryName: name, Branch: branch } = this.props;
    const namespace = await this.call('GET', `/namespaces/${encodeURIComponent(owner)}`, `look up ${owner}`, undefined, [404]);
    if (namespace.status === 404) throw this.ownerNotFound();

    const existing = await this.call('GET', this.projectPath, `look up ${owner}/${name}`, undefined, [404]);
    if (existing.status !== 404) {
      if (this.adoptExisting) return { adopted: true, repositoryId: idOf(existing.body) };
      throw this.alreadyExists();
    }

    const created = await this.call('POST', '/projects', `create ${owner}/${name}`, {
      name,
      path: name,
      namespace_id: namespace.body.id,
      description: this.props.Description,
      visibility: 'private',
      initialize_with_readme: false,
      default_branch: branch,
    }, [400]);
    if (created.status === 400) {
      if (/already been taken|already exists/i.test(JSON.stringify(created.body))) throw created.attempts > 1 ? this.existsAfterRetry() : this.alreadyExists();
      throw new GitProviderError(`${this.providerName} refused to create ${owner}/${name} (400: ${JSON.stringify(created.body?.message ?? created.body).slice(0, 300)})`);
    }
    const projectId = created.body.id;
    const repositoryId = idOf(created.body);
    this.run.created = createdId(physicalId, repositoryId);
    try {
      // An empty project takes a first commit that creates the branch (no start_branch).
      const commit = await this.call('POST', `/projects/${projectId}/repository/commits`, 'commit the seed code', {
        branch,
        commit_message: 'Seed code of the SageMaker project',
        actions: files.map(file => ({
          action: 'create',
          file_path: file.path,
          content: file.data.toString('base64'),
          encoding: 'base64',
          execute_filemode: file.executable,
        })),
      }, [400]);
      if (commit.status === 400) {
        // A retried request whose first attempt made the commit finds the files there.
        const made = commit.attempts > 1
          && (await this.call('GET', `/projects/${projectId}/repository/branches/${encodeURIComponent(branch)}`, `look up branch ${branch}`, undefined, [404])).status === 200;
        if (!made) throw new GitProviderError(`${this.providerName} refused to commit the seed code (400: ${this.messageOf(commit)})`);
      }
    } catch (error) {
      await this.removeHalfMade(error, () => this.call('DELETE', `/projects/${projectId}`, `delete ${owner}/${name}`, undefined, [403, 404]));
    }
    return { adopted: false, repositoryId };
  }

  public async deleteCreatedRepository(repositoryId?: string): Promise<void> {
    const { Owner: owner, RepositoryName: name } = this.props;
    const log = this.deps.log ?? (() => undefined);
    const current = await this.call('GET', this.projectPath, `look up ${owner}/${name}`, undefined, [404]);
    if (current.status === 404) {
      log(`${owner}/${name} is gone already`);
      return;
    }
    const id = idOf(current.body);
    if (repositoryId && id !== repositoryId) {
      log(`leaving ${owner}/${name} in place: it is not the project this resource created (id ${id ?? 'unknown'}, created ${repositoryId})`);
      return;
    }
    // By id: the project looked up, whatever happens to the path meanwhile.
    await this.call('DELETE', `/projects/${encodeURIComponent(id ?? `${owner}/${name}`)}`, `delete ${owner}/${name}`, undefined, [404]);
  }
}

/** The provider's numeric id of a repository or project, as a string. */
function idOf(body: any): string | undefined {
  const id = body?.id;
  return (typeof id === 'number' || typeof id === 'string') && /^\d+$/.test(String(id)) ? String(id) : undefined;
}

/** A branch name in a ref URL: each '/'-separated part encoded. */
function encodeRef(branch: string): string {
  return branch.split('/').map(encodeURIComponent).join('/');
}

/** Secrets Manager, S3 and fetch in Lambda: the runtime's AWS SDK v3, loaded when first used. */
function awsDependencies(): HandlerDependencies {
  return {
    async getSecret(secretArn: string): Promise<string> {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const sm = require('@aws-sdk/client-secrets-manager');
      const result = await new sm.SecretsManagerClient({}).send(new sm.GetSecretValueCommand({ SecretId: secretArn }));
      return result.SecretString ?? '';
    },
    async getObject(bucket: string, key: string): Promise<Uint8Array> {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const s3 = require('@aws-sdk/client-s3');
      const result = await new s3.S3Client({}).send(new s3.GetObjectCommand({ Bucket: bucket, Key: key }));
      return result.Body.transformToByteArray();
    },
    fetch: (url, init) => fetch(url, init),
    log: message => console.log(message),
  };
}
