/**
 * Fernet, as Python's `cryptography` package writes it (spec: github.com/fernet/spec):
 *   0x80 | timestamp (8, big-endian seconds) | IV (16) | AES-128-CBC ciphertext (PKCS7) | HMAC-SHA256 (32)
 * The key is 32 bytes, base64url: the first half signs, the second half encrypts. Tokens are stored as base64url text
 * (what Fernet.encrypt returns) or as the raw bytes; `storage: "auto"` (the default) decides per object from its first
 * byte, so a bucket holding both forms is read in one run.
 *
 * Decryption streams (fernet-token.ts): the token is decoded, authenticated and decrypted as its bytes arrive, and its
 * plaintext stream fails before its end when the HMAC (compared in constant time) does not verify. Several keys are
 * tried in order, like MultiFernet: keys that share the encryption half stream in one read with one HMAC each; keys
 * with different encryption halves need the key before the first plaintext byte, so a large object is read twice (the
 * first read finds the key) and a small one is kept whole while it is authenticated (several-keys.ts). `maxObjectBytes`
 * bounds only that whole read. No TTL unless asked.
 */
import { createCipheriv, createHmac, randomBytes } from 'crypto';
import { Readable, Transform } from 'stream';
import { pipeInto } from '../pipe-into';
import { ConfigError } from '../../../workspaces/errors';
import { decryptMemoryNeed, type DecryptMemory } from '../../../workspaces/codec-memory';
import { decodeBase64Url, toBase64UrlPadded } from './base64url';
import type { Codec, ObjectContext } from './codec';
import {
  fernetDecryptStream,
  FernetTokenReader,
  HEADER,
  VERSION,
  type FernetKey,
  type FernetStorage,
} from './fernet-token';
import { decryptWithSeveralKeys, type SeveralKeysFormat } from './several-keys';

export { toBase64UrlPadded } from './base64url';
export type { FernetKey, FernetStorage } from './fernet-token';

export interface FernetOptions {
  /**
   * How tokens are stored: decided per object ("auto"), base64url text only (Fernet.encrypt's output), or raw bytes
   * only.
   */
  readonly storage: FernetStorage;
  /** With several keys and no second read possible, objects are read whole: those above this size are refused. */
  readonly maxObjectBytes: number;
  /** Reject tokens older than this many seconds (off by default, as the legacy app never set one). */
  readonly ttlSeconds?: number;
  /** The clock, in Unix seconds (tests). */
  readonly now?: () => number;
}

/** Parses base64url keys (newest first). Errors name the key's position, never its value. */
export function parseFernetKeys(keys: readonly string[]): FernetKey[] {
  if (keys.length === 0)
    throw new ConfigError('codec.keys: no Fernet key was given; give at least one 32-byte base64url key');
  return keys.map((text, i) => {
    const raw = decodeBase64Url(text.trim());
    if (!raw || raw.length !== 32) {
      throw new ConfigError(
        `codec.keys: key ${i + 1} of ${keys.length} is not a Fernet key (32 bytes, base64url-encoded)`,
      );
    }
    return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
  });
}

/** A new random key in the form Fernet.generate_key() returns. */
export function generateFernetKey(): string {
  return toBase64UrlPadded(randomBytes(32));
}

interface EncryptParts {
  iv?: Buffer;
  timestamp?: number;
}

function tokenHeader(opts: EncryptParts): { header: Buffer; iv: Buffer } {
  const iv = opts.iv ?? randomBytes(16);
  const header = Buffer.alloc(HEADER);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(opts.timestamp ?? Math.floor(Date.now() / 1000)), 1);
  iv.copy(header, 9);
  return { header, iv };
}

/** Encrypts one token with a fixed IV and time when given (the spec's generate vectors), else random IV and now. */
export function fernetEncrypt(key: FernetKey, plaintext: Buffer, opts: EncryptParts = {}): Buffer {
  const { header, iv } = tokenHeader(opts);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const body = Buffer.concat([header, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return Buffer.concat([body, mac]);
}

/**
 * The same token as a stream, in either stored form (for large test objects: the seeder, the benchmarks). Text is
 * padded base64url, as Fernet.encrypt returns it.
 */
export function fernetEncryptStream(
  key: FernetKey,
  storage: 'base64url-text' | 'raw',
  opts: EncryptParts = {},
): Transform {
  const { header, iv } = tokenHeader(opts);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const hmac = createHmac('sha256', key.signing).update(header);
  let started = false;
  let carry = Buffer.alloc(0); // raw bytes not yet a whole group of 3 (text only)
  const out = (t: Transform, raw: Buffer, last = false) => {
    if (storage === 'raw') return raw.length ? t.push(raw) : true;
    const all = carry.length ? Buffer.concat([carry, raw]) : raw;
    const whole = last ? all.length : all.length - (all.length % 3);
    carry = Buffer.from(all.subarray(whole));
    return whole ? t.push(toBase64UrlPadded(all.subarray(0, whole))) : true;
  };
  const start = (t: Transform) => {
    if (started) return;
    started = true;
    out(t, header);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      start(this);
      const c = cipher.update(chunk);
      hmac.update(c);
      out(this, c);
      done();
    },
    flush(done) {
      start(this);
      const c = cipher.final();
      hmac.update(c);
      out(this, Buffer.concat([c, hmac.digest()]), true);
      done();
    },
  });
}

/** Decrypts one whole token (raw bytes), trying each key in order. */
export function fernetDecrypt(
  keys: readonly FernetKey[],
  token: Buffer,
  opts: { ttlSeconds?: number; now?: number } = {},
): Buffer {
  const found = new FernetTokenReader({ storage: 'raw', keys, ...opts });
  found.write(token);
  const key = keys[found.end()];
  const out: Buffer[] = [];
  const reader = new FernetTokenReader({
    storage: 'raw',
    keys: [key],
    decryptWith: key.encryption,
    emit: (b) => out.push(b),
    ...opts,
  });
  reader.write(token);
  reader.end();
  return Buffer.concat(out);
}

export class FernetCodec implements Codec {
  readonly name = 'fernet';
  /** Every byte is under the HMAC (Fernet) / the GCM tag: decrypt fails before its end unless all are authentic. */
  readonly authenticated = true;
  private readonly keys: FernetKey[];
  /** The keys grouped by encryption half: one group streams in one read. */
  private readonly groups: FernetKey[][];
  private readonly memory: DecryptMemory;

  constructor(
    keys: readonly string[],
    private readonly opts: FernetOptions,
  ) {
    this.keys = parseFernetKeys(keys);
    this.groups = [];
    for (const k of this.keys) {
      const group = this.groups.find((g) => g[0].encryption.equals(k.encryption));
      if (group) group.push(k);
      else this.groups.push([k]);
    }
    this.memory = { kind: this.groups.length === 1 ? 'streams' : 'several-keys' };
  }

  decrypt(stored: Readable, ctx: ObjectContext): Readable {
    if (this.groups.length === 1) return this.stream(stored, this.groups[0], this.opts.storage, ctx.size);
    return decryptWithSeveralKeys(this.severalKeys, stored, ctx, this.opts.maxObjectBytes);
  }

  plaintextSize(): number | undefined {
    return undefined;
  }

  memoryNeed(storedSize: number): number {
    return decryptMemoryNeed(this.memory, storedSize);
  }

  encrypt(plaintext: Buffer): Buffer {
    const token = fernetEncrypt(this.keys[0], plaintext);
    // Python's Fernet.encrypt returns padded base64url text; "auto" reads both forms and writes that one.
    return this.opts.storage === 'raw' ? token : Buffer.from(toBase64UrlPadded(token));
  }

  private readerOptions() {
    return { ttlSeconds: this.opts.ttlSeconds, now: this.opts.now?.() };
  }

  /** One read: `keys` share their encryption half, so one decipher serves them all; their HMACs decide at the end. */
  private stream(
    stored: Readable,
    keys: readonly FernetKey[],
    storage: FernetStorage,
    expectedSize?: number,
  ): Readable {
    const out = fernetDecryptStream(
      { storage, keys, decryptWith: keys[0].encryption, ...this.readerOptions() },
      expectedSize,
    );
    return pipeInto(stored, out);
  }

  /** Several encryption halves: the key is found by its HMAC first (several-keys.ts). */
  private readonly severalKeys: SeveralKeysFormat = {
    authenticate: async (stored, ctx, keep) => {
      const reader = new FernetTokenReader({
        storage: this.opts.storage,
        keys: this.keys,
        keep,
        ...this.readerOptions(),
      });
      for await (const chunk of stored) reader.write(chunk as Buffer);
      return reader.end(ctx.size);
    },
    decryptWith: (keyIndex, ctx, kept) => {
      const key = this.keys[keyIndex];
      // What was kept is the raw token; a second read is the object as stored.
      return fernetDecryptStream(
        {
          storage: kept ? 'raw' : this.opts.storage,
          keys: [key],
          decryptWith: key.encryption,
          ...this.readerOptions(),
        },
        kept ? undefined : ctx.size,
      );
    },
  };
}
