import * as fs from 'fs';
import * as path from 'path';
import { Checkpoint } from '../../migrator/src/migrate/checkpoint';
import { ConfigError } from '../../workspaces/load';
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
    cp.addListedPage(['d', 'a', 'c', 'b'].map((k) => obj(k)), true);
    expect(cp.nextPending(undefined, 2).map((r) => r.key)).toEqual(['a', 'b']);
    expect(cp.nextPending('b', 10).map((r) => r.key)).toEqual(['c', 'd']);
    expect(cp.markAttempt('a')).toBe(1);
    cp.record('a', { state: 'copied', plaintextSha256: 'f'.repeat(64), plaintextSize: 5, versionId: 'v1', newVersionId: 'n1' });
    cp.record('b', { state: 'quarantined', errorCode: 'Codec.auth', errorMessage: 'bad tag', httpStatus: null });
    cp.record('c', { state: 'failed', errorCode: 'SlowDown', errorMessage: 'slow', httpStatus: 503 });
    cp.close();
    const again = Checkpoint.open(file, ID);
    expect(again.get('a')).toMatchObject({ state: 'copied', attempts: 1, plaintextSize: 5, versionId: 'v1', newVersionId: 'n1' });
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
    cp.addListedPage(keys.map((k) => obj(k)), true);
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
    expect(() => Checkpoint.open(file, { ...ID, prefix: 'chats/' })).toThrow(/belongs to another migration .*give another --checkpoint path$/);
  });

  test('a file that is not SQLite is a one-line error', () => {
    const file = tmp();
    fs.writeFileSync(file, 'this is not a database, it is a note');
    expect(() => Checkpoint.open(file, ID)).toThrow(/cannot open it as a SQLite database/);
  });
});
