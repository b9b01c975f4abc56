/**
 * The demo's light load counts each upload by the bucket it went to (the mode of the instance that took it), which is
 * what makes the demo's summary add up: legacy objects migrated = seeded + uploads through instances writing to legacy.
 * A tiny in-memory photo service stands in for the fleet's instances.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { LightLoad } from '../../migrator/src/demo/load';
import { STORE_MODES, type StoreMode } from '../../migrator/src/store/modes';

test('uploads are counted by the bucket the instance that took them writes to', async () => {
  const stored = new Map<string, Buffer>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = decodeURIComponent(req.url!.replace(/^\/photos\//, ''));
      if (req.method === 'PUT') {
        stored.set(key, Buffer.concat(chunks));
        res.writeHead(201).end('{}');
      } else if (stored.has(key)) {
        res.writeHead(200, { 'X-Photo-Source': 'new' }).end(stored.get(key));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stored.set('chats/1/photos/a.jpg', Buffer.from('a'));
  const sha = 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb'; // sha256("a")

  // Every request goes to an "instance" of the next mode in turn; the counts per mode are kept aside.
  const byMode = new Map<StoreMode, number>();
  let n = 0;
  const load = new LightLoad({
    send: (request) => {
      const mode = STORE_MODES[n++ % STORE_MODES.length];
      return request(url, mode).then((out) => {
        if (out && typeof out === 'object' && 'mode' in out) byMode.set(mode, (byMode.get(mode) ?? 0) + 1);
        return out;
      });
    },
    photos: new Map([['chats/1/photos/a.jpg', sha]]),
    clients: 2,
    pauseMs: 1,
  });
  load.start();
  while (load.stats.uploads < 20) await new Promise((r) => setTimeout(r, 10));
  await load.stop();
  server.close();

  expect(load.stats.failed).toBe(0);
  const toLegacy = (byMode.get('legacy-only') ?? 0) + (byMode.get('read-both-write-legacy') ?? 0);
  expect(load.stats.uploads).toBe([...byMode.values()].reduce((a, b) => a + b, 0));
  expect(load.stats.uploadsToLegacy).toBe(toLegacy);
  expect(load.stats.uploadsToLegacy).toBeGreaterThan(0);
  expect(load.stats.uploadsToLegacy).toBeLessThan(load.stats.uploads);
});
