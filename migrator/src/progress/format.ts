/** How progress lines and summaries spell durations (sizes: formatBytes in workspaces/units.ts). */

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** The time left for a progress bar: "-" until a rate is known. */
export function timeLeft(seconds: number | null): string {
  return seconds === null ? '-' : formatDuration(seconds);
}
