/**
 * bench-rig.ts: what the benches read of the rig's daemons from /proc (their CPU and their minor page faults), and the
 * cost of a page of fresh memory that bench:large-object prints beside them. The "daemon" here is this process.
 */
import { freshPageMicros, serverCpuSeconds, serverUsage } from '../../migrator/bench/bench-rig';

// The watchdog is not a daemon of the server: it is never read (a pid that does not exist would throw).
const state = { pids: { osd: process.pid, watchdog: 2 ** 22 + 1 } };

describe("the rig's daemons as /proc counts them", () => {
  test('minor page faults grow by at least the pages of fresh memory a daemon touched', () => {
    const before = serverUsage(state).minorFaults;
    const bytes = 32 * 1024 * 1024;
    const buf = Buffer.allocUnsafeSlow(bytes);
    buf.fill(1);
    const after = serverUsage(state).minorFaults;
    expect(after - before).toBeGreaterThanOrEqual(bytes / 4096 / 2);
    expect(buf[bytes - 1]).toBe(1);
  });

  test('CPU seconds grow with the CPU a daemon spent', () => {
    const before = serverCpuSeconds(state);
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 300_000);
    expect(serverCpuSeconds(state) - before).toBeGreaterThanOrEqual(0.2);
  });

  test('a page of fresh memory costs a positive, finite number of microseconds', () => {
    const us = freshPageMicros(8);
    expect(Number.isFinite(us)).toBe(true);
    expect(us).toBeGreaterThan(0);
  });
});
