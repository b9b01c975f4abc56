/**
 * The Lambda runtimes the stacks may name, with the dates AWS stops supporting them, and the synth-time check of a
 * runtime against a clock.
 *
 * Source: AWS Lambda Developer Guide, "Lambda runtimes"
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html) and "Building Lambda functions with Node.js"
 * (lambda-nodejs.html), the table "Deprecation date / Block function create / Block function update", as read on
 * 2026-11-30. AWS calls the dates projected and may move them: when it does, change them here (one place), and the
 * synth check follows.
 *
 * - deprecation: no more security patches; functions keep running.
 * - blockCreate: from this day CreateFunction refuses the runtime, so a first deploy (or a replaced function) fails.
 * - blockUpdate: from this day UpdateFunctionCode/Configuration refuse it too, so no deploy of a change can succeed.
 *
 * Synth refuses a runtime whose creation is blocked (one line naming the date) and warns within
 * DEPRECATION_WARNING_DAYS of its deprecation, so the move to a newer runtime is made before a deploy breaks.
 */
import { ConfigError } from '../workspaces/errors';

export interface RuntimeDates {
  /** The Node.js major version the runtime runs (the bundle's esbuild target, the test's Node). */
  readonly nodeMajor: number;
  /** YYYY-MM-DD (UTC). */
  readonly deprecation: string;
  readonly blockCreate: string;
  readonly blockUpdate: string;
}

export const LAMBDA_RUNTIMES = {
  'nodejs20.x': { nodeMajor: 20, deprecation: '2026-04-30', blockCreate: '2026-08-31', blockUpdate: '2026-09-30' },
  'nodejs22.x': { nodeMajor: 22, deprecation: '2027-04-30', blockCreate: '2027-06-01', blockUpdate: '2027-07-01' },
  'nodejs24.x': { nodeMajor: 24, deprecation: '2028-04-30', blockCreate: '2028-06-01', blockUpdate: '2028-07-01' },
} as const satisfies Record<string, RuntimeDates>;

export type LambdaRuntime = keyof typeof LAMBDA_RUNTIMES;

/** How long before a runtime's deprecation synth starts to warn. */
export const DEPRECATION_WARNING_DAYS = 90;

const DAY_MS = 86_400_000;
const day = (ymd: string) => Date.parse(`${ymd}T00:00:00Z`);

/** The dates of a runtime, or a one-line ConfigError for a runtime this table does not know. */
export function runtimeDates(runtime: string): RuntimeDates {
  const dates = (LAMBDA_RUNTIMES as Record<string, RuntimeDates>)[runtime];
  if (!dates) {
    throw new ConfigError(
      `Lambda runtime ${runtime} is not in stacks/lambda-runtimes.ts (known: ${Object.keys(LAMBDA_RUNTIMES).join(', ')}): add its dates from AWS's "Lambda runtimes" page`,
    );
  }
  return dates;
}

/** The esbuild target of a runtime's bundle ("node22" for nodejs22.x). */
export function esbuildTarget(runtime: string): string {
  return `node${runtimeDates(runtime).nodeMajor}`;
}

/**
 * Checks `runtime` at `now`: throws a one-line ConfigError once AWS blocks creating functions with it; returns a
 * one-line warning within DEPRECATION_WARNING_DAYS of its deprecation (and after it, until creation is blocked);
 * undefined otherwise. `what` names the function(s) in the messages.
 */
export function checkRuntime(runtime: string, now: Date, what: string): string | undefined {
  const d = runtimeDates(runtime);
  const t = now.getTime();
  if (t >= day(d.blockCreate)) {
    const updates =
      t >= day(d.blockUpdate) ? `and updates since ${d.blockUpdate}` : `and updates from ${d.blockUpdate}`;
    throw new ConfigError(
      `${what}: AWS Lambda blocks creating functions with runtime ${runtime} since ${d.blockCreate} (${updates}): move to a newer runtime in stacks/lambda-bundle.ts`,
    );
  }
  const days = Math.ceil((day(d.deprecation) - t) / DAY_MS);
  if (days > DEPRECATION_WARNING_DAYS) return undefined;
  const when =
    days > 0
      ? `is deprecated on ${d.deprecation} (in ${days} day${days === 1 ? '' : 's'})`
      : `has been deprecated since ${d.deprecation}`;
  return `${what}: Lambda runtime ${runtime} ${when}; creating functions with it is blocked from ${d.blockCreate}: move to a newer runtime in stacks/lambda-bundle.ts`;
}
