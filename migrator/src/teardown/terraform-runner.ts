/**
 * How the gate runs Terraform: each step is a command, its arguments, a folder and extra environment variables; the
 * runner is injected, so the tests record the steps instead of calling AWS. The real runner spawns the command with
 * the terminal attached (Terraform's plan and progress go straight to the operator).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { QUIET_CLI_ENV } from '../../../stacks/backend';
import { repoRoot } from '../../../workspaces/load';

export interface Step {
  /** What the step does, for people. */
  readonly title: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Added to the process environment. */
  readonly env: Readonly<Record<string, string>>;
}

export interface StepResult {
  readonly code: number;
}

export type StepRunner = (step: Step) => Promise<StepResult>;

/** The project's own cdktf CLI (node_modules/.bin), else `cdktf` on PATH; BUCKETMOVE_CDKTF overrides. */
export function cdktfCommand(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BUCKETMOVE_CDKTF) return env.BUCKETMOVE_CDKTF;
  const local = path.join(repoRoot(), 'node_modules', '.bin', 'cdktf');
  return fs.existsSync(local) ? local : 'cdktf';
}

/** `terraform` on PATH; BUCKETMOVE_TERRAFORM overrides. */
export function terraformCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.BUCKETMOVE_TERRAFORM ?? 'terraform';
}

/** Shell-quoted, for printing what runs (or would run). */
export function commandLine(step: Step): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const env = Object.entries(step.env).map(([k, v]) => `${k}=${q(v)}`);
  const command = path.isAbsolute(step.command) ? path.relative(step.cwd, step.command) : step.command;
  return [...env, q(command), ...step.args.map(q)].join(' ');
}

/**
 * Spawns the step with stdio inherited; resolves with its exit code (127 when it cannot be started). The CLI's update,
 * version and telemetry checks are off (stacks/backend.ts QUIET_CLI_ENV) unless the operator's environment says.
 */
export const spawnRunner: StepRunner = (step) =>
  new Promise((resolve) => {
    const child = spawn(step.command, [...step.args], {
      cwd: step.cwd,
      env: { ...QUIET_CLI_ENV, ...process.env, ...step.env },
      stdio: 'inherit',
    });
    child.on('error', () => resolve({ code: 127 }));
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 + 15 : 1) }));
  });
