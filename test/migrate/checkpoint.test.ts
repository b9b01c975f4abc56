import Database from 'better-sqlite3';
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import {
  Checkpoint,
  CHECKPOINT_SCHEMA_VERSION,
  FLUSH_AT_OPS,
  FLUSH_EVERY_MS,
} from '../../migrator/src/migrate/checkpoint';
import { ConfigError } from '../../workspaces/errors';
import { tmpDirPerFile } from '../helpers/tmp';

const ID = { env: 'local', legacyBucket: 'old', newBucket: 'new', prefix: '' };
const tmpDir = tmpDirPerFile('bm-cp-');
const tmp = () => path.join(tmpDir(), 'cp.sqlite');
const obj = (key: string, etag = 'e1', size = 10) => ({ key, etag, size });

describe('Checkpoint', () => {
  test('records pages and resumes the listing after the last recorded key', () => {
    const file = tmp();
    const cp = Checkpoint.open(file, ID);
    expect(cp.listCursor()).toEqual({ startAfter: undefined, complete: false });
    cp.addListedPage([obj('a'), obj('b')], false);
    cp.close();
    const again = Checkpoint.open(file, ID);
    expect(again.listCursor()).toEqual({ startAfter: 'b', complete: false });
    again.addListedPage([obj('c')], true);
    expect(again.listCursor()).toEqual({ startAfter: 'c', complete: true });
    expect(again.counts().pending).toEqual({ count: 3, bytes: 30 });
    again.close();
  });

  test('pending rows come in key order after a cursor; done rows stay done across reopen', () => {
    const file = tmp();
    const cp = Checkpoint.open(file, ID);
    cp.addListedPage(
      ['d', 'a', 'c', 'b'].map((k) => obj(k)),
      true,
    );
    expect(cp.nextPending(undefined, 2).map((r) => r.key)).toEqual(['a', 'b']);
    expect(cp.nextPending('b', 10).map((r) => r.key)).toEqual(['c', 'd']);
    cp.markAttempt('a');
    cp.record('a', {
      state: 'copied',
      plaintextSha256: 'f'.repeat(64),
      plaintextSize: 5,
      versionId: 'v1',
      newVersionId: 'n1',
    });
    cp.record('b', { state: 'quarantined', errorCode: 'Codec.auth', errorMessage: 'bad tag', httpStatus: null });
    cp.record('c', { state: 'failed', errorCode: 'SlowDown', errorMessage: 'slow', httpStatus: 503 });
    cp.close();
    const again = Checkpoint.open(file, ID);
    expect(again.get('a')).toMatchObject({
      state: 'copied',
      attempts: 1,
      plaintextSize: 5,
      versionId: 'v1',
      newVersionId: 'n1',
    });
    expect(again.nextPending(undefined, 10).map((r) => r.key)).toEqual(['d']);
    expect(again.requeue({ quarantined: false })).toBe(1); // c
    expect(again.nextPending(undefined, 10).map((r) => r.key)).toEqual(['c', 'd']);
    expect(again.requeue({ quarantined: true })).toBe(1); // b
    expect(again.get('b')).toMatchObject({ state: 'pending', attempts: 0 });
    again.close();
  });

  test('a re-listed key keeps its state unless its ETag changed', () => {
    const cp = Checkpoint.open(':memory:', ID);
    cp.addListedPage([obj('a'), obj('b')], true);
    cp.record('a', { state: 'copied' });
    cp.record('b', { state: 'copied' });
    cp.resetListing();
    cp.addListedPage([obj('a'), obj('b', 'e2'), obj('z')], true);
    expect(cp.get('a')?.state).toBe('copied');
    expect(cp.get('b')).toMatchObject({ state: 'pending', etag: 'e2' });
    expect(cp.get('z')?.state).toBe('pending');
  });

  test('rows() streams every row in key order in batches, optionally by state', () => {
    const cp = Checkpoint.open(':memory:', ID);
    const keys = Array.from({ length: 2500 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
    cp.addListedPage(
      keys.map((k) => obj(k)),
      true,
    );
    cp.record(keys[7], { state: 'quarantined' });
    expect([...cp.rows(undefined, 100)].map((r) => r.key)).toEqual(keys);
    expect([...cp.rows(['quarantined'])].map((r) => r.key)).toEqual([keys[7]]);
  });

  test('multipart uploads in flight are remembered until cleared', () => {
    const cp = Checkpoint.open(':memory:', ID);
    cp.recordUpload('big.jpg', 'u1');
    cp.recordUpload('big2.jpg', 'u2');
    cp.clearUpload('u1');
    expect(cp.leftoverUploads()).toEqual([{ uploadId: 'u2', key: 'big2.jpg' }]);
  });

  test('runs are recorded', () => {
    const cp = Checkpoint.open(':memory:', ID);
    const id = cp.startRun();
    cp.finishRun(id, 'complete', { n: 1 });
    expect(cp.runs()).toMatchObject([{ id, outcome: 'complete' }]);
  });

  test('a checkpoint of another migration is refused with a one-line error', () => {
    const file = tmp();
    Checkpoint.open(file, ID).close();
    expect(() => Checkpoint.open(file, { ...ID, newBucket: 'other' })).toThrow(ConfigError);
    expect(() => Checkpoint.open(file, { ...ID, prefix: 'chats/' })).toThrow(
      /belongs to another migration .*give another --checkpoint path$/,
    );
  });

  test('a file that is not SQLite is a one-line error', () => {
    const file = tmp();
    fs.writeFileSync(file, 'this is not a database, it is a note');
    expect(() => Checkpoint.open(file, ID)).toThrow(/cannot open it as a SQLite database/);
  });
});

describe('schema versions', () => {
  /** A checkpoint file of the first layout of schema version 1 (test/fixtures/checkpoint-v1: how it was made). */
  const v1File = () => {
    const file = tmp();
    const db = new Database(file);
    db.exec(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'checkpoint-v1', 'checkpoint-v1.sql'), 'utf8'));
    db.close();
    return file;
  };
  const inspect = (file: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return {
        schema: (db.prepare(`SELECT v FROM meta WHERE k = 'schema'`).get() as { v: string }).v,
        columns: (db.prepare(`PRAGMA table_info(objects)`).all() as { name: string }[]).map((c) => c.name),
      };
    } finally {
      db.close();
    }
  };
  const setSchema = (file: string, v: string) => {
    const db = new Database(file);
    db.prepare(`UPDATE meta SET v = ? WHERE k = 'schema'`).run(v);
    db.close();
  };

  test('a new checkpoint records the current version', () => {
    const file = tmp();
    Checkpoint.open(file, ID).close();
    expect(CHECKPOINT_SCHEMA_VERSION).toBe(2);
    expect(inspect(file)).toMatchObject({ schema: '2' });
  });

  test("the objects table, built from its one column list, is version 2's layout, column by column", () => {
    const file = tmp();
    Checkpoint.open(file, ID).close();
    const db = new Database(file, { readonly: true });
    const columns = db.prepare(`PRAGMA table_info(objects)`).all() as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    db.close();
    expect(columns.map((c) => [c.name, c.type, c.notnull, c.dflt_value, c.pk])).toEqual([
      ['key', 'TEXT', 0, null, 1],
      ['size', 'INTEGER', 1, null, 0],
      ['etag', 'TEXT', 1, null, 0],
      ['last_modified', 'TEXT', 0, null, 0],
      ['state', 'TEXT', 1, "'pending'", 0],
      ['attempts', 'INTEGER', 1, '0', 0],
      ['version_id', 'TEXT', 0, null, 0],
      ['error_code', 'TEXT', 0, null, 0],
      ['error_message', 'TEXT', 0, null, 0],
      ['http_status', 'INTEGER', 0, null, 0],
      ['plaintext_sha256', 'TEXT', 0, null, 0],
      ['plaintext_size', 'INTEGER', 0, null, 0],
      ['new_version_id', 'TEXT', 0, null, 0],
      ['rechecked', 'INTEGER', 1, '1', 0],
      ['updated_at', 'TEXT', 0, null, 0],
    ]);
  });

  test('a row reads back as it was recorded: every field through its column', () => {
    const cp = Checkpoint.open(tmp(), ID);
    cp.addListedPage([{ key: 'k', size: 5, etag: '"e"', lastModified: '2025-01-01T00:00:00.000Z' }, obj('m')], true);
    cp.markAttempt('k');
    cp.record('k', {
      state: 'copied',
      versionId: 'v1',
      size: 6,
      plaintextSha256: 'ab'.repeat(32),
      plaintextSize: 4,
      newVersionId: 'n1',
      errorCode: null,
      errorMessage: null,
      httpStatus: null,
    });
    cp.record('k', { state: 'failed', errorCode: 'SlowDown', errorMessage: 'slow', httpStatus: 503 });
    expect(cp.get('k')).toEqual({
      key: 'k',
      size: 6,
      etag: '"e"',
      lastModified: '2025-01-01T00:00:00.000Z',
      state: 'failed',
      attempts: 1,
      versionId: 'v1', // kept: the second outcome had none
      errorCode: 'SlowDown',
      errorMessage: 'slow',
      httpStatus: 503,
      plaintextSha256: 'ab'.repeat(32),
      plaintextSize: 4,
      newVersionId: 'n1',
      rechecked: true,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(cp.get('m')).toMatchObject({ lastModified: undefined, state: 'pending', attempts: 0, rechecked: true });
    cp.close();
  });

  test('opening a version 1 checkpoint (first layout) to write upgrades it in place: the column added, rows kept, version bumped', () => {
    const file = v1File();
    expect(inspect(file)).toEqual({ schema: '1', columns: expect.not.arrayContaining(['rechecked']) });
    const cp = Checkpoint.open(file, ID);
    expect(inspect(file)).toEqual({ schema: '2', columns: expect.arrayContaining(['rechecked']) });
    expect(cp.listCursor()).toEqual({ startAfter: 'chats/3/photo.jpg', complete: true });
    expect(cp.get('chats/1/photo.jpg')).toMatchObject({
      state: 'copied',
      attempts: 1,
      plaintextSize: 1100,
      rechecked: true,
    });
    expect(cp.get('chats/2/photo.jpg')).toMatchObject({ state: 'quarantined', errorCode: 'Codec.auth' });
    expect(cp.countUnrechecked()).toBe(0);
    expect(cp.nextPending(undefined, 10).map((r) => r.key)).toEqual(['chats/3/photo.jpg']);
    expect(cp.leftoverUploads()).toEqual([{ uploadId: 'upload-1', key: 'chats/9/big.jpg' }]);
    expect(cp.runs()).toMatchObject([{ id: 1, outcome: 'incomplete' }]);
    // what the upgrade was for: the current code's writes, which set the new column
    cp.record('chats/3/photo.jpg', { state: 'copied', plaintextSha256: 'b'.repeat(64), plaintextSize: 600 });
    expect(cp.get('chats/3/photo.jpg')).toMatchObject({ state: 'copied', rechecked: false });
    cp.close();
    expect(() => Checkpoint.open(file, ID).close()).not.toThrow(); // upgraded once; reopening changes nothing
    expect(inspect(file).schema).toBe('2');
  });

  test('a version 1 checkpoint of the later layout (it has the column) is only renumbered', () => {
    const file = tmp();
    Checkpoint.open(file, ID).close();
    setSchema(file, '1');
    Checkpoint.open(file, ID).close();
    expect(inspect(file).schema).toBe('2');
  });

  test('read-only (the audit), an older checkpoint is refused in one line naming both versions and what to do, and left as it was', () => {
    const file = v1File();
    const before = fs.readFileSync(file);
    expect(() => Checkpoint.openReadOnly(file)).toThrow(ConfigError);
    expect(() => Checkpoint.openReadOnly(file)).toThrow(
      new ConfigError(
        `checkpoint ${file} has schema version 1, older than the version 2 this bucketmove reads; resume the migration on it once with this version (npm run migrate -- --env local --checkpoint ${file}: it upgrades the file in place and redoes nothing already done), then run this again`,
      ),
    );
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  test('an upgrade that fails half-way leaves the file as it was (one transaction)', () => {
    const file = v1File();
    const db = new Database(file);
    // The version bump, the upgrade's last write, fails: the column added before it must be gone again.
    db.exec(`CREATE TRIGGER no_bump BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;`);
    db.close();
    expect(() => Checkpoint.open(file, ID)).toThrow(
      new ConfigError(
        `checkpoint ${file}: the upgrade from schema version 1 to 2 failed (the disk is full); the file is as it was: finish the migration with the bucketmove that wrote it, or start a new checkpoint`,
      ),
    );
    expect(inspect(file)).toEqual({ schema: '1', columns: expect.not.arrayContaining(['rechecked']) });
  });

  test('a newer checkpoint is refused, read-write and read-only, and left untouched', () => {
    const file = tmp();
    const cp = Checkpoint.open(file, ID);
    cp.addListedPage([obj('a')], true);
    cp.close();
    setSchema(file, '3');
    const message = `checkpoint ${file} has schema version 3, newer than the version 2 this bucketmove knows; use the bucketmove that wrote it (or a newer one): this one leaves the file untouched`;
    expect(() => Checkpoint.open(file, ID)).toThrow(new ConfigError(message));
    expect(() => Checkpoint.openReadOnly(file)).toThrow(new ConfigError(message));
    expect(inspect(file).schema).toBe('3');
  });

  test('a version no bucketmove wrote, and a SQLite file that is not a checkpoint, are refused', () => {
    const file = tmp();
    Checkpoint.open(file, ID).close();
    setSchema(file, 'two');
    expect(() => Checkpoint.open(file, ID)).toThrow(
      `checkpoint ${file} records schema version "two", which no bucketmove writes; give another --checkpoint path`,
    );
    const other = tmp();
    const db = new Database(other);
    db.exec('CREATE TABLE notes (t TEXT)');
    db.close();
    expect(() => Checkpoint.open(other, ID)).toThrow(
      /is a SQLite database but not a bucketmove checkpoint \(it has no meta table\)/,
    );
    expect(() => Checkpoint.openReadOnly(other)).toThrow(/not a bucketmove checkpoint \(it has no meta table\)/);
  });
});

describe('per-object writes are queued and written in batches (one transaction per tick)', () => {
  const copied = (i: number) => ({
    state: 'copied' as const,
    plaintextSha256: String(i).padStart(64, '0'),
    plaintextSize: i,
    newVersionId: `n${i}`,
  });
  /** What another process sees in the file (the checkpoint left open, as a kill -9 would leave it). */
  const fromOutside = (file: string) => {
    const ro = Checkpoint.openReadOnly(file);
    try {
      return [...ro.rows()];
    } finally {
      ro.close();
    }
  };

  test('a read on the same checkpoint sees every earlier write; the file sees them after the tick, or at close', async () => {
    const file = tmp();
    const cp = Checkpoint.open(file, ID);
    cp.addListedPage([obj('a'), obj('b')], true);
    cp.markAttempt('a');
    cp.record('a', copied(1));
    expect(cp.get('a')).toMatchObject({ state: 'copied', attempts: 1, plaintextSize: 1, rechecked: false });
    cp.markRechecked('a');
    cp.markAttempt('b');
    // Not in the file yet: a kill -9 now loses b's attempt and a's recheck, and nothing else.
    expect(fromOutside(file).map((r) => [r.key, r.state, r.attempts, r.rechecked])).toEqual([
      ['a', 'copied', 1, false],
      ['b', 'pending', 0, true],
    ]);
    await new Promise((r) => setTimeout(r, FLUSH_EVERY_MS * 5));
    expect(fromOutside(file).map((r) => [r.key, r.state, r.attempts, r.rechecked])).toEqual([
      ['a', 'copied', 1, true],
      ['b', 'pending', 1, true],
    ]);
    cp.record('b', copied(2));
    cp.close();
    expect(fromOutside(file).find((r) => r.key === 'b')).toMatchObject({ state: 'copied', plaintextSize: 2 });
  });

  test("get(key) waits for the key's own queued writes, not for other keys' (the dispatcher asks for every key it starts)", () => {
    const file = tmp();
    const cp = Checkpoint.open(file, ID);
    cp.addListedPage([obj('a'), obj('b')], true);
    cp.record('a', copied(1));
    expect(cp.get('b')?.state).toBe('pending');
    expect(fromOutside(file).find((r) => r.key === 'a')?.state).toBe('pending'); // still queued: b's read did not write it
    expect(cp.get('a')?.state).toBe('copied'); // a's read writes a's queue first
    expect(fromOutside(file).find((r) => r.key === 'a')?.state).toBe('copied');
    cp.close();
  });

  test(`${FLUSH_AT_OPS} queued writes are written at once, in one transaction`, () => {
    const file = tmp();
    const cp = Checkpoint.open(file, ID);
    cp.addListedPage(
      Array.from({ length: FLUSH_AT_OPS }, (_, i) => obj(`k${String(i).padStart(4, '0')}`)),
      true,
    );
    for (let i = 0; i < FLUSH_AT_OPS - 1; i++) cp.record(`k${String(i).padStart(4, '0')}`, copied(i));
    expect(fromOutside(file).filter((r) => r.state === 'copied')).toHaveLength(0);
    cp.record(`k${String(FLUSH_AT_OPS - 1).padStart(4, '0')}`, copied(FLUSH_AT_OPS - 1));
    expect(fromOutside(file).filter((r) => r.state === 'copied')).toHaveLength(FLUSH_AT_OPS);
    cp.close();
  });

  test('killed with SIGKILL mid-run: the file holds a prefix of the writes, never an outcome that was not recorded, and a reopen redoes the rest', () => {
    const file = tmp();
    const seed = Checkpoint.open(file, ID);
    const keys = Array.from({ length: 2000 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    seed.addListedPage(
      keys.map((k) => obj(k)),
      true,
    );
    seed.close();
    // A child records "attempt, outcome" per key in order, as the copy loop does, and SIGKILLs itself part-way: after
    // some flushes (timer and full queue) and with a queue not yet written.
    const child = `
      const { Checkpoint } = require(${JSON.stringify(path.resolve(__dirname, '../../migrator/src/migrate/checkpoint'))});
      const cp = Checkpoint.open(${JSON.stringify(file)}, ${JSON.stringify(ID)});
      let i = 0;
      const step = () => {
        for (let n = 0; n < 7 && i < 1500; n++, i++) {
          const key = 'k' + String(i).padStart(5, '0');
          cp.markAttempt(key);
          cp.record(key, { state: 'copied', plaintextSha256: String(i).padStart(64, '0'), plaintextSize: i, newVersionId: 'n' + i });
        }
        if (i >= 1500) { process.stdout.write(String(i)); process.kill(process.pid, 'SIGKILL'); }
        setTimeout(step, 1);
      };
      step();`;
    const res = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', child], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(res.signal).toBe('SIGKILL');
    expect(res.stdout).toBe('1500'); // it made 1500 records before the kill
    const rows = fromOutside(file);
    const done = rows.filter((r) => r.state === 'copied');
    // A prefix, each with its own outcome and attempt; a key whose record was queued at the kill stays pending
    // (redone).
    expect(done.map((r) => r.key)).toEqual(keys.slice(0, done.length));
    expect(done.every((r, i) => r.plaintextSize === i && r.attempts === 1 && r.newVersionId === `n${i}`)).toBe(true);
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(1500); // the last queue was lost: those keys are redone, never falsely done
    expect(rows.slice(done.length).every((r) => r.state === 'pending')).toBe(true);
    const again = Checkpoint.open(file, ID);
    expect(again.nextPending(undefined, 1)[0].key).toBe(keys[done.length]);
    again.close();
  });

  test('a failed batch write is rolled back whole and thrown by the next call, not lost silently', async () => {
    const file = tmp();
    const cp = Checkpoint.open(file, ID);
    cp.addListedPage([obj('a'), obj('b')], true);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE'); // another writer holds the write lock past the checkpoint's 5 s busy timeout
    cp.record('a', copied(1));
    cp.record('b', copied(2));
    await new Promise((r) => setTimeout(r, FLUSH_EVERY_MS * 3)); // the timer's flush waits 5 s, then fails
    other.exec('ROLLBACK');
    other.close();
    expect(() => cp.get('a')).toThrow(/locked|busy/i);
    expect(fromOutside(file).map((r) => r.state)).toEqual(['pending', 'pending']);
    expect(cp.get('a')?.state).toBe('pending'); // reported once; both objects are redone by the next run
    cp.close();
  }, 20_000);
});
