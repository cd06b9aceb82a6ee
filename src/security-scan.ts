import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { validateSkipChecks } from './private/input-checks';
import { securityScanBuildSpec } from './private/pipeline-deploy';

/**
 * Options of the checkov scan.
 */
export interface CheckovScanOptions {
  /**
   * Checkov checks that the scan skips in every template (`--skip-check`), such as
   * `CKV_AWS_123`: the platform team's choice, which the deploy repository cannot change.
   *
   * @default - no check is skipped
   */
  readonly skipChecks?: string[];
}

/**
 * How the deploy pipeline scans the templates the deploy repository synthesizes, before any
 * stage deploys them (the `SecurityScan` action, after `Synth`).
 */
export abstract class SecurityScan {
  /**
   * Scan with checkov (pinned), failing the pipeline on any finding. The deploy repository
   * writes the templates, so the scan ignores the suppressions it could put in them (checkov's
   * `Metadata` skip entries and `checkov:skip=` comments) and any `.checkov.yaml` of the synth
   * output; skip checks with `skipChecks` instead.
   */
  public static checkov(options: CheckovScanOptions = {}): SecurityScan {
    validateSkipChecks('SecurityScan.checkov', options.skipChecks ?? [], 'skipChecks');
    return new BuildSpecScan(securityScanBuildSpec(options.skipChecks ?? []), 'Scans the synthesized CloudFormation templates with checkov');
  }

  /**
   * Run a build spec of your own on the synth output (`*.template.json` at the root of its input):
   * a failing build stops the pipeline before any deployment. The build runs with the deploy
   * pipeline's build image, compute type and environment variables.
   */
  public static fromBuildSpec(buildSpec: codebuild.BuildSpec): SecurityScan {
    return new BuildSpecScan(buildSpec, 'Scans the synthesized CloudFormation templates');
  }

  /**
   * No scan: the templates are deployed as synthesized. What a deployment may create is then
   * limited only by the target accounts' CloudFormation execution policy (`DeploymentTargetPolicy`).
   */
  public static none(): SecurityScan {
    return new NoScan();
  }

  /**
   * The build spec of the scan, and the description of its CodeBuild project.
   *
   * @returns undefined when nothing is scanned
   */
  public abstract bind(): SecurityScanConfig | undefined;
}

/**
 * What a `SecurityScan` runs.
 */
export interface SecurityScanConfig {
  /** Build spec of the scan's CodeBuild project; its input is the synth output. */
  readonly buildSpec: codebuild.BuildSpec;

  /** Description of the CodeBuild project. */
  readonly description: string;
}

class BuildSpecScan extends SecurityScan {
  constructor(private readonly buildSpec: codebuild.BuildSpec, private readonly description: string) {
    super();
  }

  public bind(): SecurityScanConfig {
    return { buildSpec: this.buildSpec, description: this.description };
  }
}

class NoScan extends SecurityScan {
  public bind(): undefined {
    return undefined;
  }
}
