package polyglot;

import io.github.cdksagemakerprojecttemplates.AddS3TemplateOptions;
import io.github.cdksagemakerprojecttemplates.AddTemplateOptions;
import io.github.cdksagemakerprojecttemplates.BatchInferenceProjectTemplate;
import io.github.cdksagemakerprojecttemplates.BuildPipeline;
import io.github.cdksagemakerprojecttemplates.BundledSeedApp;
import io.github.cdksagemakerprojecttemplates.CheckovScanOptions;
import io.github.cdksagemakerprojecttemplates.DeployPipeline;
import io.github.cdksagemakerprojecttemplates.DeployPipelineOptions;
import io.github.cdksagemakerprojecttemplates.DeploymentStage;
import io.github.cdksagemakerprojecttemplates.DeploymentStages;
import io.github.cdksagemakerprojecttemplates.DeploymentTargetPolicy;
import io.github.cdksagemakerprojecttemplates.FixedAccountsOptions;
import io.github.cdksagemakerprojecttemplates.MLOpsProjectTemplate;
import io.github.cdksagemakerprojecttemplates.ProjectNetwork;
import io.github.cdksagemakerprojecttemplates.ProjectNotificationsOptions;
import io.github.cdksagemakerprojecttemplates.ProjectPortfolio;
import io.github.cdksagemakerprojecttemplates.ProjectTemplateBucket;
import io.github.cdksagemakerprojecttemplates.SecurityScan;
import io.github.cdksagemakerprojecttemplates.StageNetwork;
import io.github.cdksagemakerprojecttemplates.SeedCode;
import io.github.cdksagemakerprojecttemplates.SeedCodeAsset;
import io.github.cdksagemakerprojecttemplates.SeedCodeLocationParameters;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.services.codebuild.BuildSpec;
import software.amazon.awscdk.services.codebuild.PipelineProject;
import software.amazon.awscdk.services.codepipeline.actions.CodeBuildAction;
import software.amazon.awscdk.services.codepipeline.actions.ManualApprovalAction;
import software.amazon.awscdk.services.s3.Bucket;
import software.amazon.awscdk.services.s3.BucketEncryption;

/**
 * The README example of each public construct, in Java: the same code as ../snippets.ts. Each
 * method is one snippet of README-snippets.md; {@link #buildSnippetsApp} puts each in its own
 * stack so the polyglot gate can compare them with the TypeScript and Python versions.
 */
public final class Snippets {
  private Snippets() {}

  // snippet:SeedCodeAsset
  static void seedCodeAssetSnippet(Stack stack) {
    // One of the starter apps bundled in the package, zipped as an S3 asset, its location
    // published in SSM (/mlops/code/seed_bucket and /mlops/code/build).
    SeedCodeAsset buildApp = SeedCodeAsset.fromBundledApp(stack, "BuildAppSeed", BundledSeedApp.BUILD_APP);
    buildApp.publishLocation();

    // A folder of your own.
    SeedCodeAsset mine = SeedCodeAsset.Builder.create(stack, "MySeed")
        .path("my_seed_code")
        .exclude(List.of("*.ipynb"))
        .build();
    mine.publishLocation(SeedCodeLocationParameters.builder().objectKeyParameterName("/mlops/code/my_seed").build());
  }
  // end:SeedCodeAsset

  // snippet:BuildPipeline
  static void buildPipelineSnippet(Stack stack) {
    Bucket artifactBucket = Bucket.Builder.create(stack, "Artifacts").encryption(BucketEncryption.KMS).build();
    BuildPipeline build = BuildPipeline.Builder.create(stack, "Build")
        .projectName("churn")
        .projectId("p-1a2b3c4d5e6f")
        .modelPackageGroupName("churn-p-1a2b3c4d5e6f")
        .artifactBucket(artifactBucket)
        .build();
    // Runs after the SageMaker pipeline step has succeeded.
    build.addActionAfterSageMakerPipeline(ManualApprovalAction.Builder.create()
        .actionName("Manual_Approval")
        .build());
  }
  // end:BuildPipeline

  // snippet:DeployPipeline
  static void deployPipelineSnippet(Stack stack) {
    Bucket artifactBucket = Bucket.Builder.create(stack, "Artifacts").encryption(BucketEncryption.KMS).build();
    DeployPipeline.Builder.create(stack, "Deploy")
        .projectName("churn")
        .projectId("p-1a2b3c4d5e6f")
        .modelPackageGroupName("churn-p-1a2b3c4d5e6f")
        .artifactBucket(artifactBucket)
        .stages(List.of(
            DeploymentStage.builder().name("dev").build(),
            DeploymentStage.builder().name("prod").account("333333333333").region("eu-west-1").build()))
        .build();
  }
  // end:DeployPipeline

  // snippet:MLOpsProjectTemplate
  static void mlopsProjectTemplateSnippet(Stack stack) {
    ProjectPortfolio portfolio = ProjectPortfolio.Builder.create(stack, "Portfolio")
        .providerName("ML Platform Team")
        .build();
    MLOpsProjectTemplate template = MLOpsProjectTemplate.Builder.create(portfolio, "Churn")
        .productName("Churn model, dev and prod")
        .stages(List.of(
            DeploymentStage.builder().name("dev").build(),
            DeploymentStage.builder().name("prod").accountParameterName("ProdAccount").regionParameterName("ProdRegion").build()))
        .buildSeedCode(SeedCode.fromDirectory("my_seed_code"))
        .deploySeedCode(SeedCode.fromBundledApp(BundledSeedApp.DEPLOY_APP))
        .build();
    portfolio.addTemplate(template, AddTemplateOptions.builder().supportEmail("ml-platform@example.com").build());
  }
  // end:MLOpsProjectTemplate

  // snippet:ProjectPortfolio
  static void projectPortfolioSnippet(Stack stack) {
    ProjectPortfolio portfolio = ProjectPortfolio.Builder.create(stack, "Portfolio")
        .displayName("SageMaker Organization Templates")
        .providerName("ML Platform Team")
        .executionRoleParameterName("/mlops/role/lead")
        .shareWithAccounts(List.of("222222222222"))
        // Shared accounts launch with their own role of this name.
        .launchRoleName("SageMakerProjectsLaunch")
        .tagOptions(Map.of("cost-center", List.of("ml-platform", "research")))
        .build();
    // Endpoints in dev, then preprod and prod in accounts entered when a project is created.
    MLOpsProjectTemplate dynamic = MLOpsProjectTemplate.Builder.create(portfolio, "DynamicAccounts")
        .productName("Real-time endpoints")
        .build();
    portfolio.addTemplate(dynamic, AddTemplateOptions.builder()
        .versionName("v1")
        .supportUrl("https://wiki.example.com/ml-platform")
        .build());
  }
  // end:ProjectPortfolio

  // snippet:ProjectTemplateBucket
  static void projectTemplateBucketSnippet(Stack stack) {
    ProjectPortfolio portfolio = new ProjectPortfolio(stack, "Portfolio");
    MLOpsProjectTemplate dynamic = MLOpsProjectTemplate.Builder.create(portfolio, "DynamicAccounts")
        .productName("Real-time endpoints")
        .build();
    portfolio.addTemplate(dynamic);

    ProjectTemplateBucket s3Templates = ProjectTemplateBucket.Builder.create(stack, "S3Templates")
        .domainArns(List.of("arn:aws:sagemaker:eu-west-1:111111111111:domain/d-abcdefghijkl"))
        .build();
    // The portfolio's template, published as an S3 template too.
    s3Templates.addTemplate(dynamic);
    s3Templates.addTemplate(MLOpsProjectTemplate.Builder.create(s3Templates, "Basic")
        .productName("Real-time endpoints, fixed accounts")
        .stages(DeploymentStages.fixedAccounts(FixedAccountsOptions.builder()
            .preProdAccount("222222222222").prodAccount("333333333333").region("eu-west-1").build()))
        .build(), AddS3TemplateOptions.builder().templateName("basic").versionName("v1").build());
  }
  // end:ProjectTemplateBucket

  // snippet:DeploymentTargetPolicy
  static void deploymentTargetPolicySnippet(Stack stack) {
    // In each target account and region; then:
    // cdk bootstrap --qualifier mlops --cloudformation-execution-policies <its policyArn>
    new DeploymentTargetPolicy(stack, "DeploymentTarget");
  }
  // end:DeploymentTargetPolicy

  /** Every snippet in its own stack, in the same order as snippets.ts. */
  // snippet:BatchInferenceProjectTemplate
  static void batchInferenceProjectTemplateSnippet(Stack stack) {
    ProjectPortfolio portfolio = ProjectPortfolio.Builder.create(stack, "Portfolio").build();
    BatchInferenceProjectTemplate nightly = BatchInferenceProjectTemplate.Builder.create(portfolio, "NightlyScoring")
        .stages(List.of(
            DeploymentStage.builder().name("dev").build(),
            // Another region than the portfolio's: deployed there, through that region's bootstrap roles.
            DeploymentStage.builder().name("prod").account("333333333333").region("us-east-1").build()))
        // The deploy repository's buildspec-test.yml runs after each stage; a failure stops the promotion.
        .deployPipelineOptions(DeployPipelineOptions.builder().testEachStage(true).build())
        .build();
    portfolio.addTemplate(nightly);
  }
  // end:BatchInferenceProjectTemplate

  // snippet:Operating
  static void operatingSnippet(Stack stack) {
    ProjectPortfolio portfolio = ProjectPortfolio.Builder.create(stack, "Portfolio").build();
    MLOpsProjectTemplate template = MLOpsProjectTemplate.Builder.create(portfolio, "Operated")
        .productName("Real-time endpoints, monitored")
        // An SNS topic per project: failed pipelines and executions, approved or rejected models.
        .notifications(ProjectNotificationsOptions.builder().emails(List.of("ml-platform@example.com")).build())
        // A data-quality baseline with each model, and a monitoring schedule per endpoint.
        .modelMonitoring(true)
        // The deploy repository's tests after each stage, before the next approval.
        .deployPipelineOptions(DeployPipelineOptions.builder().testEachStage(true).build())
        // Builds and SageMaker jobs in the subnets the platform team keeps in SSM (/mlops/network/...).
        .network(ProjectNetwork.fromSsmParameters())
        .stages(List.of(
            DeploymentStage.builder().name("dev").build(),
            // Endpoints in the PROD account's subnets, read from its own SSM parameters when deployed.
            DeploymentStage.builder().name("prod").account("333333333333")
                .network(StageNetwork.builder().subnetIdsParameterName("/mlops/network/subnet_ids").build())
                .build()))
        .build();
    portfolio.addTemplate(template);
  }
  // end:Operating

  // snippet:Extending
  static void extendingSnippet(Stack stack) {
    ProjectPortfolio portfolio = ProjectPortfolio.Builder.create(stack, "Portfolio").build();
    MLOpsProjectTemplate template = MLOpsProjectTemplate.Builder.create(portfolio, "Extended")
        .productName("Real-time endpoints, fixed accounts")
        // The original basic template's stages, by composition.
        .stages(DeploymentStages.fixedAccounts(FixedAccountsOptions.builder()
            .preProdAccount("222222222222").prodAccount("333333333333").region("eu-west-1").build()))
        .deployPipelineOptions(DeployPipelineOptions.builder()
            // Or SecurityScan.none(), or SecurityScan.fromBuildSpec(yourBuildSpec).
            .securityScanner(SecurityScan.checkov(CheckovScanOptions.builder().skipChecks(List.of("CKV_AWS_117")).build()))
            .build())
        .build();

    // A check of the data before the SageMaker pipeline step, which waits for it.
    PipelineProject dataCheck = PipelineProject.Builder.create(template, "DataCheck")
        .buildSpec(BuildSpec.fromSourceFilename("buildspec-data-check.yml"))
        .build();
    template.getBuildPipeline().addActionBeforeSageMakerPipeline(CodeBuildAction.Builder.create()
        .actionName("DataCheck")
        .project(dataCheck)
        .input(template.getBuildPipeline().getSourceOutput())
        .build());

    // A sign-off after the preprod deployment, before prod's approval.
    template.getDeployPipeline().addActionAfterDeployment("preprod", ManualApprovalAction.Builder.create()
        .actionName("SignOff_PreProd")
        .build());
    portfolio.addTemplate(template);
  }
  // end:Extending

  static software.amazon.awscdk.App buildSnippetsApp(String outdir) {
    software.amazon.awscdk.App app = software.amazon.awscdk.App.Builder.create().outdir(outdir).build();
    Map<String, Consumer<Stack>> snippets = new java.util.LinkedHashMap<>();
    snippets.put("SeedCodeAsset", Snippets::seedCodeAssetSnippet);
    snippets.put("BuildPipeline", Snippets::buildPipelineSnippet);
    snippets.put("DeployPipeline", Snippets::deployPipelineSnippet);
    snippets.put("MLOpsProjectTemplate", Snippets::mlopsProjectTemplateSnippet);
    snippets.put("ProjectPortfolio", Snippets::projectPortfolioSnippet);
    snippets.put("ProjectTemplateBucket", Snippets::projectTemplateBucketSnippet);
    snippets.put("DeploymentTargetPolicy", Snippets::deploymentTargetPolicySnippet);
    snippets.put("BatchInferenceProjectTemplate", Snippets::batchInferenceProjectTemplateSnippet);
    snippets.put("Operating", Snippets::operatingSnippet);
    snippets.put("Extending", Snippets::extendingSnippet);
    snippets.forEach((name, snippet) -> snippet.accept(Stack.Builder.create(app, name + "Snippet").env(App.EXAMPLE_ENV).build()));
    return app;
  }
}
