/**
 * The cdktf app: `primary-<env>` and `legacy-<env>` for every workspace with target "aws" (see stacks/app.ts for the
 * inputs: BUCKETMOVE_ENVS, BUCKETMOVE_BACKEND, BUCKETMOVE_TEARDOWN_APPROVAL or the matching cdktf context keys).
 *
 * Bad input (a workspace file, an approval, a setting) ends the process with its one-line message and exit code 1,
 * before anything is written to the output folder.
 */
import { App } from 'cdktf';
import { ConfigError } from './workspaces/errors';
import { addStacks, resolveSynthOptions } from './stacks/app';

function main(): void {
  const app = new App();
  addStacks(app, resolveSynthOptions(app));
  app.synth();
}

try {
  main();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`bucketmove: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
