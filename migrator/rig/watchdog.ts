/**
 * The rig's watchdog (started detached by rig.ts): `watchdog.ts OWNER_PID DIR PIDS_JSON`. Once the owner process is
 * gone it SIGKILLs the rig's daemons (only those /proc still shows as ours) and removes the rig's directory; once the
 * daemons are gone (the rig was stopped normally) it just exits.
 */
import { expectedComm, isOurs, killDaemons, removeRigDir, waitGone } from './cluster';

const [ownerArg, dir, pidsJson] = process.argv.slice(2);
const owner = Number(ownerArg);
const pids = JSON.parse(pidsJson ?? '{}') as Record<string, number>;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const timer = setInterval(() => {
  const daemonsLeft = Object.entries(pids).some(([role, pid]) => isOurs(pid, expectedComm(role) ?? '', dir));
  if (!daemonsLeft) process.exit(0);
  if (alive(owner)) return;
  clearInterval(timer);
  void waitGone(killDaemons(pids, dir)).then(() => {
    removeRigDir(dir);
    process.exit(0);
  });
}, 500);
