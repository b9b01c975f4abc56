/**
 * Object sizes for the seeder (`--size`): a fixed size ("64KiB", "0", "1.5MiB"), a range drawn log-uniformly
 * ("10KiB-2MiB"), or a named distribution:
 *
 * - `photos` (default): what a chat app's photo bucket holds: 97% between 50 KiB and 5 MiB (log-uniform: many
 *   hundreds of KiB, fewer near 5 MiB), 3% large, 5 MiB to 40 MiB (multipart territory).
 * - `small`: 1 KiB to 64 KiB, for many-keys runs.
 * - `large`: 8 MiB to 64 MiB.
 *
 * Sizes are of the plaintext (the photo); the stored object is larger by the codec's overhead (Fernet text: about 4/3).
 */
import { SeededRandom } from './random';
import { formatBytes, KIB, MIB } from '../../../workspaces/units';

/** The largest size the seeder accepts (it holds each object and its ciphertext in memory). */
export const MAX_SEED_SIZE = 2 * 1024 * MIB;

export type SizeSpec =
  | { readonly kind: 'fixed'; readonly bytes: number; readonly label: string }
  | {
      readonly kind: 'mix';
      readonly label: string;
      readonly bands: ReadonlyArray<{ weight: number; min: number; max: number }>;
    };

export const NAMED_SIZES: Record<string, SizeSpec> = {
  photos: {
    kind: 'mix',
    label: 'photos',
    bands: [
      { weight: 0.97, min: 50 * KIB, max: 5 * MIB },
      { weight: 0.03, min: 5 * MIB, max: 40 * MIB },
    ],
  },
  small: { kind: 'mix', label: 'small', bands: [{ weight: 1, min: KIB, max: 64 * KIB }] },
  large: { kind: 'mix', label: 'large', bands: [{ weight: 1, min: 8 * MIB, max: 64 * MIB }] },
};

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: KIB,
  kb: 1000,
  kib: KIB,
  m: MIB,
  mb: 1e6,
  mib: MIB,
  g: 1024 * MIB,
  gb: 1e9,
  gib: 1024 * MIB,
};

/** Parses "64KiB", "1.5MiB", "300kb", "0" into bytes; undefined if it is not a size. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Parses `--size`; throws a RangeError with a one-line message saying what is accepted. */
export function parseSizeSpec(text: string): SizeSpec {
  const named = NAMED_SIZES[text.trim().toLowerCase()];
  if (named) return named;
  const range = /^(.+?)-(.+)$/.exec(text.trim());
  if (range) {
    const min = parseBytes(range[1]);
    const max = parseBytes(range[2]);
    if (min !== undefined && max !== undefined) {
      if (min > max) throw new RangeError(`--size ${text}: the lower bound is above the upper one`);
      if (max > MAX_SEED_SIZE) throw new RangeError(`--size ${text}: at most ${formatBytes(MAX_SEED_SIZE)} per object`);
      return { kind: 'mix', label: `${formatBytes(min)}-${formatBytes(max)}`, bands: [{ weight: 1, min, max }] };
    }
  }
  const bytes = parseBytes(text);
  if (bytes === undefined) {
    throw new RangeError(
      `--size "${text}" is not a size: give bytes with a unit (64KiB, 1.5MiB, 0), a range (10KiB-2MiB) or a distribution (${Object.keys(NAMED_SIZES).join(', ')})`,
    );
  }
  if (bytes > MAX_SEED_SIZE) throw new RangeError(`--size ${text}: at most ${formatBytes(MAX_SEED_SIZE)} per object`);
  return { kind: 'fixed', bytes, label: formatBytes(bytes) };
}

/** The largest size a spec can draw. */
export function maxSize(spec: SizeSpec): number {
  return spec.kind === 'fixed' ? spec.bytes : Math.max(...spec.bands.map((b) => b.max));
}

/** Draws one size: a band by weight, then log-uniformly within it (uniformly when it starts at 0). */
export function drawSize(spec: SizeSpec, rng: SeededRandom): number {
  if (spec.kind === 'fixed') return spec.bytes;
  let pick = rng.next() * spec.bands.reduce((sum, b) => sum + b.weight, 0);
  let band = spec.bands[spec.bands.length - 1];
  for (const b of spec.bands) {
    if ((pick -= b.weight) < 0) {
      band = b;
      break;
    }
  }
  const u = rng.next();
  if (band.min === 0) return Math.round(u * band.max);
  return Math.min(band.max, Math.round(Math.exp(Math.log(band.min) + u * (Math.log(band.max) - Math.log(band.min)))));
}
