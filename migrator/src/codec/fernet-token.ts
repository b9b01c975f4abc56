/**
 * Reading one Fernet token as its bytes arrive (spec: github.com/fernet/spec):
 *   0x80 | timestamp (8, big-endian seconds) | IV (16) | AES-128-CBC ciphertext (PKCS7) | HMAC-SHA256 (32)
 *
 * The stored form is decided from the first byte when the setting is "auto" (a raw token starts with the version byte
 * 0x80, a text token with "g", the first base64 character of 0x80: "gAAAAA..." for any timestamp before 2038), or fixed
 * by a strict setting. Text is decoded as it arrives (base64url.ts). Of the raw token, the last 32 bytes seen are held
 * back as the HMAC candidate (hold-back.ts); everything before them goes into each key's HMAC and, after the 25-byte
 * header, into the AES-128-CBC decipher, whose output is emitted at once (the decipher itself holds back the last block
 * for the padding). At the end the HMACs are compared with the held-back 32 bytes in constant time, and only then is
 * the padding checked: a token that does not authenticate fails before its stream ends, so a consumer that commits only
 * on a clean end never commits its bytes. Memory: a chunk, whatever the token's size.
 *
 * Errors keep their precise kinds under every setting: not Fernet (`format`), cut short (`truncated`: the stream
 * ended before the size S3 gave, or the token is shorter than the smallest, or not whole blocks and not authentic),
 * tampered or the wrong key (`auth`), authentic but malformed (`format`). Messages hold no key material.
 */
import { createDecipheriv, createHmac, timingSafeEqual, type Decipher, type Hmac } from 'crypto';
import { Base64UrlDecoder, isBase64Whitespace } from './base64url';
import { CodecError } from './codec';
import { HoldBack } from './hold-back';
import { ReaderStream, type ChunkReader } from './reader-stream';

export const VERSION = 0x80;
export const HEADER = 1 + 8 + 16; // version, timestamp, IV
export const HMAC_SIZE = 32;
export const BLOCK = 16;
/** One ciphertext block at least (PKCS7 always pads). */
export const MIN_TOKEN = HEADER + BLOCK + HMAC_SIZE;
const MAX_CLOCK_SKEW_S = 60; // as Python's cryptography
const TEXT_FIRST = 'g'.charCodeAt(0);

export interface FernetKey {
  readonly signing: Buffer;
  readonly encryption: Buffer;
}

/** How tokens are stored: decided per object from its first byte ("auto"), or one form only. */
export type FernetStorage = 'auto' | 'base64url-text' | 'raw';

export interface TokenReaderOptions {
  readonly storage: FernetStorage;
  /** The keys whose HMAC is computed, in the order they are tried (MultiFernet: newest first). */
  readonly keys: readonly FernetKey[];
  /** Decrypt with this encryption half (shared by every key in `keys`); absent: authenticate only, emit nothing. */
  readonly decryptWith?: Buffer;
  /** Receives the plaintext as it is decrypted. */
  readonly emit?: (plaintext: Buffer) => void;
  /** Receives the raw token's bytes as they are read (a whole read keeps them). */
  readonly keep?: (raw: Buffer) => void;
  /** Reject tokens older than this (seconds); no TTL when absent. */
  readonly ttlSeconds?: number;
  readonly now?: number;
}

/** Reads one token chunk by chunk; `end` returns the index (in `keys`) of the key whose HMAC verified. */
export class FernetTokenReader implements ChunkReader {
  /** Stored bytes seen (text or raw, as stored). */
  storedBytes = 0;
  private form?: 'text' | 'raw';
  private text?: Base64UrlDecoder;
  private readonly header: Buffer = Buffer.alloc(HEADER);
  private headerLength = 0;
  private readonly body = new HoldBack(HMAC_SIZE, (bytes) => this.signed(bytes));
  private bodyLength = 0;
  /** One HMAC per distinct signing key, with the index of the first key that has it. */
  private readonly macs: { readonly index: number; readonly signing: Buffer; hmac?: Hmac }[] = [];
  private decipher?: Decipher;

  constructor(private readonly o: TokenReaderOptions) {
    o.keys.forEach((k, index) => {
      if (!this.macs.some((m) => m.signing.equals(k.signing))) this.macs.push({ index, signing: k.signing });
    });
    if (o.storage === 'raw') this.form = 'raw';
    if (o.storage === 'base64url-text') this.useText();
  }

  write(stored: Buffer): void {
    if (!stored.length) return;
    this.storedBytes += stored.length;
    const first = this.storedBytes === stored.length;
    if (!this.form) this.decideForm(stored);
    if (this.form === 'raw') return this.raw(stored);
    if (first && stored[0] === VERSION) {
      throw new CodecError(
        'format',
        'not a Fernet token text: the object starts with 0x80, a raw token (set codec.storage to "auto" or "raw")',
      );
    }
    this.raw(this.text!.write(stored));
  }

  /**
   * The checks at the end; throws the CodecError, or emits the last plaintext block and returns the index of the key
   * that verified. `expectedSize`: the stored size S3 gave (fewer bytes means the stream was cut).
   */
  end(expectedSize?: number): number {
    if (expectedSize !== undefined && this.storedBytes < expectedSize) {
      throw new CodecError('truncated', `object ended after ${this.storedBytes} of ${expectedSize} bytes`);
    }
    if (this.storedBytes === 0) throw new CodecError('truncated', 'empty object: not even a Fernet version byte');
    if (this.text) this.raw(this.text.end());
    const length = this.headerLength + this.bodyLength + this.body.tail.length;
    if (length < MIN_TOKEN) {
      throw new CodecError(
        'truncated',
        `Fernet token is ${length} bytes, shorter than the smallest possible (${MIN_TOKEN})`,
      );
    }
    let verified = -1;
    for (const m of this.macs) {
      // Every HMAC is finished and compared, in constant time, whatever the earlier ones gave.
      const ok = timingSafeEqual(m.hmac!.digest(), this.body.tail);
      if (ok && (verified < 0 || m.index < verified)) verified = m.index;
    }
    const wholeBlocks = this.bodyLength % BLOCK === 0;
    if (verified < 0) {
      if (!wholeBlocks)
        throw new CodecError(
          'truncated',
          'Fernet token is cut short (its length is not whole cipher blocks) and does not authenticate',
        );
      throw new CodecError(
        'auth',
        `Fernet HMAC does not verify with any of the ${this.o.keys.length} key(s): wrong key or tampered bytes`,
      );
    }
    if (!wholeBlocks)
      throw new CodecError('format', 'Fernet token authenticates but its ciphertext is not whole AES blocks');
    if (this.decipher) {
      let last: Buffer;
      try {
        last = this.decipher.final();
      } catch {
        throw new CodecError('format', 'Fernet token authenticates but its padding is invalid');
      }
      if (last.length) this.o.emit?.(last);
    }
    return verified;
  }

  private useText(): void {
    this.form = 'text';
    this.text = new Base64UrlDecoder('Fernet token text');
  }

  /** "auto": 0x80 is a raw token; "g" (or leading whitespace) base64url text; anything else is not Fernet. */
  private decideForm(stored: Buffer): void {
    const first = stored[0];
    if (first === VERSION) this.form = 'raw';
    else if (first === TEXT_FIRST || isBase64Whitespace(first)) this.useText();
    else {
      throw new CodecError(
        'format',
        `not a Fernet token: the object starts with 0x${first.toString(16).padStart(2, '0')}, neither the version byte 0x80 (a raw token) nor "g" (base64url text)`,
      );
    }
  }

  /** Raw token bytes, in order. */
  private raw(bytes: Buffer): void {
    if (!bytes.length) return;
    this.o.keep?.(bytes);
    if (this.headerLength < HEADER) {
      if (this.headerLength === 0 && bytes[0] !== VERSION) throw this.notVersion(bytes[0]);
      const take = Math.min(HEADER - this.headerLength, bytes.length);
      bytes.copy(this.header, this.headerLength, 0, take);
      this.headerLength += take;
      bytes = bytes.subarray(take);
      if (this.headerLength < HEADER) return;
      this.startBody();
    }
    if (bytes.length) this.body.write(bytes);
  }

  private notVersion(first: number): CodecError {
    const hint =
      this.form === 'raw' && first === TEXT_FIRST
        ? ' (it looks like base64url text: set codec.storage to "auto" or "base64url-text")'
        : '';
    return new CodecError('format', `not a Fernet token (the version byte is not 0x80)${hint}`);
  }

  /** The header is complete: check the time if a TTL is set, start the HMACs and the decipher. */
  private startBody(): void {
    if (this.o.ttlSeconds !== undefined) {
      const timestamp = Number(this.header.readBigUInt64BE(1));
      const now = this.o.now ?? Math.floor(Date.now() / 1000);
      if (timestamp + this.o.ttlSeconds < now)
        throw new CodecError('auth', 'Fernet token has expired (older than the TTL)');
      if (now + MAX_CLOCK_SKEW_S < timestamp)
        throw new CodecError('auth', 'Fernet token is dated in the future beyond the allowed clock skew');
    }
    for (const m of this.macs) m.hmac = createHmac('sha256', m.signing).update(this.header);
    if (this.o.decryptWith)
      this.decipher = createDecipheriv('aes-128-cbc', this.o.decryptWith, this.header.subarray(9, HEADER));
  }

  /** Signed bytes after the header: ciphertext. */
  private signed(bytes: Buffer): void {
    this.bodyLength += bytes.length;
    for (const m of this.macs) m.hmac!.update(bytes);
    if (this.decipher) {
      const out = this.decipher.update(bytes);
      if (out.length) this.o.emit?.(out);
    }
  }
}

/** The plaintext stream of one token: fails (instead of ending) when the token does not authenticate. */
export function fernetDecryptStream(o: Omit<TokenReaderOptions, 'emit'>, expectedSize?: number): ReaderStream {
  return new ReaderStream((emit) => new FernetTokenReader({ ...o, emit }), expectedSize);
}
