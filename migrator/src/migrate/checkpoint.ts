/**
 * The durable checkpoint of a migration: one SQLite file (better-sqlite3, WAL) that records the listing cursor and,
 * per legacy key, its state, attempts, last error and hashes. Every change is made in a transaction, so a crash, a
 * kill -9 or a Ctrl-C leaves it consistent, and a rerun resumes without re-listing and without re-copying what is done.
 *
 * The per-object writes of the copy loop (markAttempt, record, markRechecked) are not one transaction each: they are
 * queued in order and written together in one transaction per tick of FLUSH_EVERY_MS or per FLUSH_AT_OPS writes (a
 * third of the migrator's CPU per object went to SQLite's per-statement commits). Any other call on the checkpoint
 * writes the queue first, so every read sees every earlier write, and close() writes it. A kill -9 loses at most the
 * last tick's queue, which only ever holds facts that are true already (an attempt that started, a copy that was
 * written): an object whose outcome was lost is still 'pending' and is redone on the rerun (its write then finds the
 * key taken: already-migrated). Nothing is ever recorded before it happened.
 *
 * Memory does not grow with the number of keys: rows live on disk and are read in key-ordered batches.
 *
 * The file records the version of its layout (meta `schema`, CHECKPOINT_SCHEMA_VERSION). Opening a checkpoint of an
 * older version to write to it upgrades it in place, in one transaction (MIGRATIONS); opening one read-only (the audit)
 * refuses it and says how to upgrade it; a newer version than this code knows is refused either way, untouched.
 */
import Database from 'better-sqlite3';
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../../../workspaces/errors';

// The states live in their own module (no SQLite there), so code without a checkpoint (the Batch Operations
// function, bundled for Lambda) can use them.
import { ALL_STATES, NEEDS_RECHECK, type ObjectState } from '../objects/object-states';
import type { ListedObject, ObjectRow, Outcome } from '../objects/records';

export interface CheckpointIdentity {
  readonly env: string;
  readonly legacyBucket: string;
  readonly newBucket: string;
  readonly prefix: string;
  /** The key source when it is not a listing of the legacy bucket (a manifest, pinned by its ETag). */
  readonly source?: string;
  /** The shard ("i/n") when the migration is split among n tasks. */
  readonly shard?: string;
}

export interface RunRecord {
  readonly id: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly outcome: string | null;
}

/**
 * One column of the objects table: its type and constraints in SQL, how a stored value reads back (default: as it is),
 * and how record() writes it from an outcome ('set': the outcome's value, null included; 'keep': the outcome's value,
 * or the stored one where the outcome has none; absent: record() leaves it). Its name is its field's, in snake case.
 */
interface Column<T> {
  readonly sql: string;
  readonly read?: (stored: unknown) => T;
  readonly record?: 'set' | 'keep';
}

/**
 * The objects table, one column per ObjectRow field (the compiler refuses a field without its column or a column
 * without its field), in the table's order: the CREATE, the listing's INSERT, record()'s UPDATE and rowOf derive
 * from it. (The row type lives in objects/records.ts, which may not import the engine: it is checked here instead.)
 */
const OBJECT_COLUMNS: { readonly [F in keyof ObjectRow]-?: Column<ObjectRow[F]> } = {
  key: { sql: 'TEXT PRIMARY KEY' },
  size: { sql: 'INTEGER NOT NULL', record: 'keep' },
  etag: { sql: 'TEXT NOT NULL', record: 'keep' },
  lastModified: { sql: 'TEXT', read: (v) => (v as string | null) ?? undefined },
  state: { sql: "TEXT NOT NULL DEFAULT 'pending'", record: 'set' },
  attempts: { sql: 'INTEGER NOT NULL DEFAULT 0' },
  versionId: { sql: 'TEXT', record: 'keep' },
  errorCode: { sql: 'TEXT', record: 'set' },
  errorMessage: { sql: 'TEXT', record: 'set' },
  httpStatus: { sql: 'INTEGER', record: 'set' },
  plaintextSha256: { sql: 'TEXT', record: 'keep' },
  plaintextSize: { sql: 'INTEGER', record: 'keep' },
  newVersionId: { sql: 'TEXT', record: 'keep' },
  /** 0 for a copy written but not yet seen to have survived the app's deletes (recheck-deletes.ts). */
  rechecked: { sql: 'INTEGER NOT NULL DEFAULT 1', read: (v) => v !== 0, record: 'set' },
  updatedAt: { sql: 'TEXT', record: 'set' },
};

type Field = keyof ObjectRow;
const FIELDS = Object.keys(OBJECT_COLUMNS) as Field[];
/** The column of a field: `lastModified` -> `last_modified`, `plaintextSha256` -> `plaintext_sha256`. */
const columnOf = (f: Field) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** What a listing records of a key (with `updatedAt`); the rest takes its default. */
const LISTED_FIELDS: readonly Field[] = ['key', 'size', 'etag', 'lastModified', 'updatedAt'];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
${FIELDS.map((f) => `  ${columnOf(f)} ${OBJECT_COLUMNS[f].sql}`).join(',\n')}
);
CREATE INDEX IF NOT EXISTS objects_state ON objects(state, key);
CREATE TABLE IF NOT EXISTS uploads (upload_id TEXT PRIMARY KEY, key TEXT NOT NULL, started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  outcome TEXT,
  summary TEXT
);
`;

/**
 * The layout version this code writes and reads. History:
 * - 1: written by every build before the version was read. Two layouts carry it: the first one (commit cbcf428) has
 *   no `rechecked` column; the later one (since commit 7fbc545) is the layout of SCHEMA above.
 * - 2: the layout of SCHEMA above, its version checked on every open.
 */
export const CHECKPOINT_SCHEMA_VERSION = 2;

/**
 * MIGRATIONS[v] upgrades a file of version v to version v + 1. They run in one transaction with the version bump, so
 * an upgrade cut short (a crash, a full disk) leaves the file as it was.
 */
const MIGRATIONS: Readonly<Record<number, (db: Database.Database) => void>> = {
  1: (db) => {
    const columns = (db.prepare(`PRAGMA table_info(objects)`).all() as { name: string }[]).map((c) => c.name);
    // A copy written by a build without the delete recheck has nothing left to recheck: 1, as the column's default.
    if (!columns.includes('rechecked'))
      db.exec(`ALTER TABLE objects ADD COLUMN rechecked ${OBJECT_COLUMNS.rechecked.sql}`);
  },
};

/** What the file holds: nothing yet (a new checkpoint), a checkpoint (it has the meta table), or other tables. */
function layoutOf(db: Database.Database): 'empty' | 'checkpoint' | 'foreign' {
  const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map(
    (t) => t.name,
  );
  if (tables.includes('meta')) return 'checkpoint';
  return tables.length ? 'foreign' : 'empty';
}

function newerSchema(file: string, version: number): ConfigError {
  return new ConfigError(
    `checkpoint ${file} has schema version ${version}, newer than the version ${CHECKPOINT_SCHEMA_VERSION} this bucketmove knows; use the bucketmove that wrote it (or a newer one): this one leaves the file untouched`,
  );
}

/** A stored row as an ObjectRow (the table's columns, read as OBJECT_COLUMNS says). */
function rowOf(r: Record<string, unknown>): ObjectRow {
  const row: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const stored = r[columnOf(f)];
    const read = OBJECT_COLUMNS[f].read as ((v: unknown) => unknown) | undefined;
    row[f] = read ? read(stored) : stored;
  }
  return row as unknown as ObjectRow;
}

/** record()'s UPDATE: the outcome's columns ('set' or 'keep', OBJECT_COLUMNS), by the key. */
const RECORD_SQL = `UPDATE objects SET ${FIELDS.filter((f) => OBJECT_COLUMNS[f].record)
  .map((f) =>
    OBJECT_COLUMNS[f].record === 'keep' ? `${columnOf(f)} = COALESCE(@${f}, ${columnOf(f)})` : `${columnOf(f)} = @${f}`,
  )
  .join(', ')} WHERE key = @key`;

/** The listing's INSERT of a new key (addListedPage says what a known key keeps). */
const INSERT_LISTED_SQL = `INSERT INTO objects (${LISTED_FIELDS.map(columnOf).join(', ')}) VALUES (${LISTED_FIELDS.map((f) => `@${f}`).join(', ')})`;

/** How long a per-object write may wait in the queue, and how many writes make the queue flush at once. */
export const FLUSH_EVERY_MS = 20;
export const FLUSH_AT_OPS = 256;

export class Checkpoint {
  private readonly statements = new Map<string, Database.Statement>();
  /** Per-object writes not yet in the file, in the order they were made. */
  private queued: Array<() => void> = [];
  /** The keys the queued writes touch (get(key) of another key need not wait for them). */
  private queuedKeys = new Set<string>();
  private flushTimer?: NodeJS.Timeout;
  /** A queued write that failed when the timer flushed it: thrown by the next call (and by close). */
  private flushError?: unknown;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {}

  /**
   * Opens (creating if needed) the checkpoint for this migration. A checkpoint of another env, bucket pair or prefix
   * is refused: resuming it would mix two migrations. `:memory:` gives a throwaway one (dry runs).
   */
  static open(file: string, identity: CheckpointIdentity): Checkpoint {
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let db: Database.Database;
    let kind: ReturnType<typeof layoutOf>;
    try {
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      kind = layoutOf(db);
    } catch (err) {
      throw new ConfigError(
        `checkpoint ${file}: cannot open it as a SQLite database (${(err as Error).message}); give another --checkpoint path`,
      );
    }
    if (kind === 'foreign') {
      db.close();
      throw new ConfigError(
        `checkpoint ${file} is a SQLite database but not a bucketmove checkpoint (it has no meta table); give another --checkpoint path`,
      );
    }
    const cp = new Checkpoint(db, file);
    if (kind === 'empty') {
      cp.tx(() => {
        db.exec(SCHEMA);
        cp.setMeta('identity', JSON.stringify(identity));
        cp.setMeta('schema', String(CHECKPOINT_SCHEMA_VERSION));
      });
      return cp;
    }
    try {
      const stored = cp.getMeta('identity');
      const wanted = JSON.stringify(identity);
      if (stored !== undefined && stored !== wanted) {
        const was = JSON.parse(stored) as CheckpointIdentity;
        throw new ConfigError(
          `checkpoint ${file} belongs to another migration (env ${was.env}, ${was.legacyBucket} -> ${was.newBucket}, prefix "${was.prefix}"${was.shard ? `, shard ${was.shard}` : ''}${was.source ? `, ${was.source}` : ''}); give another --checkpoint path`,
        );
      }
      const version = cp.schemaVersion();
      if (version > CHECKPOINT_SCHEMA_VERSION) throw newerSchema(file, version);
      if (version < CHECKPOINT_SCHEMA_VERSION || stored === undefined) cp.upgrade(version, identity);
    } catch (err) {
      db.close();
      throw err;
    }
    return cp;
  }

  /** Opens an existing checkpoint read-only (the audit). A checkpoint of another schema version is refused. */
  static openReadOnly(file: string): Checkpoint {
    if (!fs.existsSync(file))
      throw new ConfigError(`checkpoint ${file} does not exist; run the migrator first or pass --checkpoint`);
    const db = new Database(file, { readonly: true, fileMustExist: true });
    const cp = new Checkpoint(db, file);
    try {
      const kind = layoutOf(db);
      if (kind !== 'checkpoint')
        throw new ConfigError(
          `checkpoint ${file}: not a bucketmove checkpoint (${kind === 'empty' ? 'an empty database' : 'it has no meta table'}); give the migrator's checkpoint`,
        );
      const version = cp.schemaVersion();
      if (version > CHECKPOINT_SCHEMA_VERSION) throw newerSchema(file, version);
      if (version < CHECKPOINT_SCHEMA_VERSION) {
        const id = cp.identity();
        const how = id
          ? `npm run migrate -- --env ${id.env} --checkpoint ${file}${id.shard ? ` --shard ${id.shard}` : ''}`
          : `npm run migrate -- --checkpoint ${file}`;
        throw new ConfigError(
          `checkpoint ${file} has schema version ${version}, older than the version ${CHECKPOINT_SCHEMA_VERSION} this bucketmove reads; resume the migration on it once with this version (${how}: it upgrades the file in place and redoes nothing already done), then run this again`,
        );
      }
    } catch (err) {
      db.close();
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        `checkpoint ${file}: cannot be read as a bucketmove checkpoint (${(err as Error).message.split('\n')[0]})`,
      );
    }
    return cp;
  }

  /** The layout version the file records; a file from before versions were read may lack it (then 1). */
  private schemaVersion(): number {
    const text = this.getMeta('schema');
    if (text === undefined) return 1;
    const v = Number(text);
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new ConfigError(
        `checkpoint ${this.file} records schema version "${text}", which no bucketmove writes; give another --checkpoint path`,
      );
    }
    return v;
  }

  /** Upgrades the file from `from` to CHECKPOINT_SCHEMA_VERSION in one transaction (see MIGRATIONS). */
  private upgrade(from: number, identity: CheckpointIdentity): void {
    try {
      this.upgradeSteps(from, identity);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        `checkpoint ${this.file}: the upgrade from schema version ${from} to ${CHECKPOINT_SCHEMA_VERSION} failed (${(err as Error).message.split('\n')[0]}); the file is as it was: finish the migration with the bucketmove that wrote it, or start a new checkpoint`,
      );
    }
  }

  private upgradeSteps(from: number, identity: CheckpointIdentity): void {
    this.tx(() => {
      for (let v = from; v < CHECKPOINT_SCHEMA_VERSION; v++) {
        const step = MIGRATIONS[v];
        if (!step) {
          throw new ConfigError(
            `checkpoint ${this.file} has schema version ${from}, which this bucketmove (schema version ${CHECKPOINT_SCHEMA_VERSION}) cannot upgrade; finish the migration with the bucketmove that wrote it, or start a new checkpoint`,
          );
        }
        step(this.db);
      }
      this.db.exec(SCHEMA); // whatever a version adds that CREATE ... IF NOT EXISTS can (tables, indexes)
      if (this.getMeta('identity') === undefined) this.setMeta('identity', JSON.stringify(identity));
      this.setMeta('schema', String(CHECKPOINT_SCHEMA_VERSION));
    });
  }

  identity(): CheckpointIdentity | undefined {
    const v = this.getMeta('identity');
    return v ? (JSON.parse(v) as CheckpointIdentity) : undefined;
  }

  /** Writes the queued per-object writes (one transaction); close() does it too. */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.flushError !== undefined) {
      const err = this.flushError;
      this.flushError = undefined;
      throw err;
    }
    if (this.queued.length === 0 || !this.db.open) return;
    const writes = this.queued;
    this.queued = [];
    this.queuedKeys = new Set();
    this.db.transaction(() => {
      for (const w of writes) w();
    })();
  }

  close(): void {
    if (!this.db.open) return;
    try {
      this.flush();
    } finally {
      this.db.close();
    }
  }

  // ---- listing -------------------------------------------------------------------------------------------------

  /**
   * Where listing resumes: after this cursor (the last key, for a listing); `complete` once the last page was recorded.
   */
  listCursor(): { startAfter?: string; complete: boolean } {
    return { startAfter: this.getMeta('list.startAfter'), complete: this.getMeta('list.complete') === 'true' };
  }

  /** Restarts the listing from the beginning (new keys get added; changed ones become pending again). */
  resetListing(): void {
    this.tx(() => {
      this.deleteMeta('list.startAfter');
      this.deleteMeta('list.complete');
    });
  }

  /**
   * Records one listing page and moves the cursor past it, in one transaction. A key already known keeps its state,
   * unless its ETag changed (the legacy object was rewritten): then it becomes pending again. A row without size and
   * ETag (a Bucket,Key manifest: size -1, etag '') keeps what the checkpoint knows of the key.
   */
  addListedPage(objects: readonly ListedObject[], isLastPage: boolean, cursor?: string): number {
    const insert = this.q(
      `${INSERT_LISTED_SQL}
       ON CONFLICT(key) DO UPDATE SET
         size = CASE WHEN excluded.size < 0 THEN objects.size ELSE excluded.size END,
         last_modified = COALESCE(excluded.last_modified, objects.last_modified),
         state = CASE WHEN excluded.etag = '' OR objects.etag = excluded.etag THEN objects.state ELSE 'pending' END,
         attempts = CASE WHEN excluded.etag = '' OR objects.etag = excluded.etag THEN objects.attempts ELSE 0 END,
         etag = CASE WHEN excluded.etag = '' THEN objects.etag ELSE excluded.etag END`,
    );
    let added = 0;
    this.tx(() => {
      const now = new Date().toISOString();
      for (const o of objects)
        added += insert.run({
          key: o.key,
          size: o.size,
          etag: o.etag,
          lastModified: o.lastModified ?? null,
          updatedAt: now,
        }).changes;
      const next = cursor ?? (objects.length ? objects[objects.length - 1].key : undefined);
      if (next !== undefined) this.setMeta('list.startAfter', next);
      if (isLastPage) this.setMeta('list.complete', 'true');
    });
    return added;
  }

  // ---- dispatch ------------------------------------------------------------------------------------------------

  /** Makes failed (and, when asked, quarantined) objects pending again, at the start of a run. */
  requeue(opts: { quarantined: boolean }): number {
    const states = opts.quarantined ? `('failed', 'quarantined')` : `('failed')`;
    return this.q(`UPDATE objects SET state = 'pending', attempts = 0 WHERE state IN ${states}`).run().changes;
  }

  /** The next pending objects after `afterKey`, in key order. */
  nextPending(afterKey: string | undefined, limit: number): ObjectRow[] {
    const rows =
      afterKey === undefined
        ? this.q(`SELECT * FROM objects WHERE state = 'pending' ORDER BY key LIMIT ?`).all(limit)
        : this.q(`SELECT * FROM objects WHERE state = 'pending' AND key > ? ORDER BY key LIMIT ?`).all(afterKey, limit);
    return (rows as Record<string, unknown>[]).map(rowOf);
  }

  /**
   * Counts an attempt as it starts (queued: in the file within FLUSH_EVERY_MS, long before the attempt's requests are
   * answered), so a crash loop on one object shows in its attempts.
   */
  markAttempt(key: string): void {
    const now = new Date().toISOString();
    this.enqueue(key, () =>
      this.q(`UPDATE objects SET attempts = attempts + 1, updated_at = ? WHERE key = ?`).run(now, key),
    );
  }

  /** Records a finished attempt's outcome (queued, see the module comment). */
  record(key: string, o: Outcome): void {
    const params: Record<string, unknown> = { key };
    for (const f of FIELDS) if (OBJECT_COLUMNS[f].record) params[f] = (o as Partial<Record<Field, unknown>>)[f] ?? null;
    params.rechecked = NEEDS_RECHECK.includes(o.state) ? 0 : 1;
    params.updatedAt = new Date().toISOString();
    this.enqueue(key, () => this.q(RECORD_SQL).run(params));
  }

  /** The copy of `key` survived the app's deletes (its legacy key was still listed after the write). Queued. */
  markRechecked(key: string): void {
    this.enqueue(key, () => this.q(`UPDATE objects SET rechecked = 1 WHERE key = ?`).run(key));
  }

  /** Copies written but not yet rechecked (a crash came between), in key order. */
  *unrechecked(batch = 1000): Generator<ObjectRow> {
    let after = '';
    for (;;) {
      const page = this.q(`SELECT * FROM objects WHERE rechecked = 0 AND key > ? ORDER BY key LIMIT ?`).all(
        after,
        batch,
      ) as Record<string, unknown>[];
      if (page.length === 0) return;
      for (const r of page) yield rowOf(r);
      after = page[page.length - 1].key as string;
    }
  }

  countUnrechecked(): number {
    return (this.q(`SELECT COUNT(*) AS n FROM objects WHERE rechecked = 0`).get() as { n: number }).n;
  }

  /**
   * One key's row. Writes queued for other keys are not written first: they cannot change it (the copy loop asks
   * often).
   */
  get(key: string): ObjectRow | undefined {
    const sql = `SELECT * FROM objects WHERE key = ?`;
    const mine = this.queuedKeys.has(key) || this.flushError !== undefined;
    const r = (mine ? this.q(sql) : this.prepared(sql)).get(key) as Record<string, unknown> | undefined;
    return r ? rowOf(r) : undefined;
  }

  /** Every row in key order, read in batches by key (memory stays flat, each batch an index range scan). */
  *rows(states?: readonly ObjectState[], batch = 1000): Generator<ObjectRow> {
    const filter = states ? `AND state IN (${states.map(() => '?').join(',')})` : '';
    const first = this.q(`SELECT * FROM objects WHERE 1 ${filter} ORDER BY key LIMIT ?`);
    const next = this.q(`SELECT * FROM objects WHERE key > ? ${filter} ORDER BY key LIMIT ?`);
    let page = first.all(...(states ?? []), batch) as Record<string, unknown>[];
    while (page.length) {
      for (const r of page) yield rowOf(r);
      page = next.all(page[page.length - 1].key as string, ...(states ?? []), batch) as Record<string, unknown>[];
    }
  }

  counts(): Record<ObjectState, { count: number; bytes: number }> {
    const out = Object.fromEntries(ALL_STATES.map((s) => [s, { count: 0, bytes: 0 }])) as Record<
      ObjectState,
      { count: number; bytes: number }
    >;
    for (const r of this.q(
      `SELECT state, COUNT(*) AS n, COALESCE(SUM(MAX(size, 0)), 0) AS b FROM objects GROUP BY state`,
    ).all() as {
      state: ObjectState;
      n: number;
      b: number;
    }[]) {
      out[r.state] = { count: r.n, bytes: r.b };
    }
    return out;
  }

  // ---- multipart uploads in flight (so a rerun after kill -9 can abort what was left) ----------------------------

  recordUpload(key: string, uploadId: string): void {
    this.q(`INSERT OR REPLACE INTO uploads (upload_id, key, started_at) VALUES (?, ?, ?)`).run(
      uploadId,
      key,
      new Date().toISOString(),
    );
  }

  clearUpload(uploadId: string): void {
    this.q(`DELETE FROM uploads WHERE upload_id = ?`).run(uploadId);
  }

  leftoverUploads(): { uploadId: string; key: string }[] {
    return this.q(`SELECT upload_id AS uploadId, key FROM uploads ORDER BY started_at`).all() as {
      uploadId: string;
      key: string;
    }[];
  }

  // ---- runs ----------------------------------------------------------------------------------------------------

  /** `startedAt`: when the run began, if not now (a Batch Operations job read back after it ran). */
  startRun(startedAt: string = new Date().toISOString()): number {
    return Number(this.q(`INSERT INTO runs (started_at) VALUES (?)`).run(startedAt).lastInsertRowid);
  }

  finishRun(id: number, outcome: string, summary: unknown): void {
    this.q(`UPDATE runs SET finished_at = ?, outcome = ?, summary = ? WHERE id = ?`).run(
      new Date().toISOString(),
      outcome,
      JSON.stringify(summary),
      id,
    );
  }

  runs(): RunRecord[] {
    return this.q(
      `SELECT id, started_at AS startedAt, finished_at AS finishedAt, outcome FROM runs ORDER BY id`,
    ).all() as RunRecord[];
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  /** Whether queued writes wait, or a flush failed and has not been reported yet. */
  private unwritten(): boolean {
    return this.queued.length > 0 || this.flushError !== undefined;
  }

  /** Queues a per-object write; the queue is written at FLUSH_AT_OPS writes or FLUSH_EVERY_MS after the first. */
  private enqueue(key: string, write: () => void): void {
    if (this.flushError !== undefined) this.flush(); // throws it
    this.queued.push(write);
    this.queuedKeys.add(key);
    if (this.queued.length >= FLUSH_AT_OPS) return this.flush();
    this.flushTimer ??= setTimeout(() => {
      try {
        this.flush();
      } catch (err) {
        this.flushError = err; // the queue's writes were rolled back: those objects stay pending
      }
    }, FLUSH_EVERY_MS);
  }

  /**
   * A prepared statement, prepared once per checkpoint. Any statement other than the queued writes' own writes the
   * queue first, so it reads (and writes after) everything that was recorded before it.
   */
  private q(sql: string): Database.Statement {
    if (this.unwritten() && !this.db.inTransaction) this.flush();
    return this.prepared(sql);
  }

  /** A prepared statement, without writing the queue first. */
  private prepared(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private tx(fn: () => void): void {
    if (this.unwritten() && !this.db.inTransaction) this.flush();
    this.db.transaction(fn)();
  }

  private getMeta(k: string): string | undefined {
    return (this.q(`SELECT v FROM meta WHERE k = ?`).get(k) as { v: string } | undefined)?.v;
  }

  private setMeta(k: string, v: string): void {
    this.q(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`).run(k, v);
  }

  private deleteMeta(k: string): void {
    this.q(`DELETE FROM meta WHERE k = ?`).run(k);
  }
}
