package polyglot;

import io.github.cdksagemakerprojecttemplates.AddTemplateOptions;
import io.github.cdksagemakerprojecttemplates.BasicProjectTemplate;
import io.github.cdksagemakerprojecttemplates.BundledSeedApp;
import io.github.cdksagemakerprojecttemplates.BatchInferenceProjectTemplate;
import io.github.cdksagemakerprojecttemplates.ByocProjectTemplate;
import io.github.cdksagemakerprojecttemplates.DynamicAccountsProjectTemplate;
import io.github.cdksagemakerprojecttemplates.ProjectPortfolio;
import io.github.cdksagemakerprojecttemplates.ProjectTemplateBucket;
import io.github.cdksagemakerprojecttemplates.SeedCodeAsset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import software.amazon.awscdk.Environment;
import software.amazon.awscdk.Stack;

/**
 * The example organisation app (test/example/app.ts) in Java, from the built jar.
 *
 * <p>Usage: {@code App <outdir> <snapshot-directory> [<snippets-outdir>]}
 *
 * <p>Mirrors {@code buildExampleApp} exactly: same construct ids, same props, same order. The
 * polyglot gate (.ci/polyglot.sh) compares what this synthesizes with the TypeScript and Python
 * versions. With a third argument it also synthesizes the README snippets ({@link Snippets}).
 */
public final class App {
  /** Fixed, fake accounts: the example synthesizes offline, without credentials or lookups. */
  static final Environment EXAMPLE_ENV = Environment.builder().account("111111111111").region("eu-west-1").build();

  private App() {}

  static software.amazon.awscdk.App buildExampleApp(String outdir, String snapshotDirectory) {
    software.amazon.awscdk.App app = software.amazon.awscdk.App.Builder.create().outdir(outdir).build();
    Stack stack = Stack.Builder.create(app, "SageMakerProjectTemplates").env(EXAMPLE_ENV).build();

    ProjectPortfolio portfolio = ProjectPortfolio.Builder.create(stack, "Portfolio")
        .displayName("SageMaker Organization Templates")
        .providerName("ML Platform Team")
        .build();
    AddTemplateOptions support = AddTemplateOptions.builder()
        .supportEmail("ml-platform@example.com")
        .supportUrl("https://wiki.example.com/ml-platform")
        .supportDescription("Ask the ML platform team")
        .snapshotDirectory(snapshotDirectory)
        .build();

    BasicProjectTemplate basic = BasicProjectTemplate.Builder.create(portfolio, "Basic")
        .preProdAccount("222222222222")
        .prodAccount("333333333333")
        .deploymentRegion("eu-west-1")
        .build();
    DynamicAccountsProjectTemplate dynamicAccounts = new DynamicAccountsProjectTemplate(portfolio, "DynamicAccounts");
    ByocProjectTemplate byoc = new ByocProjectTemplate(portfolio, "Byoc");
    BatchInferenceProjectTemplate batchInference = new BatchInferenceProjectTemplate(portfolio, "BatchInference");
    portfolio.addTemplate(basic, support);
    portfolio.addTemplate(dynamicAccounts, support);
    portfolio.addTemplate(byoc, support);
    portfolio.addTemplate(batchInference, support);

    // The same templates as S3 templates, for SageMaker domains tagged with the bucket's location.
    ProjectTemplateBucket s3Templates = new ProjectTemplateBucket(stack, "S3Templates");
    s3Templates.addTemplate(basic);
    s3Templates.addTemplate(dynamicAccounts);
    s3Templates.addTemplate(byoc);
    s3Templates.addTemplate(batchInference);
    return app;
  }

  /** The seed code ships inside the jar (in the embedded npm package) and is found from Java. */
  static void checkBundledSeedCode() {
    for (BundledSeedApp bundled : new BundledSeedApp[] {BundledSeedApp.BUILD_APP, BundledSeedApp.DEPLOY_APP}) {
      Path path = Paths.get(SeedCodeAsset.bundledAppPath(bundled));
      if (!Files.isDirectory(path)) {
        throw new IllegalStateException("java: bundled seed code " + bundled + " not found: " + path + " is not a directory");
      }
      System.out.println("java: bundled seed code " + bundled + ": " + path);
    }
    Path buildApp = Paths.get(SeedCodeAsset.bundledAppPath(BundledSeedApp.BUILD_APP));
    if (!Files.isRegularFile(buildApp.resolve("buildspec.yml"))) {
      throw new IllegalStateException("java: " + buildApp + " has no buildspec.yml");
    }
  }

  public static void main(String[] args) {
    if (args.length < 2 || args.length > 3) {
      throw new IllegalArgumentException("usage: App <outdir> <snapshot-directory> [<snippets-outdir>]");
    }
    String outdir = Paths.get(args[0]).toAbsolutePath().normalize().toString();
    String snapshotDirectory = Paths.get(args[1]).toAbsolutePath().normalize().toString();
    long start = System.nanoTime();
    checkBundledSeedCode();
    buildExampleApp(outdir, snapshotDirectory).synth();
    System.out.printf("java: example app synthesized into %s in %.1fs%n", outdir, (System.nanoTime() - start) / 1e9);
    if (args.length == 3) {
      start = System.nanoTime();
      Snippets.buildSnippetsApp(Paths.get(args[2]).toAbsolutePath().normalize().toString()).synth();
      System.out.printf("java: README snippets synthesized into %s in %.1fs%n", args[2], (System.nanoTime() - start) / 1e9);
    }
  }
}
