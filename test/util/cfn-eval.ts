/**
 * Evaluate a CloudFormation value for given parameter values, to measure the longest physical
 * names a template can produce.
 */
export function evaluate(value: any, refs: Record<string, string>): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    if ('Ref' in value) {
      const ref = refs[value.Ref];
      if (ref === undefined) throw new Error(`no value for Ref ${value.Ref}`);
      return ref;
    }
    if ('Fn::Join' in value) {
      const [sep, parts] = value['Fn::Join'];
      return parts.map((p: any) => evaluate(p, refs)).join(sep);
    }
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

/** Whether a CloudFormation value refers to one of the named parameters. */
export function refersTo(value: any, names: string[]): boolean {
  return names.some(name => JSON.stringify(value).includes(`{"Ref":"${name}"}`));
}
