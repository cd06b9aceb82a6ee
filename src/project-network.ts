import { CfnParameter, CfnParameterProps, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { requireParameterUnder, validateSsmParameterName } from './private/input-checks';
import { reserveParameterName } from './private/names';

/**
 * A VPC's subnets and security groups, fixed when the template is synthesized.
 */
export interface ProjectNetworkIds {
  /** The VPC (`vpc-...`). */
  readonly vpcId: string;

  /** Private subnets of the VPC (`subnet-...`), with routes to S3, SageMaker and ECR (VPC endpoints or NAT). */
  readonly subnetIds: string[];

  /** Security groups (`sg-...`) of the jobs and builds. */
  readonly securityGroupIds: string[];
}

/**
 * Names of the CloudFormation parameters a project creator fills in.
 */
export interface ProjectNetworkParameterNames {
  /**
   * Parameter of the VPC (`AWS::EC2::VPC::Id`).
   *
   * @default 'VpcId'
   */
  readonly vpcIdParameterName?: string;

  /**
   * Parameter of the subnets (`List<AWS::EC2::Subnet::Id>`).
   *
   * @default 'SubnetIds'
   */
  readonly subnetIdsParameterName?: string;

  /**
   * Parameter of the security groups (`List<AWS::EC2::SecurityGroup::Id>`).
   *
   * @default 'SecurityGroupIds'
   */
  readonly securityGroupIdsParameterName?: string;
}

/**
 * Names of the SSM parameters the platform team keeps in each account.
 */
export interface ProjectNetworkSsmParameterNames {
  /**
   * String parameter with the VPC id.
   *
   * @default '/mlops/network/vpc_id'
   */
  readonly vpcId?: string;

  /**
   * StringList parameter with the subnet ids.
   *
   * @default '/mlops/network/subnet_ids'
   */
  readonly subnetIds?: string;

  /**
   * StringList parameter with the security group ids.
   *
   * @default '/mlops/network/security_group_ids'
   */
  readonly securityGroupIds?: string;
}

/**
 * The subnets and security groups as a stack sees them: literals or parameter references.
 */
export interface ProjectNetworkConfig {
  /** The VPC. */
  readonly vpcId: string;

  /** The subnets. */
  readonly subnetIds: string[];

  /** The security groups. */
  readonly securityGroupIds: string[];
}

/**
 * Where a project's builds and SageMaker jobs run: private subnets and security groups, fixed,
 * entered when the project is created, or kept by the platform team in SSM parameters of each
 * account (as the original system kept its VPC configuration).
 */
export abstract class ProjectNetwork {
  /** Subnets and security groups fixed when the template is synthesized. */
  public static fromIds(ids: ProjectNetworkIds): ProjectNetwork {
    validateNetworkIds('ProjectNetwork.fromIds', ids);
    return new FixedNetwork(ids);
  }

  /** Subnets and security groups the project creator chooses (CloudFormation parameters of the EC2 types). */
  public static enteredAtCreation(names: ProjectNetworkParameterNames = {}): ProjectNetwork {
    const parameterNames = {
      vpcId: names.vpcIdParameterName ?? 'VpcId',
      subnetIds: names.subnetIdsParameterName ?? 'SubnetIds',
      securityGroupIds: names.securityGroupIdsParameterName ?? 'SecurityGroupIds',
    };
    validateParameterNames('ProjectNetwork.enteredAtCreation', parameterNames);
    return new ParameterNetwork(parameterNames, {
      vpcId: { type: 'AWS::EC2::VPC::Id', description: 'VPC of the project\'s builds and SageMaker jobs' },
      subnetIds: { type: 'List<AWS::EC2::Subnet::Id>', description: 'Private subnets of the project\'s builds and SageMaker jobs' },
      securityGroupIds: { type: 'List<AWS::EC2::SecurityGroup::Id>', description: 'Security groups of the project\'s builds and SageMaker jobs' },
    });
  }

  /**
   * Subnets and security groups read from SSM parameters of the account the project is created
   * in, when its stack is created or updated (parameters of type `AWS::SSM::Parameter::Value<...>`
   * named `NetworkVpcId`, `NetworkSubnetIds` and `NetworkSecurityGroupIds`, whose defaults are the
   * SSM names). The names must lie under `/mlops/`, which the launch roles may read; their first
   * segment becomes a project name the templates refuse, as for the seed code parameters.
   */
  public static fromSsmParameters(names: ProjectNetworkSsmParameterNames = {}): ProjectNetwork {
    const ssmNames = {
      vpcId: names.vpcId ?? '/mlops/network/vpc_id',
      subnetIds: names.subnetIds ?? '/mlops/network/subnet_ids',
      securityGroupIds: names.securityGroupIds ?? '/mlops/network/security_group_ids',
    };
    for (const [property, name] of Object.entries(ssmNames)) {
      validateSsmParameterName('ProjectNetwork.fromSsmParameters', property, name);
      requireParameterUnder('ProjectNetwork.fromSsmParameters', property, name, '/mlops/', 'the launch roles of ProjectPortfolio and ProjectTemplateBucket read SSM parameters under /mlops/ only');
    }
    return new ParameterNetwork({ vpcId: 'NetworkVpcId', subnetIds: 'NetworkSubnetIds', securityGroupIds: 'NetworkSecurityGroupIds' }, {
      vpcId: { type: 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>', default: ssmNames.vpcId, description: 'SSM parameter with the VPC of the project\'s builds and SageMaker jobs' },
      subnetIds: { type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>', default: ssmNames.subnetIds, description: 'SSM parameter with the project\'s private subnets' },
      securityGroupIds: {
        type: 'AWS::SSM::Parameter::Value<List<AWS::EC2::SecurityGroup::Id>>',
        default: ssmNames.securityGroupIds,
        description: 'SSM parameter with the project\'s security groups',
      },
    });
  }

  /**
   * The network as the stack of `scope` sees it; parameters are created once per stack.
   */
  public abstract bind(scope: Construct): ProjectNetworkConfig;
}

class FixedNetwork extends ProjectNetwork {
  constructor(private readonly ids: ProjectNetworkIds) {
    super();
  }

  public bind(): ProjectNetworkConfig {
    return { vpcId: this.ids.vpcId, subnetIds: [...this.ids.subnetIds], securityGroupIds: [...this.ids.securityGroupIds] };
  }
}

interface NetworkParts<T> {
  readonly vpcId: T;
  readonly subnetIds: T;
  readonly securityGroupIds: T;
}

class ParameterNetwork extends ProjectNetwork {
  constructor(private readonly names: NetworkParts<string>, private readonly props: NetworkParts<CfnParameterProps>) {
    super();
  }

  public bind(scope: Construct): ProjectNetworkConfig {
    // The platform's parameters: no project may be named after their segment, nor write them.
    for (const props of [this.props.vpcId, this.props.subnetIds, this.props.securityGroupIds]) {
      if (typeof props.default === 'string') reserveParameterName(scope, props.default);
    }
    return {
      vpcId: networkParameter(scope, this.names.vpcId, this.props.vpcId).valueAsString,
      subnetIds: networkParameter(scope, this.names.subnetIds, this.props.subnetIds).valueAsList,
      securityGroupIds: networkParameter(scope, this.names.securityGroupIds, this.props.securityGroupIds).valueAsList,
    };
  }
}

/** A parameter made for a project network. */
class NetworkParameter extends CfnParameter {}

/** The network parameter of this name in the stack of `scope`, created there once. */
function networkParameter(scope: Construct, name: string, props: CfnParameterProps): CfnParameter {
  const stack = Stack.of(scope);
  const existing = stack.node.findAll()
    .find((c): c is NetworkParameter => c instanceof NetworkParameter && Stack.of(c) === stack && stack.resolve(c.logicalId) === name);
  if (existing) return existing;
  const parameter = new NetworkParameter(scope, `NetworkParameter${name}`, props);
  parameter.overrideLogicalId(name);
  return parameter;
}

const VPC_ID = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SUBNET_ID = /^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/;
const SECURITY_GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;

function validateNetworkIds(owner: string, ids: ProjectNetworkIds): void {
  if (!Token.isUnresolved(ids.vpcId) && !VPC_ID.test(ids.vpcId)) {
    throw new Error(`${owner}: vpcId '${ids.vpcId}' is not a VPC id; use vpc- followed by 8 or 17 hexadecimal digits, such as vpc-0a1b2c3d4e5f60718`);
  }
  const lists: Array<[string, string[], RegExp, string, number]> = [
    ['subnetIds', ids.subnetIds, SUBNET_ID, 'subnet-0a1b2c3d4e5f60718', 16],
    ['securityGroupIds', ids.securityGroupIds, SECURITY_GROUP_ID, 'sg-0a1b2c3d4e5f60718', 5],
  ];
  for (const [property, values, pattern, example, most] of lists) {
    if (values.length === 0) {
      throw new Error(`${owner}: ${property} is empty; give at least one, such as ${example}`);
    }
    if (values.length > most) {
      throw new Error(`${owner}: ${property} has ${values.length} entries; give at most ${most}, as SageMaker jobs take`);
    }
    values.forEach((value, index) => {
      if (!Token.isUnresolved(value) && !pattern.test(value)) {
        throw new Error(`${owner}: ${property}[${index}] '${value}' is not ${property === 'subnetIds' ? 'a subnet' : 'a security group'} id; use ${example.split('-')[0]}- followed by 8 or 17 hexadecimal digits, such as ${example}`);
      }
      if (values.indexOf(value) !== index) {
        throw new Error(`${owner}: ${property}[${index}] '${value}' is listed twice; list each once`);
      }
    });
  }
}

const PARAMETER_NAME = /^[A-Za-z][A-Za-z0-9]{0,254}$/;

function validateParameterNames(owner: string, names: NetworkParts<string>): void {
  const given: Array<[string, string]> = [
    ['vpcIdParameterName', names.vpcId], ['subnetIdsParameterName', names.subnetIds], ['securityGroupIdsParameterName', names.securityGroupIds],
  ];
  given.forEach(([property, name], index) => {
    if (!PARAMETER_NAME.test(name)) {
      throw new Error(`${owner}: ${property} '${name}' is not a CloudFormation parameter name; use 1-255 letters and digits, starting with a letter`);
    }
    const other = given.find(([otherProperty, otherName]) => otherName === name && otherProperty !== property);
    if (other && given.findIndex(([, n]) => n === name) === index) {
      throw new Error(`${owner}: ${property} '${name}' and ${other[0]} name the same parameter; give each part of the network a parameter of its own`);
    }
  });
}
