import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MLOpsProjectTemplate, ProjectNetwork, ProjectPortfolio, ProjectTemplateBucket } from '../src';
import { iamStatements, productTemplate } from './util/pipeline-fixtures';
import { tempDir, testApp } from './util/temp-dir';

const ENV = { account: '111111111111', region: 'eu-west-1' };

function templateWith(network: ProjectNetwork, extra: object = {}): Template {
  const stack = new Stack(testApp(), 'Portfolio', { env: ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const template = new MLOpsProjectTemplate(portfolio, 'Private', { network, bringYourOwnContainer: true, ...extra });
  portfolio.addTemplate(template, { snapshotDirectory: tempDir('snap') });
  return productTemplate(template);
}

const FIXED = ProjectNetwork.fromIds({
  vpcId: 'vpc-0a1b2c3d4e5f60718',
  subnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'],
  securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
});

describe('ProjectNetwork.fromIds', () => {
  const template = templateWith(FIXED, { deployPipelineOptions: { testEachStage: true } });
  const projects = Object.values<any>(template.findResources('AWS::CodeBuild::Project'));

  test('every CodeBuild project of both pipelines runs in the subnets with the security groups', () => {
    expect(projects.length).toBeGreaterThanOrEqual(5);
    for (const project of projects) {
      expect({ project: project.Properties.Description, vpc: project.Properties.VpcConfig }).toEqual({
        project: project.Properties.Description,
        vpc: { VpcId: 'vpc-0a1b2c3d4e5f60718', Subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-1a1b2c3d4e5f60718'], SecurityGroupIds: ['sg-0a1b2c3d4e5f60718'] },
      });
    }
  });

  test('the SageMaker pipeline build gets SUBNET_IDS and SECURITY_GROUP_IDS for its jobs', () => {
    const build = projects.find(p => /SageMaker pipeline/.test(p.Properties.Description)).Properties.Environment.EnvironmentVariables;
    expect(build).toContainEqual({ Name: 'SUBNET_IDS', Type: 'PLAINTEXT', Value: 'subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718' });
    expect(build).toContainEqual({ Name: 'SECURITY_GROUP_IDS', Type: 'PLAINTEXT', Value: 'sg-0a1b2c3d4e5f60718' });
  });

  test('network interfaces only in those subnets, their permissions only for CodeBuild or SageMaker', () => {
    const statements = iamStatements(template);
    const permissions = statements.filter(s => s.Action === 'ec2:CreateNetworkInterfacePermission');
    const services = new Set(permissions.map(s => (s.Condition as any).StringEquals?.['ec2:AuthorizedService']));
    // CodeBuild says it asks; SageMaker's permissions are bounded by the subnets alone.
    expect([...services]).toEqual(expect.arrayContaining(['codebuild.amazonaws.com', undefined]));
    expect(services.size).toBe(2);
    for (const statement of permissions) {
      expect(JSON.stringify((statement.Condition as any).ArnEquals['ec2:Subnet'])).toContain('subnet/subnet-1a1b2c3d4e5f60718');
    }
    for (const statement of statements.filter(s => s.Action === 'ec2:CreateNetworkInterface')) {
      const resources = JSON.stringify(statement.Resource);
      expect(resources).toContain('subnet/subnet-0a1b2c3d4e5f60718');
      expect(resources).toContain('security-group/sg-0a1b2c3d4e5f60718');
      expect(resources).not.toContain('subnet/*');
    }
  });
});

describe('ProjectNetwork from parameters', () => {
  test('fromSsmParameters reserves the platform\'s segment: no project may be named "network", nor its launch role write those parameters', () => {
    const template = templateWith(ProjectNetwork.fromSsmParameters());
    expect(template.toJSON().Parameters.SageMakerProjectName.AllowedPattern).toContain('network');
  });

  test('enteredAtCreation: EC2-typed parameters the creator picks from', () => {
    const parameters = templateWith(ProjectNetwork.enteredAtCreation()).toJSON().Parameters;
    expect(parameters.VpcId.Type).toBe('AWS::EC2::VPC::Id');
    expect(parameters.SubnetIds.Type).toBe('List<AWS::EC2::Subnet::Id>');
    expect(parameters.SecurityGroupIds.Type).toBe('List<AWS::EC2::SecurityGroup::Id>');
  });

  test('fromSsmParameters: read in the account the project is created in, from the platform team\'s parameters', () => {
    const template = templateWith(ProjectNetwork.fromSsmParameters({ subnetIds: '/mlops/network/private_subnets' }));
    const parameters = template.toJSON().Parameters;
    expect(parameters.NetworkVpcId).toMatchObject({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>', Default: '/mlops/network/vpc_id' });
    expect(parameters.NetworkSubnetIds).toMatchObject({ Type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>', Default: '/mlops/network/private_subnets' });
    expect(parameters.NetworkSecurityGroupIds.Default).toBe('/mlops/network/security_group_ids');
    const project = Object.values<any>(template.findResources('AWS::CodeBuild::Project'))[0];
    expect(project.Properties.VpcConfig).toEqual({ VpcId: { Ref: 'NetworkVpcId' }, Subnets: { Ref: 'NetworkSubnetIds' }, SecurityGroupIds: { Ref: 'NetworkSecurityGroupIds' } });
  });
});

test('without a network nothing runs in a VPC', () => {
  const stack = new Stack(testApp(), 'Portfolio', { env: ENV });
  const portfolio = new ProjectPortfolio(stack, 'Portfolio');
  const template = new MLOpsProjectTemplate(portfolio, 'Public');
  portfolio.addTemplate(template, { snapshotDirectory: tempDir('snap') });
  const synthesized = productTemplate(template);
  for (const project of Object.values<any>(synthesized.findResources('AWS::CodeBuild::Project'))) expect(project.Properties.VpcConfig).toBeUndefined();
  expect(JSON.stringify(synthesized.toJSON())).not.toContain('SUBNET_IDS');
});

test('bad ids are refused, naming the property, the value and the form', () => {
  const ids = { vpcId: 'vpc-0a1b2c3d', subnetIds: ['subnet-0a1b2c3d'], securityGroupIds: ['sg-0a1b2c3d'] };
  expect(() => ProjectNetwork.fromIds({ ...ids, vpcId: 'vpc-xyz' }))
    .toThrow("ProjectNetwork.fromIds: vpcId 'vpc-xyz' is not a VPC id; use vpc- followed by 8 or 17 hexadecimal digits, such as vpc-0a1b2c3d4e5f60718");
  expect(() => ProjectNetwork.fromIds({ ...ids, subnetIds: ['subnet-0a1b2c3d', 'sg-0a1b2c3d'] }))
    .toThrow("ProjectNetwork.fromIds: subnetIds[1] 'sg-0a1b2c3d' is not a subnet id; use subnet- followed by 8 or 17 hexadecimal digits");
  expect(() => ProjectNetwork.fromIds({ ...ids, securityGroupIds: [] }))
    .toThrow('ProjectNetwork.fromIds: securityGroupIds is empty; give at least one, such as sg-0a1b2c3d4e5f60718');
  expect(() => ProjectNetwork.fromIds({ ...ids, subnetIds: ['subnet-0a1b2c3d', 'subnet-0a1b2c3d'] }))
    .toThrow("subnetIds[1] 'subnet-0a1b2c3d' is listed twice");
  expect(() => ProjectNetwork.enteredAtCreation({ subnetIdsParameterName: 'Subnet Ids' }))
    .toThrow("ProjectNetwork.enteredAtCreation: subnetIdsParameterName 'Subnet Ids' is not a CloudFormation parameter name");
  expect(() => ProjectNetwork.fromSsmParameters({ subnetIds: '/platform/private_subnets' }))
    .toThrow("ProjectNetwork.fromSsmParameters: subnetIds '/platform/private_subnets' is not under /mlops/: the launch roles of ProjectPortfolio and ProjectTemplateBucket read SSM parameters under /mlops/ only; use a name such as '/mlops/network/subnet_ids'");
  expect(() => ProjectNetwork.fromSsmParameters({ vpcId: '/mlops/network/vpc id' })).toThrow(/ProjectNetwork\.fromSsmParameters: vpcId '\/mlops\/network\/vpc id'/);
});

test('a template in the platform\'s SSM network also publishes as an S3 template: the launch role stays within IAM\'s quotas', () => {
  const stack = new Stack(testApp(), 'Templates', { env: ENV });
  const bucket = new ProjectTemplateBucket(stack, 'Templates');
  bucket.addTemplate(new MLOpsProjectTemplate(bucket, 'Private', { network: ProjectNetwork.fromSsmParameters(), bringYourOwnContainer: true }));
  const deny = iamStatements(Template.fromStack(stack)).find(s => s.Effect === 'Deny' && JSON.stringify(s.Resource).includes('parameter/mlops/code'));
  expect(JSON.stringify(deny!.Resource)).toContain('parameter/mlops/network/*');
});
