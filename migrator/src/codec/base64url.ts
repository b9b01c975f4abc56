/**
 * Base64url as Python writes Fernet keys and text tokens (`base64.urlsafe_b64encode`: padded with "="), decoded as the
 * bytes arrive, so a text token never has to be held whole.
 *
 * Accepted, as Python's decoder accepts them: the base64url alphabet and the standard one ("+", "/"), ASCII whitespace
 * anywhere (an app that wrote the token with a newline), padding or none. Refused with a CodecError: any other byte
 * (`format`, as soon as it arrives), text after the padding or padding that does not fit (`format`), and text that
 * ends inside a group of four (`truncated`: one character cannot encode a byte, so the text was cut).
 */
import { CodecError } from './codec';

/** Padded base64url, as Python's base64.urlsafe_b64encode writes it (Fernet keys and text tokens). */
export function toBase64UrlPadded(bytes: Buffer): string {
  const text = bytes.toString('base64url'); // Node writes base64url without its padding
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

const EQUALS = 0x3d;
const EMPTY = Buffer.alloc(0);

/** 1 for a base64 or base64url alphabet byte, 2 for ASCII whitespace, 0 for anything else. */
const CLASS = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/') CLASS[c.charCodeAt(0)] = 1;
for (const c of ' \t\n\r\v\f') CLASS[c.charCodeAt(0)] = 2;

export function isBase64Whitespace(byte: number): boolean {
  return CLASS[byte] === 2;
}

/** Decodes base64url text chunk by chunk: `write` returns the bytes of the whole groups so far, `end` the rest. */
export class Base64UrlDecoder {
  /** Alphabet characters of an unfinished group (0-3), carried to the next chunk. */
  private carry: Buffer = EMPTY;
  /** "=" seen so far; once there is one, only "=" and whitespace may follow. */
  private padding = 0;

  /** @param what names the text in error messages, e.g. "Fernet token text". */
  constructor(private readonly what: string) {}

  write(chunk: Buffer): Buffer {
    if (this.padding > 0) {
      this.readPadding(chunk, 0);
      return EMPTY;
    }
    const text = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    const whole = text.length - (text.length % 4);
    // Fast path: all alphabet. Node's decoder skips foreign bytes and stops at "=", so the output is short exactly
    // when the text holds anything else; then the slow path below filters it byte by byte.
    const out = Buffer.from(text.toString('latin1', 0, whole), 'base64url');
    if (out.length === (whole / 4) * 3) {
      this.carry = Buffer.from(text.subarray(whole));
      return out;
    }
    return this.padded(text) ?? this.filtered(text);
  }

  /**
   * The usual last chunk of a token: alphabet, then its "=" padding (and maybe whitespace). Decoded like the fast path
   * (the byte-by-byte filter cost a per-object share of the migrator's CPU); undefined when the text is anything else.
   */
  private padded(text: Buffer): Buffer | undefined {
    const eq = text.indexOf(EQUALS);
    if (eq < 0) return undefined;
    const whole = eq - (eq % 4);
    const out = Buffer.from(text.toString('latin1', 0, whole), 'base64url');
    if (out.length !== (whole / 4) * 3) return undefined;
    for (let i = whole; i < eq; i++) if (CLASS[text[i]] !== 1) return undefined;
    this.readPadding(text, eq);
    this.carry = Buffer.from(text.subarray(whole, eq));
    return out;
  }

  /** The last group's bytes; throws if the text cannot be whole base64. */
  end(): Buffer {
    const rest = this.carry;
    this.carry = EMPTY;
    if (this.padding > 0 && (rest.length < 2 || rest.length + this.padding > 4)) {
      throw new CodecError('format', `${this.what} has "=" padding where none belongs`);
    }
    if (rest.length === 1 || (this.padding > 0 && rest.length + this.padding < 4)) {
      throw new CodecError('truncated', `${this.what} is cut short (it ends inside a group of four base64 characters)`);
    }
    return rest.length ? Buffer.from(rest.toString('latin1'), 'base64url') : EMPTY;
  }

  /** The slow path: keeps the alphabet, skips whitespace, starts the padding at "=", refuses anything else. */
  private filtered(text: Buffer): Buffer {
    const kept = Buffer.allocUnsafe(text.length);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      const b = text[i];
      const cls = CLASS[b];
      if (cls === 1) kept[n++] = b;
      else if (b === EQUALS) {
        this.readPadding(text, i);
        break;
      } else if (cls !== 2) {
        throw new CodecError(
          'format',
          `${this.what} holds a byte that is not base64url (0x${b.toString(16).padStart(2, '0')})`,
        );
      }
    }
    const whole = n - (n % 4);
    this.carry = Buffer.from(kept.subarray(whole, n));
    return Buffer.from(kept.toString('latin1', 0, whole), 'base64url');
  }

  private readPadding(text: Buffer, from: number): void {
    for (let i = from; i < text.length; i++) {
      const b = text[i];
      if (b === EQUALS) this.padding++;
      else if (CLASS[b] !== 2) throw new CodecError('format', `${this.what} continues after its "=" padding`);
    }
    if (this.padding > 2) throw new CodecError('format', `${this.what} has more than two "=" of padding`);
  }
}

/** A whole base64url text (a key, a short token) decoded strictly as above; undefined if it is not base64url. */
export function decodeBase64Url(text: string): Buffer | undefined {
  try {
    const d = new Base64UrlDecoder('text');
    return Buffer.concat([d.write(Buffer.from(text, 'latin1')), d.end()]);
  } catch {
    return undefined;
  }
}
