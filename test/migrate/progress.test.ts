/**
 * The progress bars a person sees on a terminal (the migrator's and the audit's), drawn into a stream that says it is a
 * terminal: the time left is "-" until a rate is known and a duration after, never cli-progress's "NULL" (which its
 * own {eta} token shows at the start and once the bar is full).
 */
import { PassThrough } from 'stream';
import { AuditProgress } from '../../migrator/src/audit/progress';
import { createLogger } from '../../migrator/src/log';
import { MigrateProgress } from '../../migrator/src/migrate/progress';
import { timeLeft } from '../../migrator/src/progress/format';
import type { ObjectRow } from '../../migrator/src/objects/records';

/** A stream cli-progress takes for a terminal, keeping what is drawn. */
function fakeTerminal(): { stream: NodeJS.WritableStream; text: () => string } {
  const stream = Object.assign(new PassThrough(), {
    isTTY: true,
    columns: 160,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

const log = createLogger({ name: 'progress-test', level: 'silent' });
const row = (i: number) => ({ key: `k${i}`, size: 1000 }) as ObjectRow;

test('the time left: "-" without a rate, a duration with one', () => {
  expect(timeLeft(null)).toBe('-');
  expect(timeLeft(0)).toBe('0s');
  expect(timeLeft(75)).toBe('1m15s');
});

test("the migrator's bar, from start to finish, shows the time left and never NULL", async () => {
  const term = fakeTerminal();
  const bar = new MigrateProgress({ log, knownTotal: 0, alreadyDone: 0, tty: true, stream: term.stream });
  bar.start();
  bar.listed(3);
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 5));
    bar.finished(row(i), { state: 'copied' } as never);
  }
  bar.stop();
  const drawn = term.text();
  expect(drawn).toContain('3/3 objects');
  expect(drawn).toMatch(/ETA (-|\d+s) \|/);
  expect(drawn).toMatch(/ETA 0s \| problems 0/); // finished
  expect(drawn).not.toMatch(/NULL|undefined|NaN|Infinity/);
});

test('a rerun with nothing left to do: the bar full from the start, its time left "-" (cli-progress said NULL)', () => {
  const term = fakeTerminal();
  const bar = new MigrateProgress({ log, knownTotal: 3, alreadyDone: 3, tty: true, stream: term.stream });
  bar.start();
  bar.stop();
  const drawn = term.text();
  expect(drawn).toContain('3/3 objects');
  expect(drawn).toMatch(/ETA - \| problems 0/);
  expect(drawn).not.toMatch(/NULL|undefined|NaN|Infinity/);
});

test("the audit's bar, from start to finish, shows the time left and never NULL", async () => {
  const term = fakeTerminal();
  const bar = new AuditProgress({ log, tty: true, expectedKeys: 2, stream: term.stream });
  bar.start();
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setTimeout(r, 5));
    bar.checked(false);
  }
  bar.stop();
  const drawn = term.text();
  expect(drawn).toContain('2/2 legacy keys');
  expect(drawn).toMatch(/ETA 0s \| problems 0/);
  expect(drawn).not.toMatch(/NULL|undefined|NaN|Infinity/);
});
