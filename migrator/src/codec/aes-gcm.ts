/**
 * AES-256-GCM as the legacy app wrote it with Python's `cryptography` AESGCM:
 *   nonce (12) | ciphertext | tag (16)
 * with optional additional authenticated data (none, the object key, or a fixed string).
 *
 * With one key it streams: the last 16 bytes are held back as the tag, and the plaintext stream fails before its
 * end whenever the tag does not verify, so a consumer that commits only on a clean end never commits bad bytes.
 * Memory stays at one chunk. With several keys (rotation) the right one is known only at the tag: every key's tag is
 * computed as the bytes arrive, a small object is kept whole meanwhile and a large one is read twice (several-keys.ts);
 * `maxObjectBytes` bounds only a whole read. Keys are tried in order.
 */
import { createCipheriv, createDecipheriv, randomBytes, type DecipherGCM } from 'crypto';
import { Transform, type Readable } from 'stream';
import { pipeInto } from '../pipe-into';
import { decryptMemoryNeed, type DecryptMemory } from '../../../workspaces/codec-memory';
import { ConfigError } from '../../../workspaces/errors';
import { CodecError, type Codec, type ObjectContext } from './codec';
import { HoldBack } from './hold-back';
import { ReaderStream, type ChunkReader } from './reader-stream';
import { decryptWithSeveralKeys, type SeveralKeysFormat } from './several-keys';

export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
export const OVERHEAD = NONCE_SIZE + TAG_SIZE;

export type AadSetting = 'none' | 'object-key' | { fixed: string };

export interface AesGcmOptions {
  readonly aad: AadSetting;
  /** With several keys and no second read possible, objects are read whole: those above this size are refused. */
  readonly maxObjectBytes: number;
}

/** Parses base64 or base64url 32-byte keys (newest first). Errors name the key's position, never its value. */
export function parseAesKeys(keys: readonly string[]): Buffer[] {
  if (keys.length === 0)
    throw new ConfigError('codec.keys: no AES-256-GCM key was given; give at least one 32-byte base64 key');
  return keys.map((text, i) => {
    const t = text.trim();
    const raw = /^[A-Za-z0-9+/_-]+={0,2}$/.test(t)
      ? Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : undefined;
    if (!raw || raw.length !== 32) {
      throw new ConfigError(
        `codec.keys: key ${i + 1} of ${keys.length} is not an AES-256 key (32 bytes, base64-encoded)`,
      );
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

/**
 * Reads one object chunk by chunk: the nonce first, then the ciphertext into one decipher per key, holding back the
 * last TAG_SIZE bytes (hold-back.ts) as the tag. With `emit`, the first key's plaintext is emitted as it is decrypted
 * (one key: the stream); without, the plaintexts are dropped and only the tags count (several keys: finding the key).
 */
class GcmReader implements ChunkReader {
  storedBytes = 0;
  private readonly nonce = Buffer.alloc(NONCE_SIZE);
  private nonceLength = 0;
  private deciphers: DecipherGCM[] = [];
  private readonly body = new HoldBack(TAG_SIZE, (bytes) => this.ciphertext(bytes));

  constructor(
    private readonly keys: readonly Buffer[],
    private readonly aad: Buffer | undefined,
    private readonly emit?: (plaintext: Buffer) => void,
    private readonly keep?: (stored: Buffer) => void,
  ) {}

  write(chunk: Buffer): void {
    if (!chunk.length) return;
    this.storedBytes += chunk.length;
    this.keep?.(chunk);
    if (this.nonceLength < NONCE_SIZE) {
      const take = Math.min(NONCE_SIZE - this.nonceLength, chunk.length);
      chunk.copy(this.nonce, this.nonceLength, 0, take);
      this.nonceLength += take;
      chunk = chunk.subarray(take);
      if (this.nonceLength < NONCE_SIZE) return;
      this.deciphers = this.keys.map((key) => {
        const d = createDecipheriv('aes-256-gcm', key, this.nonce, { authTagLength: TAG_SIZE });
        if (this.aad) d.setAAD(this.aad);
        return d;
      });
    }
    if (chunk.length) this.body.write(chunk);
  }

  /** Verifies the tag with each key in order: the index of the first that verifies, or the CodecError. */
  end(expectedSize?: number): number {
    if (expectedSize !== undefined && this.storedBytes < expectedSize) {
      throw new CodecError('truncated', `object ended after ${this.storedBytes} of ${expectedSize} bytes`);
    }
    if (this.storedBytes < OVERHEAD) throw tooShort(this.storedBytes);
    for (let i = 0; i < this.deciphers.length; i++) {
      const d = this.deciphers[i];
      d.setAuthTag(this.body.tail);
      let last: Buffer;
      try {
        last = d.final();
      } catch {
        continue; // try the next key
      }
      if (this.emit && last.length) this.emit(last);
      return i;
    }
    throw new CodecError(
      'auth',
      this.keys.length > 1 ? `${AUTH_FAILED} (tried ${this.keys.length} keys)` : AUTH_FAILED,
    );
  }

  private ciphertext(bytes: Buffer): void {
    for (let i = 0; i < this.deciphers.length; i++) {
      const out = this.deciphers[i].update(bytes);
      if (i === 0 && this.emit && out.length) this.emit(out);
    }
  }
}

/**
 * The streaming decryption with one key: errors (instead of ending) when the tag is wrong or the stream is shorter
 * than `expectedSize`.
 */
function gcmDecryptStream(key: Buffer, aad: Buffer | undefined, expectedSize: number | undefined): ReaderStream {
  return new ReaderStream((emit) => new GcmReader([key], aad, emit), expectedSize);
}

export class AesGcmCodec implements Codec {
  readonly name = 'aes-256-gcm';
  /** Every byte is under the HMAC (Fernet) / the GCM tag: decrypt fails before its end unless all are authentic. */
  readonly authenticated = true;
  private readonly keys: Buffer[];
  private readonly memory: DecryptMemory;

  constructor(
    keys: readonly string[],
    private readonly opts: AesGcmOptions,
  ) {
    this.keys = parseAesKeys(keys);
    this.memory = { kind: this.keys.length === 1 ? 'streams' : 'several-keys' };
  }

  decrypt(stored: Readable, ctx: ObjectContext): Readable {
    if (this.keys.length === 1) {
      return pipeInto(stored, gcmDecryptStream(this.keys[0], aadFor(this.opts.aad, ctx.key), ctx.size));
    }
    return decryptWithSeveralKeys(this.severalKeys, stored, ctx, this.opts.maxObjectBytes);
  }

  plaintextSize(storedSize: number): number | undefined {
    return storedSize >= OVERHEAD ? storedSize - OVERHEAD : undefined;
  }

  memoryNeed(storedSize: number): number {
    return decryptMemoryNeed(this.memory, storedSize);
  }

  encrypt(plaintext: Buffer, ctx: ObjectContext): Buffer {
    return gcmEncrypt(this.keys[0], plaintext, aadFor(this.opts.aad, ctx.key));
  }

  /**
   * Several keys: every key's tag is computed in a first read (several-keys.ts); what is kept is the object as stored.
   */
  private readonly severalKeys: SeveralKeysFormat = {
    authenticate: async (stored, ctx, keep) => {
      const reader = new GcmReader(this.keys, aadFor(this.opts.aad, ctx.key), undefined, keep);
      for await (const chunk of stored) reader.write(chunk as Buffer);
      return reader.end(ctx.size);
    },
    decryptWith: (keyIndex, ctx) => gcmDecryptStream(this.keys[keyIndex], aadFor(this.opts.aad, ctx.key), ctx.size),
  };
}
