/**
 * Passes bytes on as they arrive except the last `size` seen, which are held back: until a stream ends, any of them
 * may belong to its trailing MAC or tag (Fernet's HMAC, AES-GCM's tag). Holds `size` bytes, never a chunk.
 */
export class HoldBack {
  /** The last bytes seen (fewer than `size` only while fewer have arrived). */
  tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly size: number,
    private readonly pass: (bytes: Buffer) => void,
  ) {}

  write(bytes: Buffer): void {
    if (bytes.length >= this.size) {
      if (this.tail.length) this.pass(this.tail);
      if (bytes.length > this.size) this.pass(bytes.subarray(0, bytes.length - this.size));
      this.tail = Buffer.from(bytes.subarray(bytes.length - this.size)); // a copy: the chunk itself is not kept
      return;
    }
    const joined = Buffer.concat([this.tail, bytes]);
    const cut = Math.max(0, joined.length - this.size);
    if (cut > 0) this.pass(joined.subarray(0, cut));
    this.tail = joined.subarray(cut);
  }
}
