import * as fs from 'fs';
import * as path from 'path';
import { buildExampleApp } from './example/app';
import { tempDir } from './util/temp-dir';

/**
 * Walks every policy of every template the example organisation synthesizes (the portfolio
 * and each built-in product) and fails on the grants a security review rejects.
 */
const outdir = tempDir('example');
buildExampleApp({ outdir, snapshotDirectory: path.join(outdir, 'snapshots') }).synth();
const templates = fs.readdirSync(outdir)
  .filter(f => f.endsWith('.template.json'))
  .map(f => ({ file: f, json: JSON.parse(fs.readFileSync(path.join(outdir, f), 'utf-8')) }));

interface Found { readonly file: string; readonly resource: string; readonly statement: any }

function statements(): Found[] {
  const found: Found[] = [];
  for (const { file, json } of templates) {
    for (const [id, resource] of Object.entries<any>(json.Resources ?? {})) {
      const props = resource.Properties ?? {};
      const docs = [
        props.PolicyDocument, props.KeyPolicy, props.AssumeRolePolicyDocument, props.RepositoryPolicyText,
        props.ModelPackageGroupPolicy, ...(props.Policies ?? []).map((p: any) => p.PolicyDocument),
      ].filter(Boolean);
      for (const doc of docs) for (const statement of [doc.Statement].flat()) found.push({ file, resource: id, statement });
    }
  }
  return found;
}

const all = statements();
const allows = all.filter(f => f.statement.Effect === 'Allow');
const list = (v: any): any[] => (v === undefined ? [] : [v].flat());

test('the walk covers the portfolio and all four product templates', () => {
  expect(templates.length).toBe(5);
  expect(new Set(allows.map(f => f.file)).size).toBe(5);
  expect(allows.length).toBeGreaterThan(50);
});

test('no statement allows every action, or every action of a service', () => {
  const offenders = allows.filter(f => list(f.statement.Action).some(a => typeof a === 'string' && (a === '*' || /^[a-z0-9-]+:\*$/.test(a))));
  // Key policies keep the account root's kms:* (without it a key can become unmanageable).
  const outsideKeyAdmin = offenders.filter(f => !(list(f.statement.Action).join() === 'kms:*' && JSON.stringify(f.statement.Principal).includes(':root')));
  expect(outsideKeyAdmin.map(f => `${f.file} ${f.resource} ${JSON.stringify(f.statement.Action)}`)).toEqual([]);
});

test('no s3:* or iam:PassRole on every resource', () => {
  const offenders = allows.filter(f => list(f.statement.Resource).includes('*')
    && list(f.statement.Action).some(a => a === 'iam:PassRole' || String(a).startsWith('s3:')));
  expect(offenders.map(f => `${f.file} ${f.resource} ${JSON.stringify(f.statement.Action)}`)).toEqual([]);
});

test('identity policies use "*" only for actions that take no resource', () => {
  const noResource = new Set([
    'cloudformation:GetTemplateSummary', 'cloudformation:ValidateTemplate', 'kms:CreateKey',
    'ecr:GetAuthorizationToken', 'sagemaker:ListModelPackages', 'codecommit:ListRepositories', 'logs:DescribeLogGroups',
    // The launch role's hold on SNS subscriptions (of the notification topics): IAM lists no resource type for them.
    'sns:Unsubscribe', 'sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes',
  ]);
  const offenders = allows
    .filter(f => f.statement.Principal === undefined && list(f.statement.Resource).includes('*'))
    .flatMap(f => list(f.statement.Action).filter(a => !noResource.has(a)).map(a => `${f.file} ${f.resource} ${a}`));
  expect(offenders).toEqual([]);
});

test('no broad managed policies', () => {
  for (const { file, json } of templates) {
    for (const [id, resource] of Object.entries<any>(json.Resources ?? {})) {
      const arns = JSON.stringify(resource.Properties?.ManagedPolicyArns ?? []);
      expect({ file, id, broad: /FullAccess|AdministratorAccess|PowerUser/.test(arns) }).toEqual({ file, id, broad: false });
    }
  }
});
