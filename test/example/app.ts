import { App, Stack } from 'aws-cdk-lib';
import {
  BasicProjectTemplate,
  BatchInferenceProjectTemplate,
  ByocProjectTemplate,
  DynamicAccountsProjectTemplate,
  ProjectPortfolio,
  ProjectTemplateBucket,
} from '../../src';

/** Fixed, fake accounts: the example synthesizes offline, without credentials or lookups. */
export const EXAMPLE_ENV = { account: '111111111111', region: 'eu-west-1' };

export interface ExampleAppOptions {
  /** Where the cloud assembly goes. */
  readonly outdir: string;
  /** Where product version snapshots go. */
  readonly snapshotDirectory: string;
}

/**
 * The example organisation: one portfolio in its DEV account offering the four built-in
 * templates, which a template bucket publishes as S3 templates too. The Python and Java versions
 * under test/polyglot must make the same thing.
 */
export function buildExampleApp(options: ExampleAppOptions): App {
  const app = new App({ outdir: options.outdir });
  const stack = new Stack(app, 'SageMakerProjectTemplates', { env: EXAMPLE_ENV });

  const portfolio = new ProjectPortfolio(stack, 'Portfolio', {
    displayName: 'SageMaker Organization Templates',
    providerName: 'ML Platform Team',
  });
  const support = {
    supportEmail: 'ml-platform@example.com',
    supportUrl: 'https://wiki.example.com/ml-platform',
    supportDescription: 'Ask the ML platform team',
    snapshotDirectory: options.snapshotDirectory,
  };

  const basic = new BasicProjectTemplate(portfolio, 'Basic', {
    preProdAccount: '222222222222',
    prodAccount: '333333333333',
    deploymentRegion: 'eu-west-1',
  });
  const dynamicAccounts = new DynamicAccountsProjectTemplate(portfolio, 'DynamicAccounts');
  const byoc = new ByocProjectTemplate(portfolio, 'Byoc');
  const batchInference = new BatchInferenceProjectTemplate(portfolio, 'BatchInference');
  portfolio.addTemplate(basic, support);
  portfolio.addTemplate(dynamicAccounts, support);
  portfolio.addTemplate(byoc, support);
  portfolio.addTemplate(batchInference, support);

  // The same templates as S3 templates, for SageMaker domains tagged with the bucket's location.
  const s3Templates = new ProjectTemplateBucket(stack, 'S3Templates');
  s3Templates.addTemplate(basic);
  s3Templates.addTemplate(dynamicAccounts);
  s3Templates.addTemplate(byoc);
  s3Templates.addTemplate(batchInference);
  return app;
}
