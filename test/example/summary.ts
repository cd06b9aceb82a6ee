import * as fs from 'fs';
import * as path from 'path';

/** What one product offers, read back from a cloud assembly. */
export interface ProductSummary {
  readonly name: string;
  readonly versions: { readonly name: string; readonly templateFile?: string; readonly resources?: number }[];
}

export interface AssemblySummary {
  readonly portfolioStack: string;
  readonly portfolioResources: number;
  readonly portfolios: string[];
  readonly products: ProductSummary[];
}

/**
 * Read a synthesized cloud assembly: the portfolio stack, each product with its versions and,
 * for every version whose template is in the assembly, its resource count.
 */
export function summarizeAssembly(outdir: string): AssemblySummary {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf-8'));
  const stackArtifact = Object.entries<any>(manifest.artifacts).find(([, a]) => a.type === 'aws:cloudformation:stack');
  if (!stackArtifact) throw new Error(`no stack in ${outdir}`);
  const [stackName, artifact] = stackArtifact;
  const template = JSON.parse(fs.readFileSync(path.join(outdir, artifact.properties.templateFile), 'utf-8'));
  const resources = Object.values<any>(template.Resources ?? {});

  const portfolios = resources
    .filter(r => r.Type === 'AWS::ServiceCatalog::Portfolio')
    .map(r => r.Properties.DisplayName);
  const products = resources
    .filter(r => r.Type === 'AWS::ServiceCatalog::CloudFormationProduct')
    .map(r => ({
      name: r.Properties.Name,
      versions: (r.Properties.ProvisioningArtifactParameters ?? []).map((v: any) => {
        const templateFile = productTemplateFile(outdir, v.Info?.LoadTemplateFromURL);
        return {
          name: v.Name,
          templateFile,
          resources: templateFile ? countResources(path.join(outdir, templateFile)) : undefined,
        };
      }),
    }));
  return { portfolioStack: stackName, portfolioResources: resources.length, portfolios, products };
}

/** The assembly file behind a product version's template URL (its asset hash names it). */
function productTemplateFile(outdir: string, url: unknown): string | undefined {
  const text = JSON.stringify(url ?? '');
  const match = /([0-9a-f]{64})\.json/.exec(text);
  if (!match) return undefined;
  const hash = match[1];
  const assets = fs.readdirSync(outdir).filter(f => f.endsWith('.assets.json'));
  for (const file of assets) {
    const manifest = JSON.parse(fs.readFileSync(path.join(outdir, file), 'utf-8'));
    const asset = manifest.files?.[hash];
    if (asset) return asset.source.path;
  }
  return undefined;
}

function countResources(file: string): number {
  const template = JSON.parse(fs.readFileSync(file, 'utf-8'));
  return Object.keys(template.Resources ?? {}).length;
}

export function printSummary(summary: AssemblySummary, outdir: string): void {
  console.log(`Synthesized into ${outdir}/`);
  console.log(`Stack ${summary.portfolioStack}: ${summary.portfolioResources} resources`);
  for (const portfolio of summary.portfolios) console.log(`Portfolio: ${portfolio}`);
  for (const product of summary.products) {
    console.log(`  Product: ${product.name}`);
    for (const version of product.versions) {
      const detail = version.resources !== undefined ? `${version.templateFile}, ${version.resources} resources` : 'template from a snapshot';
      console.log(`    Version ${version.name}: ${detail}`);
    }
  }
}
