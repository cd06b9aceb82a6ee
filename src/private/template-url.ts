import { Lazy, Stack, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import { Construct } from 'constructs';

/** Where the synthesized template of a product stack is stored as a file asset of its parent stack. */
export interface ProductTemplateAsset {
  /** The template's `https://s3.<region>.<suffix>/<bucket>/<key>` URL (a token until synthesis). */
  readonly httpUrl: string;
  /** The bucket the stack synthesizer stores the asset in. */
  readonly bucketName: string;
  /** The asset's object key. */
  readonly objectKey: string;
  /** The bucket that holds the product stack's own file assets (seed code), if it has one. */
  readonly assetBucket?: s3.IBucket;
}

/** What the URL resolves to before the product stack is synthesized (validation, quota checks). */
const NOT_SYNTHESIZED = 'product-template-not-synthesized-yet';

/**
 * The template asset of `productStack`, through aws-cdk-lib's public
 * `CloudFormationTemplate.fromProductStack(...).bind(...)` (the same object a Service Catalog
 * product version binds). The URL is known only once the product stack has been synthesized,
 * which aws-cdk-lib does before its parent stack; bucket and key are read from it then.
 *
 * The URL's form depends on the parent's stack synthesizer (`Fn::Sub` for the default one,
 * `Fn::Join` for others, with key prefixes or parameters): the bucket is everything between its
 * third and fourth literal '/', the key everything after, whatever intrinsic functions they hold.
 */
export function productTemplateAsset(scope: Construct, productStack: servicecatalog.ProductStack): ProductTemplateAsset {
  const config = servicecatalog.CloudFormationTemplate.fromProductStack(productStack).bind(scope);
  const stack = Stack.of(scope);
  const part = (index: 3 | 4) => Lazy.uncachedString({
    produce: () => {
      const resolved = stack.resolve(config.httpUrl);
      if (resolved === undefined || resolved === null) return NOT_SYNTHESIZED;
      const segments = urlSegments(resolved, productStack.node.path);
      return render(segments[index]);
    },
  });
  return { httpUrl: config.httpUrl, bucketName: part(3), objectKey: part(4), assetBucket: config.assetBucket };
}

type Piece = { readonly text: string } | { readonly sub: string } | { readonly opaque: unknown };

/**
 * A resolved `https://host/bucket/key` URL cut at its first four literal '/': scheme, '', host,
 * bucket, key (the key keeps the '/' it holds).
 */
function urlSegments(resolved: unknown, owner: string): Piece[][] {
  const unsupported = () => new Error(`ProjectTemplateBucket: the template URL of product stack '${owner}' is ${JSON.stringify(resolved)}, not https://<host>/<bucket>/<key>; use a stack synthesizer that stores file assets in S3 (such as the default one)`);
  let pieces: unknown[];
  if (typeof resolved === 'string' || isSub(resolved)) {
    pieces = [resolved];
  } else if (isObject(resolved) && Array.isArray(resolved['Fn::Join']) && resolved['Fn::Join'][0] === '') {
    pieces = resolved['Fn::Join'][1];
  } else {
    throw unsupported();
  }
  const segments: Piece[][] = [[]];
  const push = (piece: Piece) => segments[segments.length - 1].push(piece);
  for (const piece of pieces) {
    const text = typeof piece === 'string' ? piece : isSub(piece) ? piece['Fn::Sub'] : undefined;
    if (text === undefined) {
      push({ opaque: piece });
      continue;
    }
    // Placeholders (${AWS::Region}, ${AWS::URLSuffix}) hold no '/', so every '/' is literal.
    if (/\$\{[^}]*\/[^}]*\}/.test(text)) throw unsupported();
    text.split('/').forEach((chunk, index) => {
      if (index > 0) {
        if (segments.length < 5) segments.push([]);
        else push({ text: '/' });
      }
      if (chunk) push(typeof piece === 'string' ? { text: chunk } : { sub: chunk });
    });
  }
  if (segments.length < 5 || segments[3].length === 0 || segments[4].length === 0) throw unsupported();
  return segments;
}

/** A segment as a string: literal, `Fn::Sub` or `Fn::Join`, as a token where it is not literal. */
function render(segment: Piece[]): string {
  const rendered = segment.map(piece => 'text' in piece ? piece.text : 'sub' in piece ? (piece.sub.includes('${') ? { 'Fn::Sub': piece.sub } : piece.sub) : piece.opaque);
  if (rendered.every(piece => typeof piece === 'string')) return rendered.join('');
  const value = rendered.length === 1 ? rendered[0] : { 'Fn::Join': ['', rendered] };
  return Token.asString(value);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSub(value: unknown): value is { 'Fn::Sub': string } {
  return isObject(value) && Object.keys(value).length === 1 && typeof value['Fn::Sub'] === 'string';
}
