/**
 * The Secrets Manager rotation function of a primary stack (stacks/key-rotation.ts): Secrets Manager invokes it once
 * per step of a rotation of a credentials secret, with {SecretId, ClientRequestToken, Step} (Secrets Manager User
 * Guide, "Rotation by Lambda function", "Lambda rotation function"), and it runs that step of rotation-steps.ts:
 *
 * - createSecret, setSecret, testSecret: as `npm run keys -- rotate` does;
 * - finishSecret: the new key becomes AWSCURRENT; then (app user) it is written into the app's Terraform Cloud
 *   workspaces with the token in `terraformCloud.app.tokenSecret`. The old key stays usable, so that an app that reads
 *   its key when it starts keeps working until it restarts; the next rotation's createSecret deletes it, a rotation
 *   period (primary.keyRotation.afterDays, at most 45) later. `npm run keys -- finish` retires it sooner.
 *
 * Like the AWS rotation function templates, it first checks that the secret has rotation enabled and that the token
 * names a version staged for this rotation. The user is the one whose credentials secret this is (by name); a secret
 * of anyone else is refused. BUCKETMOVE_WORKSPACE holds the workspace (as for the Batch Operations function).
 */
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { WORKSPACE_ENV_VAR } from '../../../workspaces/batch-layout';
import { keyUsers } from '../../../workspaces/key-layout';
import { parseWorkspaceJson } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { createLogger, type Logger } from '../log';
import { STAGE } from './credentials-secret';
import { pushToTerraformCloud, type TerraformCloudWrite } from './rotate';
import { createSecret, finishSecret, setSecret, testSecret } from './rotation-steps';
import { rotationTarget, type TargetOptions } from './rotation-target';
import { DEFAULT_TFC_HOSTNAME } from './terraform-cloud';

export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
}

export interface RotationHandlerOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: Logger;
  /** Test seams: the caller's credentials, the clock, the pause between proofs, fetch for Terraform Cloud. */
  readonly target?: Omit<TargetOptions, 'log' | 'secretId'>;
  readonly fetch?: typeof fetch;
}

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

export function createRotationHandler(o: RotationHandlerOptions = {}): (event: RotationEvent) => Promise<void> {
  const log = o.log ?? createLogger({ name: 'bucketmove-key-rotation' });
  return async (event) => {
    if (
      !event ||
      typeof event.SecretId !== 'string' ||
      typeof event.ClientRequestToken !== 'string' ||
      !STEPS.includes(event.Step)
    ) {
      throw new Error(
        'invalid rotation event: expected {SecretId, ClientRequestToken, Step: createSecret|setSecret|testSecret|finishSecret}',
      );
    }
    const env = o.env ?? process.env;
    const text = env[WORKSPACE_ENV_VAR];
    if (!text) throw new ConfigError(`${WORKSPACE_ENV_VAR} is not set: give the function the workspace JSON`);
    const ws = parseWorkspaceJson(text, WORKSPACE_ENV_VAR);

    // Which user: the secret must be one of this workspace's credentials secrets.
    const probe = rotationTarget(ws, 'app', { ...o.target, log, secretId: event.SecretId });
    let described;
    try {
      described = await probe.secrets.send(new DescribeSecretCommand({ SecretId: event.SecretId }));
    } finally {
      probe.destroy();
    }
    const owner = keyUsers(ws).find((u) => u.secretName === described.Name);
    if (!owner)
      throw new Error(
        `secret ${described.Name ?? event.SecretId} is not a credentials secret of env ${ws.env} (${keyUsers(ws)
          .map((u) => u.secretName)
          .join(', ')})`,
      );
    if (!described.RotationEnabled) throw new Error(`secret ${described.Name} does not have rotation enabled`);
    const stages = described.VersionIdsToStages?.[event.ClientRequestToken];
    if (!stages)
      throw new Error(`secret ${described.Name} has no version ${event.ClientRequestToken} staged for rotation`);
    if (stages.includes(STAGE.current)) {
      log.info(
        { event: 'keys.rotation', step: event.Step, user: owner.userName, token: event.ClientRequestToken },
        `${event.Step}: this version is current already`,
      );
      return;
    }
    if (!stages.includes(STAGE.pending))
      throw new Error(`secret ${described.Name}'s version ${event.ClientRequestToken} is not AWSPENDING`);

    const t = {
      ...rotationTarget(ws, owner.user, { ...o.target, log, secretId: event.SecretId }),
      replacePrevious: true,
    };
    try {
      switch (event.Step) {
        case 'createSecret':
          return await createSecret(t, event.ClientRequestToken);
        case 'setSecret':
          return await setSecret(t, event.ClientRequestToken);
        case 'testSecret':
          return await testSecret(t, event.ClientRequestToken);
        case 'finishSecret': {
          await finishSecret(t, event.ClientRequestToken);
          const app = ws.terraformCloud?.app;
          if (owner.user === 'app' && app?.tokenSecret && ws.terraformCloud) {
            const tokenSecret = app.tokenSecret;
            const token = (
              await t.secrets.send(new GetSecretValueCommand({ SecretId: tokenSecret }))
            ).SecretString?.trim();
            if (!token) throw new Error(`secret ${tokenSecret} holds no Terraform Cloud token`);
            const write: TerraformCloudWrite = {
              app: {
                baseUrl: `https://${ws.terraformCloud.hostname ?? DEFAULT_TFC_HOSTNAME}`,
                organization: ws.terraformCloud.organization,
                workspaces: app.workspaces,
                variables: app.variables,
                category: app.category,
              },
              token: () => token,
              fetch: o.fetch,
            };
            await pushToTerraformCloud(t, write, (line) =>
              log.info({ event: 'keys.terraform-cloud', user: owner.userName }, line),
            );
          }
          return;
        }
      }
    } finally {
      t.destroy();
    }
  };
}

/** The function's entry point (esbuild bundles this export). */
export const handler = createRotationHandler();
