/**
 * A bounded load client for the photo service: a fixed, seeded list of operations (reads of random photos, legacy
 * ones mostly; uploads of new photos; new versions of existing ones; a few deletes), run by N concurrent workers on
 * 127.0.0.1 until the caller says stop. Operations on the same key run one after the other, in list order, so the
 * expected bytes of every key are always known exactly: every read is checked against the latest write (or a delete).
 */
import { createHash } from 'crypto';
import { performance } from 'perf_hooks';
import { contentBytes, SeededRandom } from '../../../migrator/src/seed/random';

export type Expected = { readonly sha256: string; readonly size: number } | 'deleted';

export type OpKind = 'read' | 'write' | 'delete';

interface Op {
  readonly kind: OpKind;
  readonly key: string;
  /** For writes: which bytes (contentBytes of the seed at this index) and how many. */
  readonly index?: number;
  readonly size?: number;
}

export interface Sample {
  readonly kind: 'read-direct' | 'read-fallback' | 'read-missing' | 'write' | 'delete';
  readonly ms: number;
  /** performance.now() when the request finished (it started `ms` earlier). */
  readonly at: number;
}

export interface LoadPlan {
  readonly seed: string;
  /** The legacy photos and their plaintext (the seeder's manifest). */
  readonly legacy: ReadonlyMap<string, Expected>;
  /** Keys no random operation touches (the test drives them itself). */
  readonly reserved: ReadonlySet<string>;
  /** Where new photos go: `${newPrefix}<n>.jpg`. */
  readonly newPrefix: string;
  readonly maxOps: number;
  readonly maxDeletes: number;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const photoUrl = (base: string, key: string) => `${base}/photos/${encodeURIComponent(key)}`;

/**
 * How the load client speaks to the app's storage: the photo service's /photos/<key> API, or S3 through the gateway.
 */
export interface PhotoApi {
  /** A read: its status, its bytes, the bucket that served it, and which instance (behind a front), when said. */
  get(base: string, key: string): Promise<{ status: number; body: Buffer; source?: string; by: string }>;
  /** A write: true when it was acknowledged (else the status). */
  put(base: string, key: string, bytes: Buffer): Promise<true | number>;
  delete(base: string, key: string): Promise<true | number>;
}

/** The reference photo service: GET/PUT/DELETE /photos/<key>, X-Photo-Source, 201 and 204. */
export const photoServiceApi: PhotoApi = {
  async get(base, key) {
    const res = await fetch(photoUrl(base, key));
    const body = Buffer.from(await res.arrayBuffer());
    // Behind a front (helpers/round-robin-front.ts), which instance answered, in which mode.
    const by = res.headers.has('x-front-label')
      ? ` (instance ${res.headers.get('x-front-slot')}, ${res.headers.get('x-front-label')})`
      : '';
    return { status: res.status, body, source: res.headers.get('x-photo-source') ?? undefined, by };
  },
  async put(base, key, bytes) {
    const res = await fetch(photoUrl(base, key), {
      method: 'PUT',
      headers: { 'Content-Type': 'image/jpeg' },
      body: bytes,
    });
    await res.arrayBuffer();
    return res.status === 201 || res.status;
  },
  async delete(base, key) {
    const res = await fetch(photoUrl(base, key), { method: 'DELETE' });
    await res.arrayBuffer();
    return res.status === 204 || res.status;
  },
};

/** The operation list, drawn from the seed against a model of which keys exist. */
export function planOps(p: LoadPlan): Op[] {
  const rng = new SeededRandom(`${p.seed}:ops`);
  const legacyKeys = [...p.legacy.keys()].filter((k) => !p.reserved.has(k)).sort();
  const live = new Set(legacyKeys);
  const created: string[] = [];
  const known = [...legacyKeys];
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)];
  const liveOf = (xs: readonly string[]) => xs.filter((k) => live.has(k));
  const ops: Op[] = [];
  let deletes = 0;
  for (let i = 0; i < p.maxOps; i++) {
    const r = rng.next();
    const size = rng.int(1024, 32 * 1024);
    if (r < 0.15) {
      // a new version of an existing photo: a legacy one mostly (the migrator must keep it), or an uploaded one
      const pool = rng.next() < 0.75 || created.length === 0 ? liveOf(legacyKeys) : liveOf(created);
      if (pool.length) {
        ops.push({ kind: 'write', key: pick(pool), index: 1_000_000 + i, size });
        continue;
      }
    } else if (r < 0.27) {
      const key = `${p.newPrefix}${String(i).padStart(6, '0')}.jpg`;
      created.push(key);
      known.push(key);
      live.add(key);
      ops.push({ kind: 'write', key, index: 1_000_000 + i, size });
      continue;
    } else if (r < 0.29 && deletes < p.maxDeletes) {
      const pool = liveOf(rng.next() < 0.7 ? legacyKeys : created.length ? created : legacyKeys);
      if (pool.length) {
        const key = pick(pool);
        live.delete(key);
        deletes++;
        ops.push({ kind: 'delete', key });
        continue;
      }
    }
    // a read: of a legacy photo mostly (these fall back until the migrator copies them), else of any key seen
    ops.push({ kind: 'read', key: rng.next() < 0.7 ? pick(legacyKeys) : pick(known) });
  }
  return ops;
}

export class LoadClient {
  readonly expected = new Map<string, Expected>();
  /**
   * Keys whose latest state the app set (uploads, new versions, deletes), not the seeder; with the first write's end.
   */
  readonly touchedByApp = new Map<string, number>();
  readonly samples: Sample[] = [];
  readonly failures: string[] = [];
  requests = 0;
  private readonly chains = new Map<string, Promise<void>>();
  private next = 0;

  constructor(
    private readonly url: string,
    private readonly seed: string,
    private readonly ops: readonly Op[],
    legacy: ReadonlyMap<string, Expected>,
    private readonly api: PhotoApi = photoServiceApi,
  ) {
    for (const [k, v] of legacy) this.expected.set(k, v);
  }

  /**
   * Runs `workers` workers over the operation list until `stop()` says so or the list ends; resolves with the ops done.
   * Each worker pauses `pauseMs` after each of its operations (default: none, as fast as the service answers).
   */
  async run(workers: number, stop: (done: number) => boolean, pauseMs = 0): Promise<number> {
    let done = 0;
    const worker = async () => {
      while (this.next < this.ops.length && !stop(done)) {
        const op = this.ops[this.next++];
        await this.serialized(op.key, async () => void (await this.execute(op)));
        done++;
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    return done;
  }

  /**
   * The app writes a photo: `size` bytes of the seed's content number `index` (serialized with the other operations on
   * its key). `via`: another base URL than the client's (e.g. one instance behind a front), for this request only.
   */
  write(key: string, index: number, size: number, via?: string): Promise<void> {
    return this.serialized(key, async () => void (await this.execute({ kind: 'write', key, index, size }, via)));
  }

  /** The app deletes a photo (serialized with the other operations on its key). */
  delete(key: string, via?: string): Promise<void> {
    return this.serialized(key, async () => void (await this.execute({ kind: 'delete', key }, via)));
  }

  /** Reads a key once and checks it against what it must hold; returns where it was served from. */
  async check(key: string, via?: string): Promise<string | undefined> {
    let source: string | undefined;
    await this.serialized(key, async () => {
      source = await this.execute({ kind: 'read', key }, via);
    });
    return source;
  }

  private serialized(key: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  private async execute(op: Op, base = this.url): Promise<string | undefined> {
    const started = performance.now();
    const sample = (kind: Sample['kind']) => {
      const at = performance.now();
      this.samples.push({ kind, ms: at - started, at });
    };
    this.requests++;
    const want = this.expected.get(op.key);
    try {
      if (op.kind === 'read') {
        const { status, body, source, by } = await this.api.get(base, op.key);
        if (want === undefined || want === 'deleted') {
          if (status !== 404) this.fail(op, `expected 404 (deleted), got ${status} from ${source}${by}`);
          else sample('read-missing');
          return source;
        }
        if (status !== 200)
          return void this.fail(op, `expected 200, got ${status}${by}: ${body.toString().slice(0, 200)}`);
        if (body.length !== want.size || sha(body) !== want.sha256) {
          return void this.fail(
            op,
            `wrong bytes from ${source}${by}: ${body.length} bytes, expected ${want.size} (the latest write)`,
          );
        }
        sample(source === 'legacy' ? 'read-fallback' : 'read-direct');
        return source;
      }
      if (op.kind === 'write') {
        const bytes = contentBytes(this.seed, op.index!, op.size!);
        const ok = await this.api.put(base, op.key, bytes);
        if (ok !== true) return void this.fail(op, `the write was not acknowledged (${ok})`);
        this.expected.set(op.key, { sha256: sha(bytes), size: bytes.length });
        if (!this.touchedByApp.has(op.key)) this.touchedByApp.set(op.key, performance.now());
        sample('write');
        return undefined;
      }
      const ok = await this.api.delete(base, op.key);
      if (ok !== true) return void this.fail(op, `the delete was not acknowledged (${ok})`);
      this.expected.set(op.key, 'deleted');
      if (!this.touchedByApp.has(op.key)) this.touchedByApp.set(op.key, performance.now());
      sample('delete');
      return undefined;
    } catch (err) {
      this.fail(op, `request failed: ${(err as Error).message}`);
      return undefined;
    }
  }

  private fail(op: Op, why: string): void {
    this.failures.push(`${op.kind} ${op.key}: ${why}`);
  }
}

/** The p-th percentile (nearest rank) of a list of milliseconds. */
export function percentile(ms: readonly number[], p: number): number {
  if (ms.length === 0) return NaN;
  const sorted = [...ms].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
