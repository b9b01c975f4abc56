/** Runs the legacy app's encryption in Python's `cryptography` (the reference implementation) from a test. */
import { spawnSync } from 'child_process';
import * as path from 'path';

const SCRIPT = path.join(__dirname, 'legacy_crypto.py');

export type LegacyOp = 'fernet-encrypt' | 'fernet-decrypt' | 'gcm-encrypt' | 'gcm-decrypt';

export interface PythonResult {
  readonly status: number;
  readonly output: Buffer;
}

export function runLegacyPython(op: LegacyOp, input: Buffer, keys: readonly string[], aad?: string): PythonResult {
  const env: NodeJS.ProcessEnv = { ...process.env, LEGACY_KEYS: keys.join(',') };
  if (aad !== undefined) env.LEGACY_AAD = aad;
  const res = spawnSync('python3', [SCRIPT, op], { input, env, maxBuffer: 512 * 1024 * 1024 });
  if (res.error) throw res.error;
  if (res.status !== 0 && res.status !== 3) throw new Error(`legacy_crypto.py ${op} failed: ${res.stderr.toString()}`);
  return { status: res.status ?? -1, output: res.stdout };
}

/** Python's output, or a failure if Python refused the input. */
export function legacyPython(op: LegacyOp, input: Buffer, keys: readonly string[], aad?: string): Buffer {
  const res = runLegacyPython(op, input, keys, aad);
  if (res.status !== 0) throw new Error(`Python's cryptography refused the input (${op})`);
  return res.output;
}
