/**
 * The custom resource handler that creates a project's repository on a git provider (GitHub,
 * GitHub Enterprise Server, GitLab) and pushes the seed code as its first commit.
 *
 * It runs on Lambda's Node.js runtime with no dependencies of its own: global `fetch`, `zlib`
 * for the seed code zip, and the AWS SDK v3 that the runtime provides (loaded lazily, so the
 * tests run the same code with fakes and without the SDK).
 *
 * The token is read from Secrets Manager when the function runs; it is never written to the
 * template, the logs, or the messages returned to CloudFormation.
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
}

/** What the handler needs from the outside world; injected so tests use fakes. */
export interface HandlerDependencies {
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
}

/** How the event ends. */
export interface Outcome {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly PhysicalResourceId: string;
  readonly Reason?: string;
  readonly Data?: { [key: string]: string };
}

/** Physical id of a repository this resource did not create (failed create): delete leaves it. */
const NOT_CREATED = 'not-created';

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
export async function handle(event: CustomResourceEvent, deps: HandlerDependencies): Promise<Outcome> {
  const props = event.ResourceProperties as RepositoryProperties;
  const log = deps.log ?? (() => undefined);
  log(`${event.RequestType} ${event.LogicalResourceId}: ${props.Provider} ${props.Owner}/${props.RepositoryName} on ${props.Branch}`);
  let token: string | undefined;
  try {
    if (event.RequestType === 'Delete') {
      const id = event.PhysicalResourceId ?? '';
      if (id.startsWith(NOT_CREATED) || String(props.RemovalPolicy).toLowerCase() !== 'destroy') {
        log(`leaving ${id} in place`);
        return { Status: 'SUCCESS', PhysicalResourceId: id };
      }
      token = await readToken(deps, props);
      await providerFor(props, token, deps).deleteRepository();
      return { Status: 'SUCCESS', PhysicalResourceId: id };
    }
    const physicalId = physicalIdOf(props);
    if (event.RequestType === 'Update' && event.PhysicalResourceId === physicalId) {
      // Same repository: the data scientists' history is theirs, seed code changes do not apply.
      return { Status: 'SUCCESS', PhysicalResourceId: physicalId, Data: dataOf(props) };
    }
    token = await readToken(deps, props);
    const files = await readSeedCode(deps, props);
    await providerFor(props, token, deps).createRepository(files);
    log(`created ${physicalId} with ${files.length} files on ${props.Branch}`);
    return { Status: 'SUCCESS', PhysicalResourceId: physicalId, Data: dataOf(props) };
  } catch (error) {
    const message = redact(error instanceof GitProviderError ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)}`, token);
    log(`failed: ${message}`);
    const physicalId = event.RequestType === 'Create'
      ? `${NOT_CREATED}:${event.RequestId}`
      : (event.PhysicalResourceId ?? `${NOT_CREATED}:${event.RequestId}`);
    return { Status: 'FAILED', PhysicalResourceId: physicalId, Reason: message };
  }
}

/** The Lambda entry point: handles the event and sends the outcome to CloudFormation. */
export async function handler(event: CustomResourceEvent, context?: { getRemainingTimeInMillis?(): number }): Promise<void> {
  const deps = awsDependencies();
  const budget = (context?.getRemainingTimeInMillis?.() ?? 300_000) - 15_000;
  await handleAndRespond(event, deps, budget);
}

/** Handle the event within `budgetMs` and PUT the outcome to the event's response URL. */
export async function handleAndRespond(event: CustomResourceEvent, deps: HandlerDependencies, budgetMs: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>(resolve => {
    timer = setTimeout(() => resolve({
      Status: 'FAILED',
      PhysicalResourceId: event.PhysicalResourceId ?? `${NOT_CREATED}:${event.RequestId}`,
      Reason: `the git provider did not finish within ${Math.round(budgetMs / 1000)} seconds; check that the provider is reachable from Lambda and retry`,
    }), Math.max(budgetMs, 0));
  });
  const outcome = await Promise.race([handle(event, deps), timeout]);
  clearTimeout(timer);
  await respond(event, outcome, deps);
  return outcome;
}

/** Send the outcome to CloudFormation's pre-signed response URL. */
export async function respond(event: CustomResourceEvent, outcome: Outcome, deps: Pick<HandlerDependencies, 'fetch' | 'log'>): Promise<void> {
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
  const response = await deps.fetch(event.ResponseURL, { method: 'PUT', body, headers: { 'content-type': '' } });
  if (!response.ok) {
    deps.log?.(`CloudFormation refused the response: ${response.status}`);
  }
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
  createRepository(files: ZipEntry[]): Promise<void>;
  deleteRepository(): Promise<void>;
}

function providerFor(props: RepositoryProperties, token: string, deps: HandlerDependencies): GitProviderClient {
  switch (props.Provider) {
    case 'github':
    case 'github-enterprise':
      return new GitHubClient(props, token, deps);
    case 'gitlab':
      return new GitLabClient(props, token, deps);
    default:
      throw new GitProviderError(`git provider '${props.Provider}' cannot create repositories; set createRepository: false and create ${props.Owner}/${props.RepositoryName} yourself`);
  }
}

interface ApiResponse {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
}

/** REST calls with the error handling every provider shares. */
abstract class RestClient {
  protected readonly api: string;
  protected readonly providerName: string;

  constructor(protected readonly props: RepositoryProperties, protected readonly token: string, protected readonly deps: HandlerDependencies) {
    this.api = apiUrlOf(props);
    this.providerName = PROVIDER_NAMES[props.Provider] ?? props.Provider;
  }

  protected abstract authorization(): { [key: string]: string };

  /** Call the API; statuses in `accept` are returned, 401 and rate limits throw, others throw with `what`. */
  protected async call(method: string, path: string, what: string, body?: unknown, accept: number[] = []): Promise<ApiResponse> {
    let response: Response;
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
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new GitProviderError(`cannot reach ${this.providerName} at ${this.api} (${(error as Error)?.message ?? error}); check apiUrl and that Lambda can reach it`);
    }
    const text = await response.text();
    let parsed: any = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    const result = { status: response.status, body: parsed, headers: response.headers };
    if (response.status >= 200 && response.status < 300) return result;
    if (response.status === 401) {
      throw new GitProviderError(`the token in secret ${this.props.TokenSecretArn} was refused by ${this.providerName} (401): store a valid personal access token with the ${this.scopeName()} scope`);
    }
    const resetAt = this.rateLimitReset(result);
    if (resetAt) {
      throw new GitProviderError(`rate limited by ${this.providerName} until ${resetAt.toISOString()}; retry the project creation after that`);
    }
    if (accept.includes(response.status)) return result;
    if (response.status === 403) {
      throw new GitProviderError(`the token in secret ${this.props.TokenSecretArn} may not ${what} on ${this.providerName} (403: ${this.messageOf(result)}); give it the ${this.scopeName()} scope and access to ${this.props.Owner}`);
    }
    throw new GitProviderError(`${this.providerName} refused to ${what} (${response.status}: ${this.messageOf(result)})`);
  }

  protected abstract scopeName(): string;

  /** When a rate limit ends, if the response is a rate limit. */
  private rateLimitReset(response: ApiResponse): Date | undefined {
    if (response.status !== 403 && response.status !== 429) return undefined;
    const h = response.headers;
    const remaining = h.get('x-ratelimit-remaining') ?? h.get('ratelimit-remaining');
    const reset = h.get('x-ratelimit-reset') ?? h.get('ratelimit-reset');
    const retryAfter = h.get('retry-after');
    if (retryAfter && /^\d+$/.test(retryAfter)) return new Date(Date.now() + Number(retryAfter) * 1000);
    if (reset && /^\d+$/.test(reset) && (remaining === '0' || response.status === 429)) return new Date(Number(reset) * 1000);
    if (response.status === 429) return new Date(Date.now() + 60_000);
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

  protected ownerNotFound(): GitProviderError {
    return new GitProviderError(`owner ${this.props.Owner} not found on ${this.providerName}, or the token cannot see it`);
  }

  protected async sleep(ms: number): Promise<void> {
    await (this.deps.sleep ?? (t => new Promise<void>(resolve => setTimeout(resolve, t))))(ms);
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

  public async createRepository(files: ZipEntry[]): Promise<void> {
    const { Owner: owner, RepositoryName: name, Branch: branch } = this.props;
    const ownerInfo = await this.call('GET', `/users/${encodeURIComponent(owner)}`, `look up ${owner}`, undefined, [404]);
    if (ownerInfo.status === 404) throw this.ownerNotFound();

    const existing = await this.call('GET', this.repoPath, `look up ${owner}/${name}`, undefined, [404]);
    if (existing.status !== 404) throw this.alreadyExists();

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
      if (/already exists/i.test(this.messageOf(created))) throw this.alreadyExists();
      throw new GitProviderError(`${this.providerName} refused to create ${owner}/${name} (422: ${this.messageOf(created)})`);
    }
    const defaultBranch: string = created.body?.default_branch ?? 'main';

    try {
      await this.pushSeedCommit(files, branch, defaultBranch);
    } catch (error) {
      // Remove the half-made repository so that a retry does not find it in the way.
      const removed = await this.call('DELETE', this.repoPath, `delete ${owner}/${name}`, undefined, [403, 404]).then(r => r.status !== 403, () => false);
      const detail = error instanceof GitProviderError ? error.message : String((error as Error)?.message ?? error);
      throw new GitProviderError(`${detail}${removed ? '' : ` (the new repository ${owner}/${name} is left in place; delete it before retrying)`}`);
    }
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
    const createdTree = await this.call('POST', `${this.repoPath}/git/trees`, 'create the seed code tree', { tree });
    const commit = await this.call('POST', `${this.repoPath}/git/commits`, 'create the seed code commit', {
      message: 'Seed code of the SageMaker project',
      tree: createdTree.body.sha,
      parents: [],
    });
    const sha = commit.body.sha;
    if (branch === defaultBranch) {
      await this.call('PATCH', `${this.repoPath}/git/refs/heads/${encodeRef(branch)}`, `move ${branch} to the seed code commit`, { sha, force: true });
      return;
    }
    await this.call('POST', `${this.repoPath}/git/refs`, `create branch ${branch}`, { ref: `refs/heads/${branch}`, sha });
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

  public async deleteRepository(): Promise<void> {
    const { Owner: owner, RepositoryName: name } = this.props;
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

  public async createRepository(files: ZipEntry[]): Promise<void> {
    const { Owner: owner, RepositoryName: name, Branch: branch } = this.props;
    const namespace = await this.call('GET', `/namespaces/${encodeURIComponent(owner)}`, `look up ${owner}`, undefined, [404]);
    if (namespace.status === 404) throw this.ownerNotFound();

    const existing = await this.call('GET', this.projectPath, `look up ${owner}/${name}`, undefined, [404]);
    if (existing.status !== 404) throw this.alreadyExists();

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
      if (/already been taken|already exists/i.test(JSON.stringify(created.body))) throw this.alreadyExists();
      throw new GitProviderError(`${this.providerName} refused to create ${owner}/${name} (400: ${JSON.stringify(created.body?.message ?? created.body).slice(0, 300)})`);
    }
    const projectId = created.body.id;
    try {
      // An empty project takes a first commit that creates the branch (no start_branch).
      await this.call('POST', `/projects/${projectId}/repository/commits`, 'commit the seed code', {
        branch,
        commit_message: 'Seed code of the SageMaker project',
        actions: files.map(file => ({
          action: 'create',
          file_path: file.path,
          content: file.data.toString('base64'),
          encoding: 'base64',
          execute_filemode: file.executable,
        })),
      });
    } catch (error) {
      const removed = await this.call('DELETE', `/projects/${projectId}`, `delete ${owner}/${name}`, undefined, [403, 404]).then(r => r.status !== 403, () => false);
      const detail = error instanceof GitProviderError ? error.message : String((error as Error)?.message ?? error);
      throw new GitProviderError(`${detail}${removed ? '' : ` (the new repository ${owner}/${name} is left in place; delete it before retrying)`}`);
    }
  }

  public async deleteRepository(): Promise<void> {
    await this.call('DELETE', this.projectPath, `delete ${this.props.Owner}/${this.props.RepositoryName}`, undefined, [404]);
  }
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
