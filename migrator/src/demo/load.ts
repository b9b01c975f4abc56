/**
 * The demo's light load: a few clients of the photo service that keep reading random photos (legacy ones mostly, and
 * their own uploads; checking the bytes), and now and then upload a new photo, each request sent to the next instance
 * of the app (fleet.ts). Counts requests, failures, which bucket served each read and which bucket each upload went
 * to (by the mode of the instance that took it), so the demo's counts add up.
 */
import { createHash, randomBytes } from 'crypto';
import { modeRules, type StoreMode } from '../store/modes';

export interface LoadStats {
  requests: number;
  failed: number;
  /** Reads served from the new bucket, and from legacy (legacy-only instances, or a fallback). */
  readsNew: number;
  readsLegacy: number;
  uploads: number;
  /** Uploads taken by an instance that writes to the legacy bucket (legacy-only, read-both-write-legacy). */
  uploadsToLegacy: number;
  /** The first few failures, for the summary. */
  failures: string[];
}

export interface LoadOptions {
  /** Sends one request to an instance of the app (its base URL, and the mode it runs). */
  readonly send: <T>(request: (url: string, mode: StoreMode) => Promise<T>) => Promise<T>;
  /** Keys of the legacy photos, with the SHA-256 of their plaintext. */
  readonly photos: ReadonlyMap<string, string>;
  readonly clients: number;
  /** Pause between a client's requests, ms. */
  readonly pauseMs: number;
}

export class LightLoad {
  readonly stats: LoadStats = {
    requests: 0,
    failed: 0,
    readsNew: 0,
    readsLegacy: 0,
    uploads: 0,
    uploadsToLegacy: 0,
    failures: [],
  };
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly keys: string[];
  /** The load's own uploads, with the SHA-256 of their bytes. */
  private readonly uploaded = new Map<string, string>();

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
    // Mostly a legacy photo; now and then one of the load's own uploads (sent through another instance, maybe in
    // another mode: every instance must serve it).
    const own = this.uploaded.size > 0 && Math.random() < 0.25;
    const pool = own ? [...this.uploaded.keys()] : this.keys;
    const key = pool[Math.floor(Math.random() * pool.length)];
    const want = own ? this.uploaded.get(key) : this.o.photos.get(key);
    this.stats.requests++;
    const { res, body } = await this.o.send(async (url) => {
      const res = await fetch(`${url}/photos/${encodeURIComponent(key)}`);
      return { res, body: Buffer.from(await res.arrayBuffer()) };
    });
    if (res.status !== 200) return this.fail(`GET ${key}: HTTP ${res.status}`);
    if (createHash('sha256').update(body).digest('hex') !== want) return this.fail(`GET ${key}: wrong bytes`);
    if (res.headers.get('x-photo-source') === 'legacy') this.stats.readsLegacy++;
    else this.stats.readsNew++;
  }

  private async upload(client: number, n: number): Promise<void> {
    const key = `chats/demo-${client}/photos/new-${n}-${randomBytes(4).toString('hex')}.jpg`;
    const body = randomBytes(2048 + Math.floor(Math.random() * 30_000));
    this.stats.requests++;
    const { res, mode } = await this.o.send(async (url, mode) => {
      const res = await fetch(`${url}/photos/${encodeURIComponent(key)}`, {
        method: 'PUT',
        headers: { 'Content-Type': 'image/jpeg' },
        body,
      });
      await res.arrayBuffer();
      return { res, mode };
    });
    if (res.status !== 201 && res.status !== 200) return this.fail(`PUT ${key}: HTTP ${res.status}`);
    this.uploaded.set(key, createHash('sha256').update(body).digest('hex'));
    this.stats.uploads++;
    if (modeRules(mode).write !== 'new') this.stats.uploadsToLegacy++;
  }

  private fail(what: string): void {
    this.stats.failed++;
    if (this.stats.failures.length < 5) this.stats.failures.push(what);
  }
}
