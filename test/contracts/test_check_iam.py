"""The checks of check_iam.py find what they are for: each test gives them a small template pair
with one known defect, and one without."""
import json

import pytest

import check_iam
import iam_reference as iam

ROLE_ARN = "arn:aws:iam::111111111111:role/sagemaker-project-templates/x"


def test_actions_are_looked_up_in_the_reference():
    assert iam.exists("events:ListTargetsByRule")
    assert iam.exists("EVENTS:listtargetsbyrule")
    assert not iam.exists("s3:GetObjet")
    assert not iam.exists("codestar:PassConnection")
    assert "s3:GetObjectVersion" in iam.expand("s3:GetObject*")


def test_a_condition_key_that_an_action_never_carries_grants_nothing():
    boundary = "arn:aws:iam::111111111111:policy/b"
    statement = {"Effect": "Allow", "Action": ["iam:CreateRole", "iam:TagRole"], "Resource": "*",
                 "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}}
    context = {"iam:PermissionsBoundary": boundary}
    assert iam.allows([statement], iam.Request("iam:CreateRole", ROLE_ARN, context))
    assert not iam.allows([statement], iam.Request("iam:TagRole", ROLE_ARN, context))
    assert not iam.allows([statement], iam.Request("iam:CreateRole", ROLE_ARN, {"iam:PermissionsBoundary": "other"}))


def test_deny_wins_and_resources_must_match():
    allow = {"Effect": "Allow", "Action": "iam:*RolePermissionsBoundary", "Resource": "arn:aws:iam::111111111111:role/sagemaker-project-templates/*"}
    deny = {"Effect": "Deny", "Action": "iam:DeleteRolePermissionsBoundary", "Resource": "*"}
    assert iam.allows([allow], iam.Request("iam:DeleteRolePermissionsBoundary", ROLE_ARN))
    assert not iam.allows([allow, deny], iam.Request("iam:DeleteRolePermissionsBoundary", ROLE_ARN))
    assert not iam.allows([allow], iam.Request("iam:PutRolePermissionsBoundary", "arn:aws:iam::111111111111:role/admin"))


def test_an_action_without_resource_needs_star():
    scoped = {"Effect": "Allow", "Action": "codecommit:ListRepositories", "Resource": "arn:aws:codecommit:eu-west-1:111111111111:*"}
    assert not iam.takes_resource("codecommit:ListRepositories")
    assert not iam.allows([scoped], iam.Request("codecommit:ListRepositories"))
    assert iam.allows([dict(scoped, Resource="*")], iam.Request("codecommit:ListRepositories"))


def write_assembly(directory, launch_actions, condition_on_tag=False):
    """A portfolio whose launch role allows `launch_actions` on everything, and one product with an event rule."""
    statement = {"Effect": "Allow", "Action": launch_actions, "Resource": "*"}
    if condition_on_tag:
        statement["Condition"] = {"StringEquals": {"iam:PermissionsBoundary": "arn:aws:iam::111111111111:policy/b"}}
    portfolio = {"Resources": {
        "Portfolio": {"Type": "AWS::ServiceCatalog::Portfolio", "Properties": {"DisplayName": "p", "ProviderName": "p"}},
        "LaunchRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "servicecatalog.amazonaws.com"}}]}}},
        "LaunchPolicy": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "p", "Roles": [{"Ref": "LaunchRole"}], "PolicyDocument": {"Statement": [statement]}}},
        "Constraint": {"Type": "AWS::ServiceCatalog::LaunchRoleConstraint", "Properties": {
            "PortfolioId": {"Ref": "Portfolio"}, "ProductId": "prod-x", "RoleArn": {"Fn::GetAtt": ["LaunchRole", "Arn"]}}},
    }}
    product = {"Parameters": {"SageMakerProjectName": {"Type": "String"}}, "Resources": {
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": {"Fn::Join": ["-", [{"Ref": "SageMakerProjectName"}, "approved"]]},
            "EventPattern": {"source": ["aws.sagemaker"]}}},
    }}
    (directory / "Org.template.json").write_text(json.dumps(portfolio))
    (directory / "OrgTeam.product.template.json").write_text(json.dumps(product))


STACK_ACTIONS = check_iam.STACK_OPERATIONS


def run_launch_role_check(directory):
    problems = []
    check_iam.check_launch_role(str(directory), problems, set())
    return problems


def test_launch_role_coverage_passes_with_every_handler_permission(tmp_path):
    write_assembly(tmp_path, STACK_ACTIONS + [
        "events:PutRule", "events:DescribeRule", "events:PutTargets", "events:TagResource", "events:DeleteRule",
        "events:RemoveTargets", "events:ListTargetsByRule", "events:UntagResource"])
    assert run_launch_role_check(tmp_path) == []


def test_launch_role_coverage_finds_a_missing_delete_permission(tmp_path):
    write_assembly(tmp_path, STACK_ACTIONS + [
        "events:PutRule", "events:DescribeRule", "events:PutTargets", "events:TagResource", "events:DeleteRule",
        "events:RemoveTargets", "events:UntagResource"])
    problems = run_launch_role_check(tmp_path)
    # The request context (the rule's tags) follows the ARN.
    assert [p.split(" with ")[0] for p in problems] == [
        "launch role may not events:ListTargetsByRule (AWS::Events::Rule delete) on arn:aws:events:eu-west-1:111111111111:rule/my-project-approved",
    ]


def test_launch_role_coverage_sees_request_tags_at_create_and_resource_tags_after(tmp_path):
    """Tags given at create are request tags of the creating call only; later calls see resource tags."""
    write_assembly(tmp_path, STACK_ACTIONS)
    org = json.loads((tmp_path / "Org.template.json").read_text())
    actions = ["events:PutRule", "events:DescribeRule", "events:PutTargets", "events:TagResource", "events:DeleteRule",
               "events:RemoveTargets", "events:ListTargetsByRule", "events:UntagResource"]
    tagged = {"Null": {"aws:ResourceTag/sagemaker:project-name": "false"}}
    requested = {"Null": {"aws:RequestTag/sagemaker:project-name": "false"}}
    statements = org["Resources"]["LaunchPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": ["events:PutRule", "events:TagResource"], "Resource": "*", "Condition": requested})
    statements.append({"Effect": "Allow", "Action": actions, "Resource": "*", "Condition": tagged})
    (tmp_path / "Org.template.json").write_text(json.dumps(org))
    assert run_launch_role_check(tmp_path) == []
    # Without the request-tag statement, creating the rule (PutRule with tags) is refused.
    del statements[-2]
    (tmp_path / "Org.template.json").write_text(json.dumps(org))
    assert {p.split(" with ")[0] for p in run_launch_role_check(tmp_path)} == {
        f"launch role may not {a} (AWS::Events::Rule create) on arn:aws:events:eu-west-1:111111111111:rule/my-project-approved"
        for a in ("events:PutRule", "events:TagResource")}


def test_policy_check_finds_typos_and_inapplicable_condition_keys(tmp_path):
    write_assembly(tmp_path, ["events:PutRule", "s3:GetObjet"], condition_on_tag=True)
    problems = []
    check_iam.check_policies(str(tmp_path), problems)
    assert any("action s3:GetObjet is not in the IAM reference" in p for p in problems)
    assert any("condition key iam:PermissionsBoundary does not apply to events:PutRule" in p for p in problems)


def test_excluded_permissions_name_a_property_that_must_stay_unset():
    assert check_iam.excluded_by("AWS::S3::Bucket", "s3:PutBucketCORS", {}) == "CorsConfiguration"
    assert check_iam.excluded_by("AWS::S3::Bucket", "s3:PutBucketCORS", {"CorsConfiguration": {"CorsRules": []}}) is None
    assert check_iam.excluded_by("AWS::ECR::Repository", "kms:RetireGrant", {"EncryptionConfiguration": {"EncryptionType": "AES256"}}) \
        == "EncryptionConfiguration.KmsKey"
    assert check_iam.excluded_by("AWS::IAM::Role", "iam:DeleteRolePermissionsBoundary", {"PermissionsBoundary": "arn"}) == "!PermissionsBoundary"
    assert check_iam.excluded_by("AWS::IAM::Role", "iam:DeleteRolePermissionsBoundary", {}) is None


@pytest.mark.parametrize("resource_type", sorted(check_iam.EXCLUDED))
def test_every_excluded_permission_is_a_handler_permission_of_its_type(resource_type):
    handlers = check_iam.handler_permissions(resource_type)
    listed = {p for permissions in handlers.values() for p in permissions}
    for prop, permissions in check_iam.EXCLUDED[resource_type].items():
        for permission in permissions:
            assert permission in listed, f"{resource_type}.{prop}: {permission} is not a handler permission"


def write_deployment_target(directory, statements):
    """A target account's template with an execution policy of `statements` (marked as a
    DeploymentTargetPolicy by its PassDeploymentRolesToSageMaker statement) and no boundary policy."""
    boundary = "arn:aws:iam::111111111111:policy/b"
    marker = [{"Sid": "PassDeploymentRolesToSageMaker", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111111111111:role/mlops-deployment/*",
               "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}},
              {"Sid": "DeploymentRolePermissions", "Effect": "Allow", "Action": "iam:CreateRole", "Resource": "arn:aws:iam::111111111111:role/mlops-deployment/*",
               "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}}]
    template = {"Resources": {"Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
        "ManagedPolicyName": "mlops-deployment-eu-west-1", "PolicyDocument": {"Statement": marker + statements}}}}}
    (directory / "DeploymentTarget.template.json").write_text(json.dumps(template))


def test_deployment_target_check_finds_a_missing_handler_permission(tmp_path):
    write_deployment_target(tmp_path, [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "sagemaker:UpdateEndpoint", "Resource": "*"},
    ])
    problems = []
    check_iam.check_deployment_target([str(tmp_path)], problems)
    assert "DeploymentTarget.template.json mlops-deployment-eu-west-1: CloudFormation may not sagemaker:UpdateEndpoint (AWS::SageMaker::Endpoint update) on arn:aws:sagemaker:eu-west-1:111111111111:endpoint/my-project-prod" in problems
    assert any("may not iam:PutRolePolicy (AWS::IAM::Role create)" in p for p in problems)


def test_deployment_target_check_covers_the_batch_inference_app(tmp_path):
    write_deployment_target(tmp_path, [
        {"Effect": "Allow", "Action": ["sagemaker:*", "events:*"], "Resource": "*"},
        {"Effect": "Deny", "Action": "events:PutTargets", "Resource": "*"},
    ])
    problems = []
    check_iam.check_deployment_target([str(tmp_path)], problems)
    assert "DeploymentTarget.template.json mlops-deployment-eu-west-1: CloudFormation may not events:PutTargets (AWS::Events::Rule create) on arn:aws:events:eu-west-1:111111111111:rule/my-project-prod-batch" in problems
    assert "DeploymentTarget.template.json mlops-deployment-eu-west-1: CloudFormation may not pass the batch inference app's roles to events.amazonaws.com" in problems
    assert not any("sagemaker:CreatePipeline" in p for p in problems)


def test_deployment_target_check_finds_an_administrator(tmp_path):
    write_deployment_target(tmp_path, [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    problems = []
    check_iam.check_deployment_target([str(tmp_path)], problems)
    assert not any("may not" in p for p in problems)
    assert any("CloudFormation may iam:CreateRole on arn:aws:iam::111111111111:role/admin" in p for p in problems)
    assert any("CloudFormation may iam:PassRole on arn:aws:iam::111111111111:role/mlops-deployment/" in p and "lambda.amazonaws.com" in p for p in problems)
    assert any("CloudFormation may cloudformation:CreateStack" in p for p in problems)


def test_deployment_target_check_finds_a_boundary_without_the_staged_model_data(tmp_path):
    # A boundary named "b" that allows every S3 read but of the CDK bootstrap buckets.
    write_deployment_target(tmp_path, [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    template_path = tmp_path / "DeploymentTarget.template.json"
    template = json.loads(template_path.read_text())
    template["Resources"]["Boundary"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": "b", "PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::cdk-*"},
    ]}}}
    template_path.write_text(json.dumps(template))
    problems = []
    check_iam.check_deployment_target([str(tmp_path)], problems)
    staged = check_iam.STAGED_MODEL_DATA_REQUEST[1]
    assert f"DeploymentTarget.template.json mlops-deployment-eu-west-1: the permissions boundary does not allow the deploy app's role, in a stage of another region, s3:GetObject on {staged}" in problems
    assert f"DeploymentTarget.template.json mlops-deployment-eu-west-1: the permissions boundary does not allow the batch inference app's role, in a stage of another region, s3:GetObject on {staged}" in problems


def test_deployment_target_check_needs_a_policy_to_check(tmp_path):
    problems = []
    check_iam.check_deployment_target([str(tmp_path)], problems)
    assert problems == ["no DeploymentTargetPolicy in the contract apps (test/contracts/apps.ts): its coverage went unchecked"]


@pytest.mark.parametrize("resource_type", sorted(check_iam.DEPLOYMENT_PROPERTY_PERMISSIONS))
def test_every_deployment_property_permission_is_a_handler_permission_of_its_type(resource_type):
    handlers = check_iam._all_handler_permissions(resource_type)
    listed = {p for permissions in handlers.values() for p in permissions}
    for prop, permissions in check_iam.DEPLOYMENT_PROPERTY_PERMISSIONS[resource_type].items():
        for permission in permissions:
            assert permission in listed, f"{resource_type}.{prop}: {permission} is not a handler permission"


def write_s3_template_assembly(directory, launch_statement):
    """A stack with a ProjectTemplateBucket's launch role (marked by its metadata), the custom resource
    that copies the product template from a file asset of the stack, and that product (an event rule)."""
    asset = "0f" * 32 + ".json"
    key = "templates/team-v1.yaml"
    create = {"Fn::Join": ["", ['{"service":"S3","action":"copyObject","parameters":{"Bucket":"', {"Ref": "Bucket"},
                                f'","Key":"{key}","CopySource":"cdk-hnb659fds-assets-111111111111-eu-west-1/{asset}"}}}}']]}
    stack = {"Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "templates-111111111111"}},
        "LaunchRole": {"Type": "AWS::IAM::Role", "Metadata": {check_iam.S3_TEMPLATES_ROLE: {"StackNamePrefix": "SP-", "Templates": [key]}},
                       "Properties": {"AssumeRolePolicyDocument": {"Statement": [
                           {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "cloudformation.amazonaws.com"}}]}}},
        "LaunchPolicy": {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyName": "p", "Roles": [{"Ref": "LaunchRole"}], "PolicyDocument": {"Statement": [launch_statement]}}},
        "Copy": {"Type": "Custom::AWS", "Properties": {"ServiceToken": "arn:aws:lambda:eu-west-1:111111111111:function:f", "Create": create}},
    }}
    assets = {"files": {"0f" * 32: {"source": {"path": "OrgTeam.product.template.json", "packaging": "file"},
                                    "destinations": {"current": {"bucketName": "cdk-hnb659fds-assets-111111111111-eu-west-1", "objectKey": asset}}}}}
    product = {"Parameters": {"SageMakerProjectName": {"Type": "String"}}, "Resources": {
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": {"Fn::Join": ["-", [{"Ref": "SageMakerProjectName"}, "approved"]]}, "EventPattern": {"source": ["aws.sagemaker"]}}},
    }}
    (directory / "Org.template.json").write_text(json.dumps(stack))
    (directory / "Org.assets.json").write_text(json.dumps(assets))
    (directory / "OrgTeam.product.template.json").write_text(json.dumps(product))


def run_s3_template_check(directory):
    problems = []
    checked = check_iam.check_launch_role(str(directory), problems, set(), check_iam.s3_template_launch_roles, check_iam.S3_TEMPLATE_STACK_NAME)
    return checked, problems


def test_s3_template_launch_role_is_found_and_checked_against_the_products_it_copies(tmp_path):
    rules = ["events:PutRule", "events:DescribeRule", "events:PutTargets", "events:TagResource", "events:DeleteRule",
             "events:RemoveTargets", "events:ListTargetsByRule", "events:UntagResource"]
    write_s3_template_assembly(tmp_path, {"Effect": "Allow", "Action": STACK_ACTIONS + rules, "Resource": "*"})
    checked, problems = run_s3_template_check(tmp_path)
    assert problems == [] and checked > len(STACK_ACTIONS)
    # Stacks of S3 templates are SP-...: a role scoped to Service Catalog's SC-... stacks cannot create them.
    write_s3_template_assembly(tmp_path, {"Effect": "Allow", "Action": STACK_ACTIONS + rules,
                                          "Resource": ["arn:aws:cloudformation:eu-west-1:111111111111:stack/SC-*", "arn:aws:events:eu-west-1:111111111111:rule/*"]})
    _, problems = run_s3_template_check(tmp_path)
    assert any("may not cloudformation:CreateStack on arn:aws:cloudformation:eu-west-1:111111111111:stack/SP-" in p for p in problems)
    # The portfolio check does not take it for a portfolio's launch role.
    assert run_launch_role_check(tmp_path) == []
