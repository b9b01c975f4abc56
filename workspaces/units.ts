/** Byte units, and sizes spelt the way people read them, for every layer (stacks, runtime, rig, benches). */

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const GIB = 1024 * MIB;

/** Bytes in the way people read them: 512 B, 64 KiB, 1.5 MiB, 1.25 GiB. */
export function formatBytes(bytes: number): string {
  if (bytes < KIB) return `${bytes} B`;
  if (bytes < MIB) return `${+(bytes / KIB).toFixed(1)} KiB`;
  if (bytes < GIB) return `${+(bytes / MIB).toFixed(1)} MiB`;
  return `${+(bytes / GIB).toFixed(2)} GiB`;
}
