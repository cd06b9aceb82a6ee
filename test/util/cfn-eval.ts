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

/** What `evaluateTemplate` leaves out of lists and objects: `AWS::NoValue`. */
const NO_VALUE = Symbol('AWS::NoValue');

/**
 * A template's resources as CloudFormation creates them for given parameter (and pseudo
 * parameter) values: its `Conditions` evaluated, resources whose `Condition` is false left out,
 * `Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Fn::Join`, `Fn::Sub`, `Fn::Select`,
 * `Fn::Split` and `Ref` resolved, and `AWS::NoValue` removed from lists and objects. A `Ref` to a
 * resource and an `Fn::GetAtt` become `<LogicalId>` and `<LogicalId.Attribute>`.
 *
 * Throws on a `Ref` to a parameter without a value and on functions it does not know.
 */
export function evaluateTemplate(template: any, refs: Record<string, string>): Record<string, any> {
  const conditions: Record<string, boolean> = {};
  const conditionValue = (name: string): boolean => {
    if (!(name in conditions)) {
      const expression = template.Conditions?.[name];
      if (expression === undefined) throw new Error(`no condition ${name}`);
      conditions[name] = truth(expression);
    }
    return conditions[name];
  };
  const truth = (expression: any): boolean => {
    if (expression && typeof expression === 'object' && 'Condition' in expression) return conditionValue(expression.Condition);
    const value = resolve(expression);
    if (typeof value !== 'boolean') throw new Error(`not a condition: ${JSON.stringify(expression)}`);
    return value;
  };
  const ref = (name: string): any => {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in refs) return refs[name];
    if (template.Resources?.[name]) return `<${name}>`;
    throw new Error(`no value for Ref ${name}`);
  };
  const text = (value: any): string => {
    const resolved = resolve(value);
    if (typeof resolved === 'number') return String(resolved);
    if (typeof resolved !== 'string') throw new Error(`not a string: ${JSON.stringify(value)}`);
    return resolved;
  };
  const resolve = (value: any): any => {
    if (Array.isArray(value)) return value.map(resolve).filter(item => item !== NO_VALUE);
    if (!value || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [name] = keys;
      const args = value[name];
      switch (name) {
        case 'Ref': return ref(args);
        case 'Fn::GetAtt': return `<${[args].flat().join('.')}>`;
        case 'Fn::If': return conditionValue(args[0]) ? resolve(args[1]) : resolve(args[2]);
        case 'Fn::Equals': return JSON.stringify(resolve(args[0])) === JSON.stringify(resolve(args[1]));
        case 'Fn::Not': return !truth(args[0]);
        case 'Fn::And': return args.every(truth);
        case 'Fn::Or': return args.some(truth);
        case 'Fn::Join': return resolve(args[1]).map(text).join(args[0]);
        // Placeholders (`<Id.Attr>`) have no parts to select from: the selection is a placeholder too.
        case 'Fn::Select': return resolve(args[1])[Number(resolve(args[0]))] ?? `<${JSON.stringify(value)}>`;
        case 'Fn::Split': return text(args[1]).split(args[0]);
        case 'Fn::Sub': {
          const [body, variables] = typeof args === 'string' ? [args, {}] : args;
          return body.replace(/\$\{([^}!]+)\}/g, (_: string, variable: string) => {
            if (variable in variables) return text(variables[variable]);
            if (variable.includes('.')) return `<${variable}>`;
            return text({ Ref: variable });
          });
        }
      }
      if (name.startsWith('Fn::')) throw new Error(`cannot evaluate ${name}`);
    }
    const result: Record<string, any> = {};
    for (const [key, item] of Object.entries(value)) {
      const resolved = resolve(item);
      if (resolved !== NO_VALUE) result[key] = resolved;
    }
    return result;
  };
  const resources: Record<string, any> = {};
  for (const [id, resource] of Object.entries<any>(template.Resources ?? {})) {
    if (resource.Condition !== undefined && !conditionValue(resource.Condition)) continue;
    resources[id] = { ...resource, Properties: resolve(resource.Properties ?? {}) };
  }
  return resources;
}
