/** What the gate cannot do and people must, once the legacy stack is destroyed (the contract phase's last steps). */
import type { LoadedWorkspace } from '../../../workspaces/load';
import { STATIC_KEY_ENV } from '../aws/credentials';

export function remainingWork(ws: LoadedWorkspace): string[] {
  const keys = ws.codec.keys;
  const codecKey = !keys
    ? "the codec plug-in's key material"
    : 'env' in keys
      ? `the environment variable ${keys.env} everywhere it is set (app hosts, CI, the migrator's machine) and the key's master copy`
      : `the Secrets Manager secret "${keys.secretsManager}" (delete-secret; it holds the codec's keys)`;
  const legacyKeyIds = ws.legacy.appUser.accessKeyIds;
  return [
    `Switch the store to new-only (the fallback and the codec are then not even loaded) and redeploy the app; remove ${STATIC_KEY_ENV.legacy.accessKeyId} and ${STATIC_KEY_ENV.legacy.secretAccessKey} from its environment.`,
    `Delete the legacy keys' secrets: every copy of the legacy app user's access keys${legacyKeyIds.length ? ` (${legacyKeyIds.join(', ')}; the keys themselves were deleted with the user)` : ''} in secret stores, CI variables and config files.`,
    `Delete the codec's key: ${codecKey}; then remove the codec from the app.`,
    `Close the legacy account ${ws.legacy.accountId} (after checking nothing else lives in it): AWS Organizations CloseAccount, or the root user's Account page.`,
  ];
}
