/**
 * AES-256-GCM as the legacy app wrote it with Python's `cryptography` AESGCM:
 *   nonce (12) | ciphertext | tag (16)
 * with optional additional authenticated data (none, the object key, or a fixed string).
 *
 * With one key it streams: the last 16 bytes are held back as the tag, and the plaintext stream fails before its
 * end whenever the tag does not verify, so a consumer that commits only on a clean end never commits bad bytes.
 * Memory stays at one chunk. With several keys (rotation) the right one is known only at the tag, so the object is
 * read whole (bounded by `maxObjectBytes`) and each key is tried in order.
 */
import { createCipheriv, createDecipheriv, randomBytes, type DecipherGCM } from 'crypto';
import { Transform, type Readable, type TransformCallback } from 'stream';
import { ConfigError } from '../../../workspaces/load';
import { CodecError, type Codec, type ObjectContext } from './codec';
import { decryptWhole } from './read-whole';

export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
export const OVERHEAD = NONCE_SIZE + TAG_SIZE;

export type AadSetting = 'none' | 'object-key' | { fixed: string };

export interface AesGcmOptions {
  readonly aad: AadSetting;
  /** With several keys the object is read whole: objects above this size are refused. */
  readonly maxObjectBytes: number;
}

/** Parses base64 or base64url 32-byte keys (newest first). Errors name the key's position, never its value. */
export function parseAesKeys(keys: readonly string[]): Buffer[] {
  if (keys.length === 0) throw new ConfigError('codec.keys: no AES-256-GCM key was given; give at least one 32-byte base64 key');
  return keys.map((text, i) => {
    const t = text.trim();
    const raw = /^[A-Za-z0-9+/_-]+={0,2}$/.test(t) ? Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64') : undefined;
    if (!raw || raw.length !== 32) {
      throw new ConfigError(`codec.keys: key ${i + 1} of ${keys.length} is not an AES-256 key (32 bytes, base64-encoded)`);
    }
    return raw;
  });
}

export function aadFor(setting: AadSetting, objectKey: string): Buffer | undefined {
  if (setting === 'none') return undefined;
  if (setting === 'object-key') return Buffer.from(objectKey, 'utf8');
  return Buffer.from(setting.fixed, 'utf8');
}

/** Encrypts like AESGCM(key).encrypt(nonce, data, aad), with the nonce put first. */
export function gcmEncrypt(key: Buffer, plaintext: Buffer, aad?: Buffer, nonce = randomBytes(NONCE_SIZE)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
  if (aad) cipher.setAAD(aad);
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** A streaming encryption of the same format, for large test objects (the seeder, the benchmark). */
export function gcmEncryptStream(key: Buffer, aad?: Buffer, nonce = randomBytes(NONCE_SIZE)): Transform {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
  if (aad) cipher.setAAD(aad);
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!started) {
        started = true;
        this.push(nonce);
      }
      done(null, cipher.update(chunk));
    },
    flush(done) {
      if (!started) this.push(nonce);
      const last = cipher.final();
      if (last.length) this.push(last);
      done(null, cipher.getAuthTag());
    },
  });
}

function tooShort(size: number): CodecError {
  return size === 0
    ? new CodecError('truncated', 'empty object: not even an AES-GCM nonce')
    : new CodecError('truncated', `object is ${size} bytes, shorter than an AES-GCM nonce and tag (${OVERHEAD})`);
}

const AUTH_FAILED = 'AES-GCM tag does not verify: wrong key, wrong AAD, tampered bytes, or not AES-GCM data';

/** Decrypts a whole blob, trying each key in order. */
export function gcmDecrypt(keys: readonly Buffer[], blob: Buffer, aad?: Buffer): Buffer {
  if (blob.length < OVERHEAD) throw tooShort(blob.length);
  const nonce = blob.subarray(0, NONCE_SIZE);
  const body = blob.subarray(NONCE_SIZE, blob.length - TAG_SIZE);
  const tag = blob.subarray(blob.length - TAG_SIZE);
  for (const key of keys) {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_SIZE });
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const out = decipher.update(body);
    try {
      return Buffer.concat([out, decipher.final()]);
    } catch {
      // try the next key
    }
  }
  throw new CodecError('auth', keys.length > 1 ? `${AUTH_FAILED} (tried ${keys.length} keys)` : AUTH_FAILED);
}

/**
 * The streaming decryption with one key: holds back the last TAG_SIZE bytes, verifies at flush, and errors
 * (instead of ending) when the tag is wrong or the stream is shorter than `expectedSize`.
 */
class GcmDecryptStream extends Transform {
  private decipher?: DecipherGCM;
  private head: Buffer[] = [];
  private headLength = 0;
  private tail = Buffer.alloc(0);
  private total = 0;

  constructor(
    private readonly key: Buffer,
    private readonly aad: Buffer | undefined,
    private readonly expectedSize: number | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    if (!this.decipher) {
      this.head.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength < NONCE_SIZE) return done();
      const first = Buffer.concat(this.head, this.headLength);
      this.head = [];
      this.decipher = createDecipheriv('aes-256-gcm', this.key, first.subarray(0, NONCE_SIZE), { authTagLength: TAG_SIZE });
      if (this.aad) this.decipher.setAAD(this.aad);
      chunk = first.subarray(NONCE_SIZE);
    }
    // Everything but the last TAG_SIZE bytes seen so far is ciphertext.
    const pending = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    const cut = Math.max(0, pending.length - TAG_SIZE);
    this.tail = Buffer.from(pending.subarray(cut));
    done(null, cut > 0 ? this.decipher.update(pending.subarray(0, cut)) : undefined);
  }

  override _flush(done: TransformCallback): void {
    if (this.expectedSize !== undefined && this.total < this.expectedSize) {
      return done(new CodecError('truncated', `object ended after ${this.total} of ${this.expectedSize} bytes`));
    }
    if (!this.decipher || this.tail.length < TAG_SIZE) return done(tooShort(this.total));
    this.decipher.setAuthTag(this.tail);
    try {
      const last = this.decipher.final();
      done(null, last.length ? last : undefined);
    } catch {
      done(new CodecError('auth', AUTH_FAILED));
    }
  }
}

export class AesGcmCodec implements Codec {
  readonly name = 'aes-256-gcm';
  private readonly keys: Buffer[];

  constructor(
    keys: readonly string[],
    private readonly opts: AesGcmOptions,
  ) {
    this.keys = parseAesKeys(keys);
  }

  decrypt(stored: Readable, ctx: ObjectContext): Readable {
    const aad = aadFor(this.opts.aad, ctx.key);
    if (this.keys.length === 1) {
      const out = new GcmDecryptStream(this.keys[0], aad, ctx.size);
      stored.on('error', (err) => out.destroy(err));
      return stored.pipe(out);
    }
    return decryptWhole(stored, this.opts.maxObjectBytes, ctx.size, (blob) => gcmDecrypt(this.keys, blob, aad));
  }

  plaintextSize(storedSize: number): number | undefined {
    return storedSize >= OVERHEAD ? storedSize - OVERHEAD : undefined;
  }

  encrypt(plaintext: Buffer, ctx: ObjectContext): Buffer {
    return gcmEncrypt(this.keys[0], plaintext, aadFor(this.opts.aad, ctx.key));
  }
}
