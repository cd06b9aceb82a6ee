import * as fs from 'fs';
import * as path from 'path';
import { App, Stage } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';

/**
 * The synthesized template of a Service Catalog product stack (`Template.fromStack` cannot
 * read one: it is written as an asset of its parent stack).
 */
export function productTemplate(product: servicecatalog.ProductStack): Template {
  const app = Stage.of(product) as App;
  const assembly = app.synth();
  return Template.fromJSON(JSON.parse(fs.readFileSync(path.join(assembly.directory, product.templateFile), 'utf-8')));
}
