/**
 * The Terraform steps of a teardown. The stacks read `force_destroy` from state, so an approved teardown is two steps:
 *   1. `cdktf deploy legacy-<env>` with the approval: lifts prevent_destroy and writes force_destroy into state;
 *   2. `cdktf destroy legacy-<env>` with the approval: empties and deletes the bucket, deletes the user and its keys
 *      and the reader role.
 * Both run `--skip-synth` on the output the gate synthesized and checked, with `--auto-approve` (the gate asked first).
 *
 * A dry run instead runs `terraform init` and `terraform plan -destroy` in the synthesized stack's folder: the destroy
 * plan, read-only, against the real state backend.
 */
import * as path from 'path';
import { ENV_VARS } from '../../../stacks/app';
import { cdktfCommand, terraformCommand, type Step } from './terraform-runner';

export function teardownSteps(args: { env: string; outdir: string; approvalFile: string; cwd: string }): Step[] {
  const stack = `legacy-${args.env}`;
  const env = { [ENV_VARS.teardownApproval]: path.resolve(args.approvalFile), [ENV_VARS.envs]: args.env };
  const common = ['--skip-synth', '--output', path.resolve(args.outdir), '--auto-approve'];
  return [
    {
      title: `deploy ${stack} with the approval (lifts prevent_destroy, sets force_destroy in state)`,
      command: cdktfCommand(),
      args: ['deploy', stack, ...common],
      cwd: args.cwd,
      env,
    },
    {
      title: `destroy ${stack} (empties and deletes the legacy bucket; deletes the legacy user, its keys and the reader role)`,
      command: cdktfCommand(),
      args: ['destroy', stack, ...common],
      cwd: args.cwd,
      env,
    },
  ];
}

export function dryRunSteps(args: { env: string; stackDir: string }): Step[] {
  const stack = `legacy-${args.env}`;
  return [
    {
      title: `terraform init of the approved ${stack}`,
      command: terraformCommand(),
      args: ['init', '-input=false'],
      cwd: args.stackDir,
      env: {},
    },
    {
      title: `the destroy plan of ${stack} (read-only)`,
      command: terraformCommand(),
      args: ['plan', '-destroy', '-input=false'],
      cwd: args.stackDir,
      env: {},
    },
  ];
}
