import { Aws, Fn, Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { ResolvedStage } from './stages';

/** `dev` → `Dev`, `preprod` → `PreProd`, `eu-prod` → `EuProd`: the suffix of stage and action names. */
export function pascalStageName(stageName: string): string {
  return stageName
    .split('-')
    .filter(part => part.length > 0)
    .map(part => part === 'preprod' ? 'PreProd' : part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** The CDK bootstrap roles of a stage that the deploy pipeline uses. */
export interface BootstrapRoleArns {
  /** `deploy-role`: CloudFormation calls. */
  readonly actionRoleArn: string;
  /** `cfn-exec-role`: what CloudFormation deploys with. */
  readonly deploymentRoleArn: string;
  /** `file-publishing-role`: writes the stage's file assets into the bootstrap bucket. */
  readonly filePublishingRoleArn: string;
}

/**
 * The CDK bootstrap roles of a stage's account and region.
 *
 * Rendered as `Fn::Sub`, which cfn-lint's schema accepts for a CloudFormation action's `RoleArn`
 * (CDK renders a string with tokens as `Fn::Join`).
 */
export function bootstrapRoleArns(stage: ResolvedStage, qualifier: string): BootstrapRoleArns {
  const variables: Record<string, string> = {};
  const part = (name: string, value: string): string => {
    if (value === Aws.ACCOUNT_ID) return '${AWS::AccountId}';
    if (value === Aws.REGION) return '${AWS::Region}';
    if (!Token.isUnresolved(value)) return value;
    variables[name] = value;
    return `\${${name}}`;
  };
  const account = part('Account', stage.account);
  const role = `cdk-${part('Qualifier', qualifier)}`;
  const suffix = `${account}-${part('Region', stage.region)}`;
  const arn = (kind: string) => Fn.sub(`arn:\${AWS::Partition}:iam::${account}:role/${role}-${kind}-${suffix}`,
    Object.keys(variables).length > 0 ? variables : undefined);
  return {
    actionRoleArn: arn('deploy-role'),
    deploymentRoleArn: arn('cfn-exec-role'),
    filePublishingRoleArn: arn('file-publishing-role'),
  };
}

/**
 * The checkov release the scan installs, pinned: a scan whose rules change from one run to the
 * next (or whose package is replaced on the index) would fail or pass a deployment unasked.
 * checkov's own dependencies are resolved by pip within checkov's declared ranges. Raise it
 * deliberately; `.ci/seed-code-tests.sh` reads this line and scans the seed code with the same version.
 */
export const CHECKOV_VERSION = 'checkov==3.3.30';

/**
 * The CDK tool that publishes a stage's file assets (`<stage>.assets.json`) into its account and
 * region before the stage is deployed there, as `cdk deploy` does; pinned, as the scanner is.
 */
export const CDK_ASSETS_VERSION = 'cdk-assets@4.7.3';

/**
 * What the scan runs before checkov: a copy of each template without the suppressions the deploy
 * repository could write into it (checkov has no flag to ignore inline suppressions). It drops
 * the `checkov` and `bridgecrew` entries of every resource's `Metadata`, and defuses the
 * `checkov:skip=`, `bridgecrew:skip=` and `cortex:skip=` comments checkov also reads in any
 * line of a resource. A template that is not JSON (CloudFormation would also take YAML) fails
 * the scan. Written one line per `printf` argument, so it holds no single quote.
 */
const STRIP_SUPPRESSIONS_PY = [
  'import json, os, re, sys',
  'out = sys.argv[1]',
  'mark = re.compile(r"(checkov|bridgecrew|cortex):skip=", re.IGNORECASE)',
  'def clean(node):',
  '    if isinstance(node, dict):',
  '        return {clean(k): clean(v) for k, v in node.items()}',
  '    if isinstance(node, list):',
  '        return [clean(v) for v in node]',
  '    if isinstance(node, str):',
  '        return mark.sub(lambda m: m.group(1) + "-skip-ignored=", node)',
  '    return node',
  'for name in sys.argv[2:]:',
  '    with open(name) as f:',
  '        template = json.load(f)',
  '    resources = template.get("Resources") if isinstance(template, dict) else None',
  '    for resource in (resources or {}).values():',
  '        metadata = resource.get("Metadata") if isinstance(resource, dict) else None',
  '        if isinstance(metadata, dict):',
  '            for key in [k for k in metadata if str(k).lower() in ("checkov", "bridgecrew")]:',
  '                del metadata[key]',
  '    with open(os.path.join(out, os.path.basename(name)), "w") as f:',
  '        json.dump(clean(template), f, indent=1)',
];

/**
 * Build spec that scans the synthesized templates (`*.template.json`) with checkov and
 * fails on any finding.
 *
 * The deploy repository writes the templates, so the scan ignores what it could use to silence
 * checkov: suppressions in the templates are removed from the copies scanned (see
 * `STRIP_SUPPRESSIONS_PY`), and checkov runs in a directory of its own, where no `.checkov.yaml`
 * from the synth output is read. The scan remains a check of what the repository synthesizes;
 * what a deployment may create is decided by the target accounts' CloudFormation execution policy
 * (`DeploymentTargetPolicy`).
 */
export function securityScanBuildSpec(skipChecks: string[] = []): codebuild.BuildSpec {
  const skip = skipChecks.length > 0 ? ` --skip-check ${skipChecks.join(',')}` : '';
  return codebuild.BuildSpec.fromObject({
    version: '0.2',
    env: { shell: 'bash' },
    phases: {
      install: {
        commands: [
          // A virtual environment keeps checkov's dependencies off the image's Python.
          'python3 -m venv /tmp/checkov',
          `/tmp/checkov/bin/pip install --quiet '${CHECKOV_VERSION}'`,
          `printf '%s\\n' ${STRIP_SUPPRESSIONS_PY.map(line => `'${line}'`).join(' ')} > /tmp/strip_suppressions.py`,
        ],
      },
      build: {
        commands: [
          // One command: arrays and shell options do not outlive a command line.
          [
            'shopt -s nullglob',
            'templates=(*.template.json)',
            'if [ ${#templates[@]} -eq 0 ]; then echo "No *.template.json in the synth output" >&2; exit 1; fi',
            'scan=$(mktemp -d)',
            'if ! /tmp/checkov/bin/python /tmp/strip_suppressions.py "$scan" "${templates[@]}"; then echo "The synth output holds a template that is not JSON" >&2; exit 1; fi',
            'cd "$scan" || exit 1',
            'args=()',
            'for t in "${templates[@]}"; do args+=(--file "$t"); done',
            `/tmp/checkov/bin/checkov --framework cloudformation --compact --quiet${skip} "\${args[@]}"`,
          ].join('; '),
        ],
      },
    },
  });
}
