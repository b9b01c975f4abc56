/**
 * The demo's light load: a few clients of the photo service that keep reading random legacy photos (and checking the
 * bytes), and now and then upload a new photo. Counts requests, failures and which bucket served each read.
 */
import { createHash, randomBytes } from 'crypto';

export interface LoadStats {
  requests: number;
  failed: number;
  readsDirect: number;
  readsFallback: number;
  uploads: number;
  /** The first few failures, for the summary. */
  failures: string[];
}

export interface LoadOptions {
  readonly url: string;
  /** Keys of the legacy photos, with the SHA-256 of their plaintext. */
  readonly photos: ReadonlyMap<string, string>;
  readonly clients: number;
  /** Pause between a client's requests, ms. */
  readonly pauseMs: number;
}

export class LightLoad {
  readonly stats: LoadStats = { requests: 0, failed: 0, readsDirect: 0, readsFallback: 0, uploads: 0, failures: [] };
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly keys: string[];

  constructor(private readonly o: LoadOptions) {
    this.keys = [...o.photos.keys()].filter((k) => !k.endsWith('/'));
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.o.clients }, (_, i) => this.loop(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(client: number): Promise<void> {
    let n = 0;
    while (this.running) {
      n++;
      try {
        if (n % 7 === 0) await this.upload(client, n);
        else await this.read();
      } catch (err) {
        this.fail(`${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, this.o.pauseMs));
    }
  }

  private async read(): Promise<void> {
    const key = this.keys[Math.floor(Math.random() * this.keys.length)];
    this.stats.requests++;
    const res = await fetch(`${this.o.url}/photos/${encodeURIComponent(key)}`);
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return this.fail(`GET ${key}: HTTP ${res.status}`);
    if (createHash('sha256').update(body).digest('hex') !== this.o.photos.get(key)) return this.fail(`GET ${key}: wrong bytes`);
    if (res.headers.get('x-photo-source') === 'legacy') this.stats.readsFallback++;
    else this.stats.readsDirect++;
  }

  private async upload(client: number, n: number): Promise<void> {
    const key = `chats/demo-${client}/photos/new-${n}-${randomBytes(4).toString('hex')}.jpg`;
    const body = randomBytes(2048 + Math.floor(Math.random() * 30_000));
    this.stats.requests++;
    const res = await fetch(`${this.o.url}/photos/${encodeURIComponent(key)}`, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg' }, body });
    await res.arrayBuffer();
    if (res.status !== 201 && res.status !== 200) return this.fail(`PUT ${key}: HTTP ${res.status}`);
    this.stats.uploads++;
  }

  private fail(what: string): void {
    this.stats.failed++;
    if (this.stats.failures.length < 5) this.stats.failures.push(what);
  }
}
