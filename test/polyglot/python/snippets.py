"""The README example of each public construct, in Python: the same code as ../snippets.ts.

Each function is one snippet of README-snippets.md; build_snippets_app puts each in its own
stack so the polyglot gate can compare them with the TypeScript and Java versions.
"""
import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_s3 as s3
from cdk_sagemaker_project_templates import (
    BatchInferenceProjectTemplate,
    BuildPipeline,
    BundledSeedApp,
    DeploymentStage,
    DeploymentStages,
    DeploymentTargetPolicy,
    DeployPipeline,
    DeployPipelineOptions,
    MLOpsProjectTemplate,
    ProjectNetwork,
    ProjectNotificationsOptions,
    ProjectPortfolio,
    ProjectTemplateBucket,
    SecurityScan,
    SeedCode,
    SeedCodeAsset,
    StageNetwork,
)


# snippet:SeedCodeAsset
def seed_code_asset_snippet(stack: cdk.Stack) -> None:
    # One of the starter apps bundled in the package, zipped as an S3 asset, its location
    # published in SSM (/mlops/code/seed_bucket and /mlops/code/build).
    build_app = SeedCodeAsset.from_bundled_app(stack, "BuildAppSeed", BundledSeedApp.BUILD_APP)
    build_app.publish_location()

    # A folder of your own.
    mine = SeedCodeAsset(stack, "MySeed", path="my_seed_code", exclude=["*.ipynb"])
    mine.publish_location(object_key_parameter_name="/mlops/code/my_seed")
# end:SeedCodeAsset


# snippet:BuildPipeline
def build_pipeline_snippet(stack: cdk.Stack) -> None:
    artifact_bucket = s3.Bucket(stack, "Artifacts", encryption=s3.BucketEncryption.KMS)
    build = BuildPipeline(
        stack,
        "Build",
        project_name="churn",
        project_id="p-1a2b3c4d5e6f",
        model_package_group_name="churn-p-1a2b3c4d5e6f",
        artifact_bucket=artifact_bucket,
    )
    # Runs after the SageMaker pipeline step has succeeded.
    build.add_action_after_sage_maker_pipeline(actions.ManualApprovalAction(action_name="Manual_Approval"))
# end:BuildPipeline


# snippet:DeployPipeline
def deploy_pipeline_snippet(stack: cdk.Stack) -> None:
    artifact_bucket = s3.Bucket(stack, "Artifacts", encryption=s3.BucketEncryption.KMS)
    DeployPipeline(
        stack,
        "Deploy",
        project_name="churn",
        project_id="p-1a2b3c4d5e6f",
        model_package_group_name="churn-p-1a2b3c4d5e6f",
        artifact_bucket=artifact_bucket,
        stages=[
            DeploymentStage(name="dev"),
            DeploymentStage(name="prod", account="333333333333", region="eu-west-1"),
        ],
    )
# end:DeployPipeline


# snippet:MLOpsProjectTemplate
def mlops_project_template_snippet(stack: cdk.Stack) -> None:
    portfolio = ProjectPortfolio(stack, "Portfolio", provider_name="ML Platform Team")
    template = MLOpsProjectTemplate(
        portfolio,
        "Churn",
        product_name="Churn model, dev and prod",
        stages=[
            DeploymentStage(name="dev"),
            DeploymentStage(name="prod", account_parameter_name="ProdAccount", region_parameter_name="ProdRegion"),
        ],
        build_seed_code=SeedCode.from_directory("my_seed_code"),
        deploy_seed_code=SeedCode.from_bundled_app(BundledSeedApp.DEPLOY_APP),
    )
    portfolio.add_template(template, support_email="ml-platform@example.com")
# end:MLOpsProjectTemplate


# snippet:ProjectPortfolio
def project_portfolio_snippet(stack: cdk.Stack) -> None:
    portfolio = ProjectPortfolio(
        stack,
        "Portfolio",
        display_name="SageMaker Organization Templates",
        provider_name="ML Platform Team",
        execution_role_parameter_name="/mlops/role/lead",
        share_with_accounts=["222222222222"],
        # Shared accounts launch with their own role of this name.
        launch_role_name="SageMakerProjectsLaunch",
        tag_options={"cost-center": ["ml-platform", "research"]},
    )
    # Endpoints in dev, then preprod and prod in accounts entered when a project is created.
    portfolio.add_template(
        MLOpsProjectTemplate(portfolio, "DynamicAccounts", product_name="Real-time endpoints"),
        version_name="v1",
        support_url="https://wiki.example.com/ml-platform",
    )
# end:ProjectPortfolio


# snippet:ProjectTemplateBucket
def project_template_bucket_snippet(stack: cdk.Stack) -> None:
    portfolio = ProjectPortfolio(stack, "Portfolio")
    dynamic = MLOpsProjectTemplate(portfolio, "DynamicAccounts", product_name="Real-time endpoints")
    portfolio.add_template(dynamic)

    s3_templates = ProjectTemplateBucket(
        stack,
        "S3Templates",
        domain_arns=["arn:aws:sagemaker:eu-west-1:111111111111:domain/d-abcdefghijkl"],
    )
    # The portfolio's template, published as an S3 template too.
    s3_templates.add_template(dynamic)
    s3_templates.add_template(
        MLOpsProjectTemplate(
            s3_templates,
            "Basic",
            product_name="Real-time endpoints, fixed accounts",
            stages=DeploymentStages.fixed_accounts(pre_prod_account="222222222222", prod_account="333333333333", region="eu-west-1"),
        ),
        template_name="basic",
        version_name="v1",
    )
# end:ProjectTemplateBucket


# snippet:DeploymentTargetPolicy
def deployment_target_policy_snippet(stack: cdk.Stack) -> None:
    # In each target account and region; then:
    # cdk bootstrap --qualifier mlops --cloudformation-execution-policies <its policy_arn>
    DeploymentTargetPolicy(stack, "DeploymentTarget")
# end:DeploymentTargetPolicy


# snippet:BatchInferenceProjectTemplate
def batch_inference_project_template_snippet(stack: cdk.Stack) -> None:
    portfolio = ProjectPortfolio(stack, "Portfolio")
    nightly = BatchInferenceProjectTemplate(
        portfolio,
        "NightlyScoring",
        stages=[
            DeploymentStage(name="dev"),
            # Another region than the portfolio's: deployed there, through that region's bootstrap roles.
            DeploymentStage(name="prod", account="333333333333", region="us-east-1"),
        ],
        # The deploy repository's buildspec-test.yml runs after each stage; a failure stops the promotion.
        deploy_pipeline_options=DeployPipelineOptions(test_each_stage=True),
    )
    portfolio.add_template(nightly)
# end:BatchInferenceProjectTemplate


# snippet:Operating
def operating_snippet(stack: cdk.Stack) -> None:
    portfolio = ProjectPortfolio(stack, "Portfolio")
    template = MLOpsProjectTemplate(
        portfolio,
        "Operated",
        product_name="Real-time endpoints, monitored",
        # An SNS topic per project: failed pipelines and executions, approved or rejected models.
        notifications=ProjectNotificationsOptions(emails=["ml-platform@example.com"]),
        # A data-quality baseline with each model, and a monitoring schedule per endpoint.
        model_monitoring=True,
        # The deploy repository's tests after each stage, before the next approval.
        deploy_pipeline_options=DeployPipelineOptions(test_each_stage=True),
        # Builds and SageMaker jobs in the subnets the platform team keeps in SSM (/mlops/network/...).
        network=ProjectNetwork.from_ssm_parameters(),
        stages=[
            DeploymentStage(name="dev"),
            # Endpoints in the PROD account's subnets, read from its own SSM parameters when deployed.
            DeploymentStage(
                name="prod",
                account="333333333333",
                network=StageNetwork(subnet_ids_parameter_name="/mlops/network/subnet_ids"),
            ),
        ],
    )
    portfolio.add_template(template)
# end:Operating


# snippet:Extending
def extending_snippet(stack: cdk.Stack) -> None:
    portfolio = ProjectPortfolio(stack, "Portfolio")
    template = MLOpsProjectTemplate(
        portfolio,
        "Extended",
        product_name="Real-time endpoints, fixed accounts",
        # The original basic template's stages, by composition.
        stages=DeploymentStages.fixed_accounts(pre_prod_account="222222222222", prod_account="333333333333", region="eu-west-1"),
        deploy_pipeline_options=DeployPipelineOptions(
            # Or SecurityScan.none(), or SecurityScan.from_build_spec(your_build_spec).
            security_scanner=SecurityScan.checkov(skip_checks=["CKV_AWS_117"]),
        ),
    )

    # A check of the data before the SageMaker pipeline step, which waits for it.
    data_check = codebuild.PipelineProject(
        template,
        "DataCheck",
        build_spec=codebuild.BuildSpec.from_source_filename("buildspec-data-check.yml"),
    )
    template.build_pipeline.add_action_before_sage_maker_pipeline(actions.CodeBuildAction(
        action_name="DataCheck",
        project=data_check,
        input=template.build_pipeline.source_output,
    ))

    # A sign-off after the preprod deployment, before prod's approval.
    template.deploy_pipeline.add_action_after_deployment("preprod", actions.ManualApprovalAction(action_name="SignOff_PreProd"))
    portfolio.add_template(template)
# end:Extending


def build_snippets_app(outdir: str) -> cdk.App:
    """Every snippet in its own stack, in the same order as snippets.ts."""
    app = cdk.App(outdir=outdir)
    for name, snippet in [
        ("SeedCodeAsset", seed_code_asset_snippet),
        ("BuildPipeline", build_pipeline_snippet),
        ("DeployPipeline", deploy_pipeline_snippet),
        ("MLOpsProjectTemplate", mlops_project_template_snippet),
        ("ProjectPortfolio", project_portfolio_snippet),
        ("ProjectTemplateBucket", project_template_bucket_snippet),
        ("DeploymentTargetPolicy", deployment_target_policy_snippet),
        ("BatchInferenceProjectTemplate", batch_inference_project_template_snippet),
        ("Operating", operating_snippet),
        ("Extending", extending_snippet),
    ]:
        snippet(cdk.Stack(app, f"{name}Snippet", env=cdk.Environment(account="111111111111", region="eu-west-1")))
    return app
