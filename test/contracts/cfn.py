"""Evaluates CloudFormation templates the way a launch would: parameters, conditions, intrinsic
functions and the physical names and ARNs of resources, with fixed sample values.

Only what the library's templates use is supported; anything else raises, so that a template
the checks cannot read fails the checks instead of passing unread.
"""
import json
import re

ACCOUNT = "111111111111"
REGION = "eu-west-1"
PARTITION = "aws"

# What SageMaker and a project creator would enter: two different deployment accounts.
SAMPLE_PARAMETERS = {
    "SageMakerProjectName": "my-project",
    "SageMakerProjectId": "p-abc123def456",
    "PreProdAccount": "222222222222",
    "ProdAccount": "333333333333",
    "DeploymentRegion": REGION,
    "GitConnectionArn": f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789",
    "GitOwner": "acme",
    "VpcId": "vpc-0a1b2c3d4e5f60718",
    "SubnetIds": ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"],
    "SecurityGroupIds": ["sg-0a1b2c3d4e5f60718"],
}

# Service Catalog names the stacks it provisions SC-<account>-pp-<id>.
PRODUCT_STACK_NAME = f"SC-{ACCOUNT}-pp-abcdefghijklm"

# SageMaker names the stacks of projects created from S3 templates SP-...; the rest is a sample.
S3_TEMPLATE_STACK_NAME = "SP-my-project-p-abc123def456"


class Unsupported(Exception):
    pass


def arn(service, resource, region=REGION, account=ACCOUNT):
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


class Template:
    """One template with sample values for its parameters."""

    def __init__(self, path, stack_name, parameters=None):
        self.path = path
        with open(path) as f:
            self.body = json.load(f)
        self.stack_name = stack_name
        self.resources = self.body.get("Resources", {})
        self.parameters = {}
        for name, spec in self.body.get("Parameters", {}).items():
            if parameters and name in parameters:
                self.parameters[name] = parameters[name]
            elif name in SAMPLE_PARAMETERS:
                self.parameters[name] = SAMPLE_PARAMETERS[name]
            elif "Default" in spec:
                self.parameters[name] = spec["Default"]
            else:
                raise Unsupported(f"{path}: parameter {name} has no sample value")
        self._conditions = {}

    # --- values -------------------------------------------------------------------------------

    def condition(self, name):
        if name not in self._conditions:
            self._conditions[name] = bool(self.value(self.body["Conditions"][name]))
        return self._conditions[name]

    def is_created(self, logical_id):
        cond = self.resources[logical_id].get("Condition")
        return cond is None or self.condition(cond)

    def value(self, node):
        """The value of a template expression; AWS::NoValue becomes None (dropped from lists)."""
        if isinstance(node, list):
            return [v for v in (self.value(n) for n in node) if v is not None]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref", "Condition")):
            return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not None}
        (fn, arg), = node.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.get_att(logical_id, attribute)
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(str(p) for p in self.value(parts))
        if fn == "Fn::Select":
            index, items = arg
            return self.value(items)[int(self.value(index))]
        if fn == "Fn::Split":
            sep, text = arg
            return str(self.value(text)).split(sep)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.value(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(variables[m.group(1)] if m.group(1) in variables else self.sub_ref(m.group(1))), text)
        if fn == "Fn::If":
            cond, yes, no = arg
            return self.value(yes if self.condition(cond) else no)
        if fn == "Fn::Equals":
            a, b = self.value(arg)
            return a == b
        if fn == "Fn::Not":
            return not self.value(arg[0])
        if fn == "Fn::And":
            return all(self.value(a) for a in arg)
        if fn == "Fn::Or":
            return any(self.value(a) for a in arg)
        if fn == "Condition":
            return self.condition(arg)
        if fn == "Fn::GetAZs":
            return [f"{REGION}a", f"{REGION}b"]
        raise Unsupported(f"{self.path}: {fn} is not evaluated")

    def sub_ref(self, name):
        if "." in name:
            return self.get_att(*name.split(".", 1))
        return self.ref(name)

    def ref(self, name):
        pseudo = {
            "AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack_name,
            "AWS::StackId": arn("cloudformation", f"stack/{self.stack_name}/0f1e2d3c"),
        }
        if name == "AWS::NoValue":
            return None
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.physical_id(name)
        raise Unsupported(f"{self.path}: Ref {name}")

    # --- resources ------------------------------------------------------------------------------

    def props(self, logical_id):
        return self.value(self.resources[logical_id].get("Properties", {}))

    def generated_name(self, logical_id, limit=64):
        """CloudFormation's name for a resource without one: <stack>-<logical id>-<suffix>."""
        return f"{self.stack_name}-{logical_id}"[: limit - 13] + "-A1B2C3D4E5F6"

    def physical_id(self, logical_id):
        resource = self.resources[logical_id]
        t = resource["Type"]
        p = lambda key, default=None: self.value(resource.get("Properties", {}).get(key, default))
        if t == "AWS::S3::Bucket":
            return p("BucketName") or self.generated_name(logical_id, 63).lower()
        if t == "AWS::IAM::Role":
            return p("RoleName") or self.generated_name(logical_id)
        if t == "AWS::KMS::Key":
            return "0a1b2c3d-1111-2222-3333-444455556666"
        if t == "AWS::CodeCommit::Repository":
            return p("RepositoryName")
        if t == "AWS::CodeBuild::Project":
            return p("Name") or self.generated_name(logical_id, 150)
        if t == "AWS::CodePipeline::Pipeline":
            return p("Name") or self.generated_name(logical_id, 100)
        if t == "AWS::Events::Rule":
            return p("Name") or self.generated_name(logical_id)
        if t == "AWS::SSM::Parameter":
            return p("Name") or self.generated_name(logical_id)
        if t == "AWS::SageMaker::ModelPackageGroup":
            return p("ModelPackageGroupName")
        if t == "AWS::ECR::Repository":
            return p("RepositoryName") or self.generated_name(logical_id).lower()
        if t == "AWS::Lambda::Function":
            return p("FunctionName") or self.generated_name(logical_id)
        if t == "AWS::Logs::LogGroup":
            return p("LogGroupName") or self.generated_name(logical_id, 512)
        if t == "AWS::ServiceCatalog::Portfolio":
            return "port-abcdefghijklm"
        if t == "AWS::ServiceCatalog::CloudFormationProduct":
            return f"prod-{logical_id[:13].lower()}"
        return f"{logical_id}-physical-id"

    def get_att(self, logical_id, attribute):
        t = self.resources[logical_id]["Type"]
        if attribute == "Arn":
            return self.arn_of(logical_id) or f"arn:{PARTITION}:unknown:::{logical_id}"
        if t == "AWS::S3::Bucket" and attribute == "DomainName":
            return f"{self.physical_id(logical_id)}.s3.amazonaws.com"
        if t == "AWS::S3::Bucket" and attribute == "RegionalDomainName":
            return f"{self.physical_id(logical_id)}.s3.{REGION}.amazonaws.com"
        if t == "AWS::KMS::Key" and attribute == "KeyId":
            return self.physical_id(logical_id)
        if t == "AWS::IAM::Role" and attribute == "RoleId":
            return f"AROA{logical_id[:16].upper()}"
        return f"{logical_id}.{attribute}"

    def arn_of(self, logical_id):
        """The ARN IAM sees for a resource, or None for types without one."""
        resource = self.resources[logical_id]
        t = resource["Type"]
        name = self.physical_id(logical_id)
        props = resource.get("Properties", {})
        if t == "AWS::S3::Bucket":
            return f"arn:{PARTITION}:s3:::{name}"
        if t == "AWS::IAM::Role":
            path = self.value(props.get("Path", "/"))
            return f"arn:{PARTITION}:iam::{ACCOUNT}:role{path}{name}"
        if t == "AWS::KMS::Key":
            return arn("kms", f"key/{name}")
        if t == "AWS::KMS::Alias":
            return arn("kms", self.value(props["AliasName"]))
        if t == "AWS::CodeCommit::Repository":
            return arn("codecommit", name)
        if t == "AWS::CodeBuild::Project":
            return arn("codebuild", f"project/{name}")
        if t == "AWS::CodePipeline::Pipeline":
            return arn("codepipeline", name)
        if t == "AWS::Events::Rule":
            return arn("events", f"rule/{name}")
        if t == "AWS::SSM::Parameter":
            return arn("ssm", f"parameter{name}" if name.startswith("/") else f"parameter/{name}")
        if t == "AWS::SageMaker::ModelPackageGroup":
            return arn("sagemaker", f"model-package-group/{name.lower()}")
        if t == "AWS::ECR::Repository":
            return arn("ecr", f"repository/{name}")
        if t == "AWS::Lambda::Function":
            return arn("lambda", f"function:{name}")
        if t == "AWS::Logs::LogGroup":
            return arn("logs", f"log-group:{name}")
        if t == "AWS::SecretsManager::Secret":
            return arn("secretsmanager", f"secret:{name}-AbCdEf")
        if t == "AWS::ServiceCatalog::Portfolio":
            return arn("catalog", f"portfolio/{name}")
        if t == "AWS::ServiceCatalog::CloudFormationProduct":
            return arn("catalog", f"product/{name}")
        if t == "AWS::IAM::ManagedPolicy":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{name}"
        if t == "AWS::Lambda::LayerVersion":
            return arn("lambda", f"layer:{logical_id}:1")
        return None


def policy_documents(template):
    """Every IAM policy document in a template: (where, kind, document, attached roles' logical ids)."""
    kinds = {
        "AWS::IAM::Policy": ("PolicyDocument", "identity"),
        "AWS::IAM::ManagedPolicy": ("PolicyDocument", "identity"),
        "AWS::S3::BucketPolicy": ("PolicyDocument", "resource"),
        "AWS::KMS::Key": ("KeyPolicy", "resource"),
        "AWS::ECR::Repository": ("RepositoryPolicyText", "resource"),
        "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupPolicy", "resource"),
        "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy", "resource"),
    }
    for logical_id, resource in template.resources.items():
        if not template.is_created(logical_id):
            continue
        t = resource["Type"]
        props = resource.get("Properties", {})
        if t == "AWS::IAM::Role":
            yield f"{logical_id} (trust policy)", "trust", template.value(props["AssumeRolePolicyDocument"]), []
            for inline in props.get("Policies", []):
                yield f"{logical_id} (inline {inline['PolicyName']})", "identity", template.value(inline["PolicyDocument"]), [logical_id]
        elif t in kinds and kinds[t][0] in props:
            key, kind = kinds[t]
            document = template.value(props[key])
            if isinstance(document, str):
                document = json.loads(document)
            roles = [r["Ref"] for r in props.get("Roles", []) if isinstance(r, dict) and "Ref" in r]
            yield logical_id, kind, document, roles


def statements(document):
    return [document.get("Statement", [])] if isinstance(document.get("Statement"), dict) else document.get("Statement", [])


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
