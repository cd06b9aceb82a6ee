"""A stage stack's side of its network: the subnets and security groups its model (and jobs) run
in, as the template refers to them, and what SageMaker needs of a role in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from aws_cdk import CfnParameter, Stack, aws_iam as iam

from mlops_deploy.networks import StageNetwork

# What SageMaker does with the role of a model or job in a VPC: it creates (and deletes) the network
# interfaces in the stage's subnets, and looks the network up (the Describe actions take no resource).
NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)
DESCRIBE_NETWORK_ACTIONS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
# The template parameters a stage whose network comes from SSM gets; their defaults name the SSM
# parameters, which CloudFormation resolves in the stage's account when it deploys the template.
SUBNETS_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>"
SECURITY_GROUPS_PARAMETER_TYPE = "AWS::SSM::Parameter::Value<List<AWS::EC2::SecurityGroup::Id>>"


@dataclass(frozen=True)
class VpcPlacement:
    """A stage's subnets and security groups as the template refers to them, and their ARNs."""

    network: StageNetwork
    subnets: List[str]  # ids, or the list token of a template parameter
    security_group_ids: List[str]
    subnet_arns: List[str]  # of the given subnets, or all subnets of the stage's account and region
    security_group_arns: List[str]


def vpc_placement(stack: Stack, network: StageNetwork, placed: str) -> VpcPlacement:
    """The stage's subnets and security groups: the ids given, or template parameters of ``stack``
    whose defaults name the SSM parameters of the stage's account that hold them. ``placed`` names
    what runs in them, for the parameters' descriptions (such as "the endpoint's model")."""
    arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
    if network.subnet_ids:
        subnets = list(network.subnet_ids)
        subnet_arns = [f"{arn}:subnet/{subnet}" for subnet in subnets]
    else:
        subnets = CfnParameter(
            stack,
            "SubnetIds",
            type=SUBNETS_PARAMETER_TYPE,
            default=network.subnet_ids_parameter,
            description=f"SSM parameter (StringList) of this account with the subnets of {placed}",
        ).value_as_list
        subnet_arns = [f"{arn}:subnet/*"]
    if network.security_group_ids:
        security_groups = list(network.security_group_ids)
        security_group_arns = [f"{arn}:security-group/{group}" for group in security_groups]
    else:
        security_groups = CfnParameter(
            stack,
            "SecurityGroupIds",
            type=SECURITY_GROUPS_PARAMETER_TYPE,
            default=network.security_group_ids_parameter,
            description=f"SSM parameter (StringList) of this account with the security groups of {placed}",
        ).value_as_list
        security_group_arns = [f"{arn}:security-group/*"]
    return VpcPlacement(
        network=network,
        subnets=subnets,
        security_group_ids=security_groups,
        subnet_arns=subnet_arns,
        security_group_arns=security_group_arns,
    )


def network_statements(stack: Stack, vpc: Optional[VpcPlacement]) -> List[iam.PolicyStatement]:
    """What SageMaker needs of a role whose model or job runs in the stage's subnets (none if not in a VPC)."""
    if not vpc:
        return []
    return [
        iam.PolicyStatement(
            sid="ManageNetworkInterfaces",
            actions=list(NETWORK_INTERFACE_ACTIONS),
            resources=[
                f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:network-interface/*",
                *vpc.subnet_arns,
                *vpc.security_group_arns,
            ],
        ),
        # These actions take no resource.
        iam.PolicyStatement(sid="DescribeNetworks", actions=list(DESCRIBE_NETWORK_ACTIONS), resources=["*"]),
    ]
