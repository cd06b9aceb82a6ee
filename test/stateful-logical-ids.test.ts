import * as fs from 'fs';
import * as path from 'path';
import { buildExampleApp } from './example/app';
import { tempDir } from './util/temp-dir';

/**
 * The golden list of the logical ids of every stateful resource in each built-in template.
 *
 * A new logical id makes CloudFormation replace the resource when a project is updated to a new
 * product version: a new bucket, key, registry or repository, and the old one orphaned. If this
 * test fails, the change would do that to every project. Updating this list is a deliberate,
 * breaking change: record it in the changelog and release it as a major version.
 */
const SHARED = [
  'AccessLogsBucket83982689',
  'ArtifactBucket7410C9EF',
  'BuildPipelineRepositoryF856F8B0',
  'DeployPipelineDevAccountIdParameter106F9389',
  'DeployPipelineDevRegionParameterD9B61DFA',
  'DeployPipelinePreProdAccountIdParameterC9C70569',
  'DeployPipelinePreProdRegionParameterAB08B3AF',
  'DeployPipelineProdAccountIdParameter0703B87B',
  'DeployPipelineProdRegionParameter831CABF8',
  'DeployPipelineRepositoryB757A34F',
  'ModelPackageGroup',
  'PipelineArtifactBucketD127CCF6',
  'ProjectKeyFDD03260',
];

const GOLDEN: Record<string, string[]> = {
  Basic: SHARED,
  DynamicAccounts: SHARED,
  BatchInference: SHARED,
  Byoc: [...SHARED, 'ContainerRepositoryCA0EC5A0'].sort(),
};

const STATEFUL_TYPES = [
  'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::SageMaker::ModelPackageGroup',
  'AWS::CodeCommit::Repository', 'AWS::ECR::Repository', 'AWS::SSM::Parameter',
];

const outdir = tempDir('golden');
buildExampleApp({ outdir, snapshotDirectory: path.join(outdir, 'snapshots') }).synth();

test.each(Object.entries(GOLDEN))('the %s template keeps the logical ids of its stateful resources', (name, golden) => {
  const file = fs.readdirSync(outdir).find(f => f.startsWith(`SageMakerProjectTemplatesPortfolio${name}`) && f.endsWith('.product.template.json'));
  expect(file).toBeDefined();
  const resources = JSON.parse(fs.readFileSync(path.join(outdir, file!), 'utf-8')).Resources;
  const stateful = Object.keys(resources).filter(id => STATEFUL_TYPES.includes(resources[id].Type)).sort();
  expect(stateful).toEqual([...golden].sort());
});
