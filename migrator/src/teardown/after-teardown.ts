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
    `Remove the legacy side from the app's environment (${STATIC_KEY_ENV.legacy.accessKeyId}, ${STATIC_KEY_ENV.legacy.secretAccessKey}, PHOTO_STORE_LEGACY_*): every instance runs PHOTO_STORE_MODE=new-only already (the runbook switches before the teardown), and with no legacy bucket to fall back to, PHOTO_STORE_TOMBSTONES=false may now end the tombstones on delete.`,
    `Delete the legacy keys' secrets: every copy of the legacy app user's access keys${legacyKeyIds.length ? ` (${legacyKeyIds.join(', ')}; the keys themselves were deleted with the user)` : ''} in secret stores, CI variables and config files.`,
    `Delete the codec's key: ${codecKey}; then remove the codec from the app.`,
    `Close the legacy account ${ws.legacy.accountId} (after checking nothing else lives in it): AWS Organizations CloseAccount, or the root user's Account page.`,
  ];
}
