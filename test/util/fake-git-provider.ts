/* eslint-disable no-bitwise */ // zip headers and CRC-32 are bit fields
import * as crypto from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as zlib from 'zlib';

/**
 * A fake of the GitHub (REST v3, under /github) and GitLab (REST v4, under /gitlab) APIs, as
 * far as the git provider handler uses them, plus the CloudFormation response URL (/cfn/...).
 * It listens on 127.0.0.1 only, on a free port, limits request bodies and request counts,
 * and keeps everything in memory. Call `close()` after each test.
 */
export interface FakeGitProviderOptions {
  /** The only token the fake accepts. */
  readonly token: string;
  /** The token's own user. */
  readonly tokenUser?: string;
  /** Other users that exist. */
  readonly users?: string[];
  /** Organizations (GitHub) or groups (GitLab) that exist. */
  readonly organizations?: string[];
}

interface Blob { readonly content: Buffer }
interface TreeEntry { readonly path: string; readonly mode: string; readonly sha: string }
interface Commit { readonly tree: string; readonly parents: string[]; readonly message: string }

interface FakeRepository {
  readonly owner: string;
  readonly name: string;
  readonly private: boolean;
  defaultBranch: string;
  readonly branches: Map<string, string>;
  /** The repository id (GitHub) or project id (GitLab). */
  readonly gitlabId: number;
  readonly description?: string;
}

/** A fault the fake injects into the requests it matches, before answering them. */
export interface Fault {
  /** A substring of `<METHOD> <path>`, e.g. `/git/commits` or `POST /github/orgs/`. */
  readonly match: string;
  /** How many matching requests it affects; all when not set. */
  times?: number;
  /** Answer with this status (and `headers`, and a JSON message). */
  readonly status?: number;
  readonly headers?: { [key: string]: string };
  /** Close the connection without an answer: the client sees a network error. */
  readonly reset?: boolean;
  /** Never answer (until `close()`). */
  readonly hang?: boolean;
  /** Do what the request asks, then close the connection instead of answering: the client cannot tell it was done. */
  readonly resetAfter?: boolean;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Whether the request carried the right token (the token itself is not recorded). */
  readonly authorized: boolean;
}

const MAX_BODY = 8 * 1024 * 1024;
const MAX_REQUESTS = 2000;

export class FakeGitProvider {
  public static async start(options: FakeGitProviderOptions): Promise<FakeGitProvider> {
    const fake = new FakeGitProvider(options);
    await new Promise<void>(resolve => fake.server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** Requests received, in order. */
  public readonly requests: RecordedRequest[] = [];
  /** Bodies PUT to the CloudFormation response URL. */
  public readonly cfnResponses: any[] = [];
  /** Every request body as text, to check that the token never leaves the handler in one. */
  public readonly bodies: string[] = [];
  /** When set, every API request answers with this rate limit. */
  public rateLimit?: { status: 403 | 429; resetEpochSeconds?: number; retryAfterSeconds?: number };
  /** GitHub answers 409 (repository empty) to this many blob uploads first. */
  public emptyRepositoryAnswers = 0;
  /** Fail (500) the request whose path includes this, once. */
  public failPathOnce?: string;
  /** Faults injected into matching requests, the first that matches first. */
  public readonly faults: Fault[] = [];

  private readonly server: http.Server;
  private readonly repositories = new Map<string, FakeRepository>();
  /** Answers not to send (`resetAfter` faults). */
  private readonly dropAnswers = new WeakSet<http.ServerResponse>();
  private readonly blobs = new Map<string, Blob>();
  private readonly trees = new Map<string, TreeEntry[]>();
  private readonly commits = new Map<string, Commit>();
  private nextId = 100;

  private constructor(private readonly options: FakeGitProviderOptions) {
    this.server = http.createServer((req, res) => {
      this.receive(req, res).catch(error => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: String(error) }));
      });
    });
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 10_000;
  }

  /** Base URL, e.g. http://127.0.0.1:12345. */
  public get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public get githubUrl(): string {
    return `${this.url}/github`;
  }

  public get gitlabUrl(): string {
    return `${this.url}/gitlab`;
  }

  public async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
  }

  /** Add a repository that exists already, with one commit on `main`. */
  public addRepository(owner: string, name: string): FakeRepository {
    const repo = this.newRepository(owner, name, true, 'main');
    repo.branches.set('main', this.commit([{ path: 'README.md', content: Buffer.from('existing\n'), mode: '100644' }], [], 'Initial commit'));
    return repo;
  }

  /** Remove a repository, as someone deleting it on the provider would. */
  public removeRepository(owner: string, name: string): void {
    this.repositories.delete(`${owner}/${name}`.toLowerCase());
  }

  public repository(owner: string, name: string): FakeRepository | undefined {
    return this.repositories.get(`${owner}/${name}`.toLowerCase());
  }

  /** The files of a branch's head commit, path to content. */
  public filesOn(owner: string, name: string, branch: string): Map<string, { content: string; mode: string }> {
    const head = this.repository(owner, name)?.branches.get(branch);
    if (!head) throw new Error(`no branch ${branch} in ${owner}/${name}`);
    const files = new Map<string, { content: string; mode: string }>();
    for (const entry of this.trees.get(this.commits.get(head)!.tree)!) {
      files.set(entry.path, { content: this.blobs.get(entry.sha)!.content.toString('utf-8'), mode: entry.mode });
    }
    return files;
  }

  /** Number of commits in a branch's history. */
  public historyLength(owner: string, name: string, branch: string): number {
    let sha = this.repository(owner, name)?.branches.get(branch);
    let count = 0;
    while (sha) {
      count++;
      sha = this.commits.get(sha)!.parents[0];
    }
    return count;
  }

  private async receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_BODY) {
        this.send(res, 413, { message: 'request body too large' });
        return;
      }
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString('utf-8');
    this.bodies.push(text);
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const path = url.pathname;

    if (this.requests.length >= MAX_REQUESTS) {
      this.send(res, 503, { message: 'the fake provider took too many requests' });
      return;
    }
    const authorized = req.headers.authorization === `Bearer ${this.options.token}` || req.headers['private-token'] === this.options.token;
    this.requests.push({ method, path, authorized });
    const fault = this.faults.find(f => `${method} ${path}`.includes(f.match) && (f.times === undefined || f.times > 0));
    if (fault) {
      if (fault.times !== undefined) fault.times--;
      if (fault.hang) return;
      if (fault.reset) {
        req.socket.destroy();
        return;
      }
      if (fault.resetAfter) {
        this.dropAnswers.add(res);
      } else {
        this.send(res, fault.status ?? 500, { message: `injected ${fault.status ?? 500}` }, fault.headers);
        return;
      }
    }
    const body = text && req.headers['content-type']?.includes('json') ? JSON.parse(text) : text;

    if (path.startsWith('/cfn/')) {
      this.cfnResponses.push(JSON.parse(text));
      this.send(res, 200, {});
      return;
    }
    if (!authorized) {
      this.send(res, 401, { message: '401 Unauthorized' });
      return;
    }
    if (this.rateLimit) {
      const headers: { [key: string]: string } = { 'x-ratelimit-remaining': '0', 'ratelimit-remaining': '0' };
      if (this.rateLimit.resetEpochSeconds) {
        headers['x-ratelimit-reset'] = String(this.rateLimit.resetEpochSeconds);
        headers['ratelimit-reset'] = String(this.rateLimit.resetEpochSeconds);
      }
      if (this.rateLimit.retryAfterSeconds) headers['retry-after'] = String(this.rateLimit.retryAfterSeconds);
      this.send(res, this.rateLimit.status, { message: 'API rate limit exceeded' }, headers);
      return;
    }
    if (this.failPathOnce && path.includes(this.failPathOnce)) {
      this.failPathOnce = undefined;
      this.send(res, 500, { message: 'internal error' });
      return;
    }
    if (path.startsWith('/github/')) {
      this.github(method, path.slice('/github'.length), body, res);
    } else if (path.startsWith('/gitlab/')) {
      this.gitlab(method, path.slice('/gitlab'.length), body, res);
    } else {
      this.send(res, 404, { message: 'Not Found' });
    }
  }

  private github(method: string, path: string, body: any, res: http.ServerResponse): void {
    const tokenUser = this.options.tokenUser ?? 'me';
    const isUser = (name: string) => [tokenUser, ...(this.options.users ?? [])].some(u => u.toLowerCase() === name.toLowerCase());
    const isOrg = (name: string) => (this.options.organizations ?? []).some(o => o.toLowerCase() === name.toLowerCase());
    const notFound = () => this.send(res, 404, { message: 'Not Found' });
    const match = (pattern: RegExp) => pattern.exec(path)?.slice(1).map(part => (part === undefined ? '' : decodeURIComponent(part)));
    let m: string[] | undefined;

    if (method === 'GET' && (m = match(/^\/users\/([^/]+)$/))) {
      if (isOrg(m[0])) return this.send(res, 200, { login: m[0], type: 'Organization' });
      if (isUser(m[0])) return this.send(res, 200, { login: m[0], type: 'User' });
      return notFound();
    }
    if (method === 'GET' && path === '/user') return this.send(res, 200, { login: tokenUser, type: 'User' });
    if (method === 'POST' && ((m = match(/^\/orgs\/([^/]+)\/repos$/)) || path === '/user/repos')) {
      const owner = m ? m[0] : tokenUser;
      if (m && !isOrg(owner)) return notFound();
      if (this.repository(owner, body.name)) {
        return this.send(res, 422, { message: 'Repository creation failed.', errors: [{ resource: 'Repository', code: 'custom', field: 'name', message: 'name already exists on this account' }] });
      }
      const created = this.newRepository(owner, body.name, body.private, 'main', body.description);
      if (body.auto_init) {
        created.branches.set('main', this.commit([{ path: 'README.md', content: Buffer.from(`# ${body.name}\n`), mode: '100644' }], [], 'Initial commit'));
      }
      return this.send(res, 201, { id: created.gitlabId, full_name: `${owner}/${body.name}`, default_branch: created.defaultBranch, private: created.private });
    }
    m = match(/^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/);
    if (!m) return notFound();
    const repo = this.repository(m[0], m[1]);
    if (!repo) return notFound();
    const rest = m[2];
    const route = `${method} ${rest.startsWith('/git/refs/heads/') ? '/git/refs/heads/*' : rest}`;
    const branch = decodeURIComponent(rest.replace(/^\/git\/refs\/heads\//, ''));

    switch (route) {
      case 'GET ':
        return this.send(res, 200, { id: repo.gitlabId, full_name: `${repo.owner}/${repo.name}`, default_branch: repo.defaultBranch });
      case 'PATCH ':
        if (body.default_branch) {
          if (!repo.branches.has(body.default_branch)) return this.send(res, 422, { message: 'Validation Failed' });
          repo.defaultBranch = body.default_branch;
        }
        return this.send(res, 200, { default_branch: repo.defaultBranch });
      case 'DELETE ':
        this.repositories.delete(`${repo.owner}/${repo.name}`.toLowerCase());
        return this.send(res, 204, undefined);
      case 'POST /git/blobs': {
        if (repo.branches.size === 0 || this.emptyRepositoryAnswers > 0) {
          this.emptyRepositoryAnswers = Math.max(0, this.emptyRepositoryAnswers - 1);
          return this.send(res, 409, { message: 'Git Repository is empty.' });
        }
        const content = Buffer.from(body.content, body.encoding === 'base64' ? 'base64' : 'utf-8');
        const sha = gitSha('blob', content);
        this.blobs.set(sha, { content });
        return this.send(res, 201, { sha });
      }
      case 'POST /git/trees': {
        if (body.base_tree) return this.send(res, 422, { message: 'the fake does not support base_tree' });
        const entries: TreeEntry[] = body.tree.map((e: any) => ({ path: e.path, mode: e.mode, sha: e.sha }));
        if (entries.some(e => !this.blobs.has(e.sha))) return this.send(res, 422, { message: 'tree.sha is not a blob' });
        const sha = gitSha('tree', Buffer.from(JSON.stringify(entries)));
        this.trees.set(sha, entries);
        return this.send(res, 201, { sha });
      }
      case 'POST /git/commits': {
        if (!this.trees.has(body.tree)) return this.send(res, 422, { message: 'tree not found' });
        const sha = gitSha('commit', Buffer.from(JSON.stringify(body) + this.nextId++));
        this.commits.set(sha, { tree: body.tree, parents: body.parents ?? [], message: body.message });
        return this.send(res, 201, { sha });
      }
      case 'POST /git/refs': {
        const name = String(body.ref).replace(/^refs\/heads\//, '');
        if (repo.branches.has(name)) return this.send(res, 422, { message: 'Reference already exists' });
        repo.branches.set(name, body.sha);
        return this.send(res, 201, { ref: body.ref });
      }
      case 'PATCH /git/refs/heads/*': {
        const current = repo.branches.get(branch);
        if (!current) return this.send(res, 422, { message: 'Reference does not exist' });
        if (!body.force && !this.commits.get(body.sha)?.parents.includes(current)) return this.send(res, 422, { message: 'Update is not a fast forward' });
        repo.branches.set(branch, body.sha);
        return this.send(res, 200, { ref: `refs/heads/${branch}` });
      }
      case 'DELETE /git/refs/heads/*':
        if (!repo.branches.delete(branch)) return this.send(res, 422, { message: 'Reference does not exist' });
        return this.send(res, 204, undefined);
      default:
        return notFound();
    }
  }

  private gitlab(method: string, path: string, body: any, res: http.ServerResponse): void {
    const parts = path.split('/').slice(1).map(decodeURIComponent);
    const tokenUser = this.options.tokenUser ?? 'me';
    const namespaces = [tokenUser, ...(this.options.users ?? []), ...(this.options.organizations ?? [])];
    const notFound = () => this.send(res, 404, { message: '404 Not Found' });
    const byIdOrPath = (idOrPath: string) => [...this.repositories.values()]
      .find(r => String(r.gitlabId) === idOrPath || `${r.owner}/${r.name}`.toLowerCase() === idOrPath.toLowerCase());

    if (method === 'GET' && parts[0] === 'namespaces' && parts.length === 2) {
      const index = namespaces.findIndex(n => n.toLowerCase() === parts[1].toLowerCase());
      return index < 0 ? notFound() : this.send(res, 200, { id: index + 1, full_path: namespaces[index] });
    }
    if (method === 'POST' && path === '/projects') {
      const owner = namespaces[Number(body.namespace_id) - 1];
      if (!owner) return this.send(res, 404, { message: '404 Namespace Not Found' });
      if (this.repository(owner, body.path)) {
        return this.send(res, 400, { message: { name: ['has already been taken'], path: ['has already been taken'] } });
      }
      const created = this.newRepository(owner, body.path, body.visibility !== 'public', body.default_branch ?? 'main', body.description);
      return this.send(res, 201, { id: created.gitlabId, path_with_namespace: `${owner}/${body.path}`, default_branch: created.defaultBranch });
    }
    if (parts[0] === 'projects' && parts.length === 2) {
      const repo = byIdOrPath(parts[1]);
      if (!repo) return notFound();
      if (method === 'GET') return this.send(res, 200, { id: repo.gitlabId, path_with_namespace: `${repo.owner}/${repo.name}` });
      if (method === 'DELETE') {
        this.repositories.delete(`${repo.owner}/${repo.name}`.toLowerCase());
        return this.send(res, 202, { message: '202 Accepted' });
      }
    }
    if (method === 'GET' && parts[0] === 'projects' && parts[2] === 'repository' && parts[3] === 'branches' && parts.length === 5) {
      const repo = byIdOrPath(parts[1]);
      const head = repo?.branches.get(parts[4]);
      return head ? this.send(res, 200, { name: parts[4], commit: { id: head } }) : this.send(res, 404, { message: '404 Branch Not Found' });
    }
    if (method === 'POST' && parts[0] === 'projects' && parts[2] === 'repository' && parts[3] === 'commits') {
      const repo = byIdOrPath(parts[1]);
      if (!repo) return notFound();
      const parent = repo.branches.get(body.branch) ?? (body.start_branch ? repo.branches.get(body.start_branch) : undefined);
      if (body.start_branch && !parent) return this.send(res, 400, { message: 'You can only create or edit files when you are on a branch' });
      if (!parent && repo.branches.size > 0) return this.send(res, 400, { message: 'You can only create or edit files when you are on a branch' });
      const entries = new Map<string, TreeEntry>();
      if (parent) for (const e of this.trees.get(this.commits.get(parent)!.tree)!) entries.set(e.path, e);
      for (const action of body.actions) {
        if (action.action !== 'create') return this.send(res, 400, { message: `the fake supports only create, not ${action.action}` });
        if (entries.has(action.file_path)) return this.send(res, 400, { message: 'A file with this name already exists' });
        const content = Buffer.from(action.content, action.encoding === 'base64' ? 'base64' : 'utf-8');
        const sha = gitSha('blob', content);
        this.blobs.set(sha, { content });
        entries.set(action.file_path, { path: action.file_path, mode: action.execute_filemode ? '100755' : '100644', sha });
      }
      const files = [...entries.values()].map(e => ({ path: e.path, content: this.blobs.get(e.sha)!.content, mode: e.mode }));
      const sha = this.commit(files, parent ? [parent] : [], body.commit_message);
      repo.branches.set(body.branch, sha);
      return this.send(res, 201, { id: sha });
    }
    return notFound();
  }

  private newRepository(owner: string, name: string, isPrivate: boolean, defaultBranch: string, description?: string): FakeRepository {
    const repo: FakeRepository = { owner, name, private: isPrivate, defaultBranch, branches: new Map(), gitlabId: this.nextId++, description };
    this.repositories.set(`${owner}/${name}`.toLowerCase(), repo);
    return repo;
  }

  private commit(files: { path: string; content: Buffer; mode: string }[], parents: string[], message: string): string {
    const entries = files.map(f => {
      const sha = gitSha('blob', f.content);
      this.blobs.set(sha, { content: f.content });
      return { path: f.path, mode: f.mode, sha };
    });
    const tree = gitSha('tree', Buffer.from(JSON.stringify(entries)));
    this.trees.set(tree, entries);
    const sha = gitSha('commit', Buffer.from(tree + parents.join() + message + this.nextId++));
    this.commits.set(sha, { tree, parents, message });
    return sha;
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: { [key: string]: string } = {}): void {
    if (this.dropAnswers.has(res)) {
      res.socket?.destroy();
      return;
    }
    res.writeHead(status, { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  }
}

function gitSha(type: string, content: Buffer): string {
  return crypto.createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/** A file for `writeZip`. */
export interface ZipFile {
  readonly path: string;
  readonly content: string | Buffer;
  readonly executable?: boolean;
  /** Store instead of deflate. */
  readonly stored?: boolean;
}

/** A small zip writer (unix "made by", deflated or stored entries, directory entries for folders). */
export function writeZip(files: ZipFile[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const entries: { path: string; data: Buffer; mode: number; stored: boolean }[] = [];
  const dirs = new Set<string>();
  for (const file of files) {
    const segments = file.path.split('/');
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/') + '/');
  }
  for (const dir of [...dirs].sort()) entries.push({ path: dir, data: Buffer.alloc(0), mode: 0o40755, stored: true });
  for (const file of files) {
    entries.push({ path: file.path, data: Buffer.from(file.content), mode: file.executable ? 0o100755 : 0o100644, stored: !!file.stored });
  }
  for (const entry of entries) {
    const name = Buffer.from(entry.path, 'utf-8');
    const compressed = entry.stored ? entry.data : zlib.deflateRawSync(entry.data);
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(entry.stored ? 0 : 8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, compressed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(entry.stored ? 0 : 8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((entry.mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + compressed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
