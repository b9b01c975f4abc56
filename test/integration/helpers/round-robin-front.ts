/**
 * A small round-robin front for a fleet of photo service instances, as a load balancer runs it during a rolling
 * deploy: each request goes to the next instance in rotation; `drain(slot)` takes an instance out of rotation and
 * waits until the requests it was given have finished, so it can be stopped without failing anyone; `set(slot, url)`
 * puts its replacement in. `/_slot/<i>/...` pins a request to instance i (the test's cross-instance cases).
 *
 * The front itself never retries: a request that cannot reach its instance is answered 502 and counted in `errors`.
 * Each answer says which instance served it (`X-Front-Slot`) and in which mode (`X-Front-Label`).
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

interface Slot {
  url?: URL;
  label: string;
  agent?: http.Agent;
  inFlight: number;
  idle?: () => void;
}

export interface Front {
  readonly url: string;
  /** Puts an instance (its base URL) into rotation in a slot. */
  set(slot: number, url: string, label: string): void;
  /** Takes the slot out of rotation; resolves when none of its requests is in flight any more. */
  drain(slot: number): Promise<void>;
  /** Resolves when no request that reached the front before `t` (performance.now()) is still in flight. */
  settled(t: number): Promise<void>;
  /** Requests the front could not forward (each answered 502), with why. */
  readonly errors: string[];
  close(): Promise<void>;
}

const PIN = /^\/_slot\/(\d+)(\/.*)$/;

export async function startFront(size: number): Promise<Front> {
  const slots: Slot[] = Array.from({ length: size }, () => ({ label: '', inFlight: 0 }));
  /** The requests in flight: id -> when it reached the front. */
  const inFlight = new Map<number, number>();
  const errors: string[] = [];
  let next = 0;
  let ids = 0;

  const pick = (path: string): { slot: number; path: string } | undefined => {
    const pin = PIN.exec(path);
    if (pin) {
      const slot = Number(pin[1]);
      return slots[slot]?.url ? { slot, path: pin[2] } : undefined;
    }
    for (let i = 0; i < size; i++) {
      const slot = (next + i) % size;
      if (slots[slot].url) {
        next = (slot + 1) % size;
        return { slot, path };
      }
    }
    return undefined;
  };

  const server = http.createServer((req, res) => {
    const id = ids++;
    inFlight.set(id, performance.now());
    const target = pick(req.url ?? '/');
    if (!target) {
      errors.push(`${req.method} ${req.url}: no instance in rotation`);
      inFlight.delete(id);
      res.writeHead(503).end();
      return;
    }
    const slot = slots[target.slot];
    slot.inFlight++;
    res.on('close', () => {
      inFlight.delete(id);
      if (--slot.inFlight === 0) slot.idle?.();
    });
    const upstream = http.request(
      {
        host: slot.url!.hostname,
        port: slot.url!.port,
        method: req.method,
        path: target.path,
        headers: req.headers,
        agent: slot.agent,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, {
          ...up.headers,
          'x-front-slot': String(target.slot),
          'x-front-label': slot.label,
        });
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      errors.push(`${req.method} ${req.url} -> instance ${target.slot} (${slot.label}): ${err.message}`);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  });
  // As a load balancer does (an ALB's idle timeout is 60 s), the front keeps an idle client connection open longer
  // than its clients do, so a client never sends a request on a socket the front is closing at that moment (Node's
  // default of 5 s raced the load clients' reuse on a loaded machine: "fetch failed" with no request at the front).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    errors,
    set(i, url, label) {
      slots[i].agent?.destroy();
      // Idle connections are dropped after 1 s, well before the service's keep-alive timeout (Node's default, 5 s):
      // a connection the service closes just as the front reuses it would fail that request with ECONNRESET. (A load
      // balancer is configured the same way: its idle timeout shorter than the targets' keep-alive timeout.)
      Object.assign(slots[i], {
        url: new URL(url),
        label,
        agent: new http.Agent({ keepAlive: true, maxSockets: 32, timeout: 1000 }),
      });
    },
    async drain(i) {
      const slot = slots[i];
      slot.url = undefined;
      if (slot.inFlight > 0) await new Promise<void>((resolve) => (slot.idle = resolve));
      slot.idle = undefined;
      slot.agent?.destroy();
      slot.agent = undefined;
    },
    async settled(t) {
      while ([...inFlight.values()].some((at) => at < t)) await new Promise((r) => setTimeout(r, 20));
    },
    async close() {
      slots.forEach((s) => s.agent?.destroy());
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
