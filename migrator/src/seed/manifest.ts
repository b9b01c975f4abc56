/**
 * The seed manifest: for every object the seeder wrote, its key and what its plaintext must be (size and SHA-256), so
 * tests and benchmarks can check a migration end to end. It holds no key material: the codec is named, not its keys.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';

const entry = z.strictObject({
  key: z.string(),
  /** Plaintext bytes. */
  size: z.number().int().nonnegative(),
  /** Plaintext SHA-256, hex. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Stored (ciphertext) bytes. */
  storedSize: z.number().int().nonnegative(),
  /** False for objects stored as they are (not encrypted by the legacy codec). */
  encrypted: z.boolean(),
  contentType: z.string().optional(),
  metadata: z.record(z.string(), z.string()),
  /** Why the key is an odd one, if it is. */
  odd: z.string().optional(),
});

export const manifestSchema = z.strictObject({
  version: z.literal(1),
  bucket: z.string(),
  endpoint: z.string().optional(),
  codec: z.string(),
  seed: z.string(),
  createdAt: z.string(),
  objects: z.array(entry),
});

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestEntry = z.output<typeof entry>;

/** Writes the manifest atomically (a temp file renamed into place), creating its folder. */
export function writeManifest(file: string, manifest: Manifest): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(manifestSchema.parse(manifest), null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export function readManifest(file: string): Manifest {
  return manifestSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
}
