/**
 * Fernet, as Python's `cryptography` package writes it (spec: github.com/fernet/spec):
 *   0x80 | timestamp (8, big-endian seconds) | IV (16) | AES-128-CBC ciphertext (PKCS7) | HMAC-SHA256 (32)
 * The key is 32 bytes, base64url: the first half signs, the second half encrypts.
 *
 * A token is authenticated as a whole (its HMAC covers everything before it), so it must be read whole: objects
 * above `maxObjectBytes` are refused. Keys are tried in order (MultiFernet: newest first, rotated ones after),
 * and the HMAC is compared in constant time before anything is decrypted. No TTL unless asked.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'crypto';
import type { Readable } from 'stream';
import { ConfigError } from '../../../workspaces/load';
import { CodecError, type Codec, type ObjectContext } from './codec';
import { decryptWhole } from './read-whole';

const VERSION = 0x80;
const HEADER = 1 + 8 + 16; // version, timestamp, IV
const HMAC_SIZE = 32;
const MIN_TOKEN = HEADER + 16 + HMAC_SIZE; // one ciphertext block at least (PKCS7 always pads)
const MAX_CLOCK_SKEW_S = 60; // as Python's cryptography

export interface FernetKey {
  readonly signing: Buffer;
  readonly encryption: Buffer;
}

export interface FernetOptions {
  /** How the token is stored in the object: base64url text (Fernet.encrypt's output) or the decoded bytes. */
  readonly storage: 'base64url-text' | 'raw';
  /** Objects above this size (stored bytes) are refused. */
  readonly maxObjectBytes: number;
  /** Reject tokens older than this many seconds (off by default, as the legacy app never set one). */
  readonly ttlSeconds?: number;
  /** The clock, in Unix seconds (tests). */
  readonly now?: () => number;
}

/** Parses base64url keys (newest first). Errors name the key's position, never its value. */
export function parseFernetKeys(keys: readonly string[]): FernetKey[] {
  if (keys.length === 0) throw new ConfigError('codec.keys: no Fernet key was given; give at least one 32-byte base64url key');
  return keys.map((text, i) => {
    const raw = decodeBase64Url(text.trim());
    if (!raw || raw.length !== 32) {
      throw new ConfigError(`codec.keys: key ${i + 1} of ${keys.length} is not a Fernet key (32 bytes, base64url-encoded)`);
    }
    return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
  });
}

/** Padded base64url, as Python's base64.urlsafe_b64encode writes it (Fernet keys and text tokens). */
export function toBase64UrlPadded(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** A new random key in the form Fernet.generate_key() returns. */
export function generateFernetKey(): string {
  return toBase64UrlPadded(randomBytes(32));
}

/**
 * Strict base64url (padding optional): undefined for anything else. Buffer.from skips characters that are not base64,
 * so a token is valid only if the bytes decoded are exactly as many as its length promises.
 */
function decodeBase64Url(text: string): Buffer | undefined {
  const body = text.endsWith('==') ? text.slice(0, -2) : text.endsWith('=') ? text.slice(0, -1) : text;
  if (body.length % 4 === 1 || (body.length !== text.length && text.length % 4 !== 0)) return undefined;
  const out = Buffer.from(body, 'base64url');
  return out.length === Math.floor((body.length * 3) / 4) && !/[^A-Za-z0-9_-]/.test(body.slice(-4)) ? out : undefined;
}

/** Encrypts one token with a fixed IV and time when given (the spec's generate vectors), else random IV and now. */
export function fernetEncrypt(key: FernetKey, plaintext: Buffer, opts: { iv?: Buffer; timestamp?: number } = {}): Buffer {
  const iv = opts.iv ?? randomBytes(16);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(BigInt(opts.timestamp ?? Math.floor(Date.now() / 1000)));
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const body = Buffer.concat([Buffer.from([VERSION]), ts, iv, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return Buffer.concat([body, mac]);
}

/** Decrypts one token (raw bytes), trying each key in order. */
export function fernetDecrypt(
  keys: readonly FernetKey[],
  token: Buffer,
  opts: { ttlSeconds?: number; now?: number } = {},
): Buffer {
  if (token.length === 0) throw new CodecError('truncated', 'empty object: not even a Fernet version byte');
  if (token[0] !== VERSION) throw new CodecError('format', 'not a Fernet token (the version byte is not 0x80)');
  if (token.length < MIN_TOKEN) {
    throw new CodecError('truncated', `Fernet token is ${token.length} bytes, shorter than the smallest possible (${MIN_TOKEN})`);
  }
  const signed = token.subarray(0, token.length - HMAC_SIZE);
  const mac = token.subarray(token.length - HMAC_SIZE);
  const key = keys.find((k) => timingSafeEqual(createHmac('sha256', k.signing).update(signed).digest(), mac));
  if (!key) {
    if ((token.length - HEADER - HMAC_SIZE) % 16 !== 0) {
      throw new CodecError('truncated', 'Fernet token is cut short (its length is not whole cipher blocks) and does not authenticate');
    }
    throw new CodecError('auth', `Fernet HMAC does not verify with any of the ${keys.length} key(s): wrong key or tampered bytes`);
  }
  const timestamp = Number(token.readBigUInt64BE(1));
  if (opts.ttlSeconds !== undefined) {
    const now = opts.now ?? Math.floor(Date.now() / 1000);
    if (timestamp + opts.ttlSeconds < now) throw new CodecError('auth', 'Fernet token has expired (older than the TTL)');
    if (now + MAX_CLOCK_SKEW_S < timestamp) throw new CodecError('auth', 'Fernet token is dated in the future beyond the allowed clock skew');
  }
  const ciphertext = token.subarray(HEADER, token.length - HMAC_SIZE);
  if (ciphertext.length % 16 !== 0) {
    throw new CodecError('format', 'Fernet token authenticates but its ciphertext is not whole AES blocks');
  }
  const decipher = createDecipheriv('aes-128-cbc', key.encryption, token.subarray(9, HEADER));
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new CodecError('format', 'Fernet token authenticates but its padding is invalid');
  }
}

export class FernetCodec implements Codec {
  readonly name = 'fernet';
  private readonly keys: FernetKey[];

  constructor(
    keys: readonly string[],
    private readonly opts: FernetOptions,
  ) {
    this.keys = parseFernetKeys(keys);
  }

  decrypt(stored: Readable, ctx: ObjectContext): Readable {
    return decryptWhole(stored, this.opts.maxObjectBytes, ctx.size, (bytes) =>
      fernetDecrypt(this.keys, this.unwrap(bytes), { ttlSeconds: this.opts.ttlSeconds, now: this.opts.now?.() }),
    );
  }

  plaintextSize(): number | undefined {
    return undefined;
  }

  encrypt(plaintext: Buffer): Buffer {
    const token = fernetEncrypt(this.keys[0], plaintext);
    // Python's Fernet.encrypt returns padded base64url text.
    return this.opts.storage === 'raw' ? token : Buffer.from(toBase64UrlPadded(token));
  }

  /** The stored bytes as a raw token. */
  private unwrap(stored: Buffer): Buffer {
    if (this.opts.storage === 'raw') return stored;
    if (stored.length === 0) return stored;
    const text = stored.toString('latin1').trim();
    const decoded = decodeBase64Url(text);
    if (decoded) return decoded;
    if (/^gAAAA[A-Za-z0-9_-]*$/.test(text)) {
      throw new CodecError('truncated', 'Fernet token text is cut short (its length is not whole base64 groups)');
    }
    throw new CodecError('format', 'not a Fernet token (the object is not base64url text)');
  }
}
