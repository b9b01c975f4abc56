/** Jest global teardown of the `integration` project: stops the rig global-setup.ts started (never an external one). */
import { stopRig } from '../../../migrator/rig/rig';
import { killTestRigNow } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const rig = globalThis.__bucketmoveTestRig;
  if (!rig?.owned) return;
  try {
    await stopRig(rig.statePath);
  } finally {
    // Whatever stopRig could not do (an unreadable state file), the recorded PIDs and directory still are.
    killTestRigNow();
  }
}
