import { deps, event, gitlab, h, props, useFakeProvider } from './harness';
import { handle } from '../../../src/handlers/git-provider';

/**
 * Deletes only what it created: the physical id records whose the repository is, delete goes by
 * that id and checks that the repository is still the one created, and a half-made repository is
 * removed by the run that made it or recorded so that the rollback can.
 */
useFakeProvider();

function deletes() {
  return h.fake.requests.filter(r => r.method === 'DELETE');
}

describe('delete', () => {
  test('the physical id, not the properties, names the repository deleted', async () => {
    for (const p of [props(), gitlab()]) {
      const created = await handle(event('Create', p), deps());
      const other = h.fake.addRepository('acme', 'other');
      expect((await handle(event('Delete', { ...p, RepositoryName: 'other', RemovalPolicy: 'destroy' }, created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
      expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
      expect(h.fake.repository('acme', 'other')).toBe(other);
      h.fake.removeRepository('acme', 'other');
    }
    // GitLab deletes the project by the id it looked up.
    expect(deletes().map(r => r.path)).toEqual(['/github/repos/acme/churn-build', expect.stringMatching(/^\/gitlab\/projects\/\d+$/)]);
  });

  test('a GitHub repository renamed or moved since (a redirect) is left in place', async () => {
    const id = (await handle(event('Create', props()), deps())).PhysicalResourceId;
    h.fake.faults.push({ match: 'GET /github/repos/acme/churn-build', status: 301, headers: { location: `${h.fake.githubUrl}/repositories/1` } });
    expect(await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), deps())).toEqual({ Status: 'SUCCESS', PhysicalResourceId: id });
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
    expect(deletes()).toEqual([]);
    expect(h.logs).toContain('leaving acme/churn-build in place: it was renamed or moved (301)');
  });

  test('a repository the token can no longer see is left in place when its id is recorded', async () => {
    const created = await handle(event('Create', props()), deps());
    const repositoryId = h.fake.repository('acme', 'churn-build')!.gitlabId;
    h.fake.faults.push({ match: 'GET /github/repos/acme/churn-build', status: 403 });
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), created.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(deletes()).toEqual([]);
    expect(h.logs).toContain(`leaving acme/churn-build in place: it is not the repository this resource created (id unknown, created ${repositoryId})`);
  });

  test('a token that may not delete: FAILED, saying which scope it needs; the physical id stays', async () => {
    await handle(event('Create', props()), deps());
    // An id of version 0.1.0 records no repository id: the repository is deleted by name.
    const legacy = `github:${h.fake.githubUrl}:acme/churn-build`;
    h.fake.faults.push({ match: 'DELETE /github/repos/acme/churn-build', status: 403 });
    expect(await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), legacy), deps())).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: legacy,
      Reason: 'the token in secret arn:aws:secretsmanager:eu-west-1:111111111111:secret:git-token-AbCdEf may not delete acme/churn-build; '
        + 'give it the delete_repo scope, or delete the repository yourself',
    });
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('physical ids that do not say "created" with a numeric id are never deleted, and the token is not read', async () => {
    const created = (await handle(event('Create', props()), deps())).PhysicalResourceId;
    const base = `github:${h.fake.githubUrl}:acme/churn-build`;
    const requests = h.fake.requests.length;
    let secretReads = 0;
    const counting = deps({ getSecret: async () => { secretReads++; return h.secret; } });
    for (const id of [
      `${base};created=12x`,
      `${base};created=`,
      `${base};adopted`,
      `bitbucket:${h.fake.githubUrl}:acme/churn-build;created=1`,
      `github:${h.fake.githubUrl}:churn-build;created=1`,
      'github:ftp://127.0.0.1/github:acme/churn-build;created=1',
      `${base} ;created=1`,
      'not-created:request-1',
    ]) {
      expect(await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), counting)).toEqual({ Status: 'SUCCESS', PhysicalResourceId: id });
    }
    expect(h.fake.requests.length).toBe(requests);
    expect(secretReads).toBe(0);
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
    // The id the create returned is deleted.
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), created), counting)).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});

describe('half-made repositories', () => {
  test('GitLab: a project whose seed commit is refused is removed, and not recorded as created', async () => {
    h.fake.faults.push({ match: '/repository/commits', status: 400, times: 1 });
    const outcome = await handle(event('Create', gitlab()), deps());
    expect(outcome).toEqual({ Status: 'FAILED', PhysicalResourceId: 'not-created:request-1', Reason: 'GitLab refused to commit the seed code (400: injected 400)' });
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
    expect(deletes().length).toBe(1);
  });

  test('a repository that cannot be removed is recorded as created, so that a rollback with destroy removes it', async () => {
    h.fake.faults.push({ match: '/git/commits', status: 422, times: 1 }, { match: 'DELETE /github/repos/acme/churn-build', status: 403, times: 1 });
    const outcome = await handle(event('Create', props({ RemovalPolicy: 'destroy' })), deps());
    const id = `github:${h.fake.githubUrl}:acme/churn-build;created=${h.fake.repository('acme', 'churn-build')!.gitlabId}`;
    expect(outcome).toEqual({
      Status: 'FAILED',
      PhysicalResourceId: id,
      Reason: 'GitHub refused to create the seed code commit (422: injected 422) (the new repository acme/churn-build is left in place; delete it before retrying)',
    });
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), id), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });
});

describe('update', () => {
  test('from the id of a failed create: the repository is created, and recorded as created', async () => {
    const outcome = await handle(event('Update', props(), 'not-created:request-0', props()), deps());
    expect(outcome).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: `github:${h.fake.githubUrl}:acme/churn-build;created=${h.fake.repository('acme', 'churn-build')!.gitlabId}`,
      Data: { FullRepositoryId: 'acme/churn-build' },
    });
  });

  test('away from an adopted repository, even with destroy: allowed, as the adopted repository is never deleted', async () => {
    h.fake.addRepository('acme', 'churn-build');
    const adopted = (await handle(event('Create', props({ ExistingRepository: 'adopt' })), deps())).PhysicalResourceId;
    const moved = await handle(event('Update', props({ RepositoryName: 'churn-2', RemovalPolicy: 'destroy' }), adopted, props()), deps());
    expect(moved.PhysicalResourceId).toMatch(/:acme\/churn-2;created=\d+$/);
    // CloudFormation then deletes the old resource: the adopted repository stays.
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), adopted), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeDefined();
  });

  test('properties that lose their API URL: FAILED, and the physical id stays', async () => {
    const id = `github-enterprise:${h.fake.githubUrl}:acme/churn-build;created=7`;
    const outcome = await handle(event('Update', props({ Provider: 'github-enterprise', ApiUrl: '' }), id, props({ Provider: 'github-enterprise' })), deps());
    expect(outcome).toEqual({ Status: 'FAILED', PhysicalResourceId: id, Reason: 'no API URL for github-enterprise; set apiUrl, e.g. https://github.example.com/api/v3' });
    expect(h.fake.requests).toEqual([]);
  });
});

describe('adopt', () => {
  test('nothing to adopt: the repository is created, and so deleted with destroy', async () => {
    const outcome = await handle(event('Create', props({ ExistingRepository: 'adopt' })), deps());
    expect(outcome.PhysicalResourceId).toMatch(/:acme\/churn-build;created=\d+$/);
    expect(h.fake.historyLength('acme', 'churn-build', 'main')).toBe(1);
    expect((await handle(event('Delete', props({ RemovalPolicy: 'destroy' }), outcome.PhysicalResourceId), deps())).Status).toBe('SUCCESS');
    expect(h.fake.repository('acme', 'churn-build')).toBeUndefined();
  });

  test('a GitHub repository found through a redirect (renamed) is not adopted', async () => {
    h.fake.faults.push({ match: 'GET /github/repos/acme/churn-build', status: 301, headers: { location: `${h.fake.githubUrl}/repositories/1` }, times: 1 });
    const outcome = await handle(event('Create', props({ ExistingRepository: 'adopt' })), deps());
    expect(outcome.Reason).toBe('repository acme/churn-build already exists on GitHub; delete or rename it, or set createRepository: false to use it as it is');
    expect(h.fake.requests.some(r => r.method === 'POST')).toBe(false);
  });
});
