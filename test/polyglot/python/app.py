"""The example organisation app (test/example/app.ts) in Python, from the built wheel.

Usage: python app.py <outdir> <snapshot-directory> [<snippets-outdir>]

Mirrors `buildExampleApp` exactly: same construct ids, same props, same order. The polyglot gate
(.ci/polyglot.sh) compares what this synthesizes with the TypeScript and Java versions.
With a third argument it also synthesizes the README snippets (snippets.py), one stack each.
"""
import os
import sys
import time

import aws_cdk as cdk
from cdk_sagemaker_project_templates import (
    BasicProjectTemplate,
    BundledSeedApp,
    BatchInferenceProjectTemplate,
    ByocProjectTemplate,
    DynamicAccountsProjectTemplate,
    ProjectPortfolio,
    ProjectTemplateBucket,
    SeedCodeAsset,
)

import snippets

# Fixed, fake accounts: the example synthesizes offline, without credentials or lookups.
EXAMPLE_ENV = cdk.Environment(account="111111111111", region="eu-west-1")


def build_example_app(outdir: str, snapshot_directory: str) -> cdk.App:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "SageMakerProjectTemplates", env=EXAMPLE_ENV)

    portfolio = ProjectPortfolio(
        stack,
        "Portfolio",
        display_name="SageMaker Organization Templates",
        provider_name="ML Platform Team",
    )
    support = dict(
        support_email="ml-platform@example.com",
        support_url="https://wiki.example.com/ml-platform",
        support_description="Ask the ML platform team",
        snapshot_directory=snapshot_directory,
    )

    basic = BasicProjectTemplate(
        portfolio,
        "Basic",
        pre_prod_account="222222222222",
        prod_account="333333333333",
        deployment_region="eu-west-1",
    )
    dynamic_accounts = DynamicAccountsProjectTemplate(portfolio, "DynamicAccounts")
    byoc = ByocProjectTemplate(portfolio, "Byoc")
    batch_inference = BatchInferenceProjectTemplate(portfolio, "BatchInference")
    portfolio.add_template(basic, **support)
    portfolio.add_template(dynamic_accounts, **support)
    portfolio.add_template(byoc, **support)
    portfolio.add_template(batch_inference, **support)

    # The same templates as S3 templates, for SageMaker domains tagged with the bucket's location.
    s3_templates = ProjectTemplateBucket(stack, "S3Templates")
    s3_templates.add_template(basic)
    s3_templates.add_template(dynamic_accounts)
    s3_templates.add_template(byoc)
    s3_templates.add_template(batch_inference)
    return app


def check_bundled_seed_code() -> None:
    """The seed code ships inside the wheel (in the embedded npm package) and is found from Python."""
    for bundled in (BundledSeedApp.BUILD_APP, BundledSeedApp.DEPLOY_APP):
        path = SeedCodeAsset.bundled_app_path(bundled)
        if not os.path.isdir(path):
            raise SystemExit(f"python: bundled seed code {bundled} not found: {path} is not a directory")
        print(f"python: bundled seed code {bundled.value}: {path}")
    build_app = SeedCodeAsset.bundled_app_path(BundledSeedApp.BUILD_APP)
    if not os.path.isfile(os.path.join(build_app, "buildspec.yml")):
        raise SystemExit(f"python: {build_app} has no buildspec.yml")


def main(argv: list) -> None:
    if len(argv) not in (3, 4):
        raise SystemExit(__doc__)
    outdir, snapshot_directory = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    start = time.monotonic()
    check_bundled_seed_code()
    build_example_app(outdir, snapshot_directory).synth()
    print(f"python: example app synthesized into {outdir} in {time.monotonic() - start:.1f}s")
    if len(argv) == 4:
        start = time.monotonic()
        snippets.build_snippets_app(os.path.abspath(argv[3])).synth()
        print(f"python: README snippets synthesized into {argv[3]} in {time.monotonic() - start:.1f}s")


if __name__ == "__main__":
    main(sys.argv)
