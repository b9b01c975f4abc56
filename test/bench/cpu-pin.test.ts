/**
 * BENCH_CPU_PIN (migrator/bench/bench-rig.ts): which CPUs the measured tools and the rig get, the one-line errors for
 * what cannot be pinned, and a measured command that really runs on the CPUs it was given (its own affinity read back
 * from /proc, where taskset's exec left it).
 */
import { CPU_PIN_ENV, cpuPinFromEnv, runMeasured } from '../../migrator/bench/bench-rig';

describe('BENCH_CPU_PIN', () => {
  it('is off unless set to 1', () => {
    expect(cpuPinFromEnv({}, 2)).toBeUndefined();
    expect(cpuPinFromEnv({ [CPU_PIN_ENV]: '' }, 2)).toBeUndefined();
    expect(cpuPinFromEnv({ [CPU_PIN_ENV]: '0' }, 2)).toBeUndefined();
  });

  it('puts the tools on CPU 0 and the rig on every other CPU', () => {
    expect(cpuPinFromEnv({ [CPU_PIN_ENV]: '1' }, 2)).toEqual({ client: '0', server: '1', serverCount: 1 });
    expect(cpuPinFromEnv({ [CPU_PIN_ENV]: '1' }, 8)).toEqual({ client: '0', server: '1-7', serverCount: 7 });
  });

  it('refuses a value it does not know, and a machine with one CPU, in one line', () => {
    expect(() => cpuPinFromEnv({ [CPU_PIN_ENV]: 'yes' }, 2)).toThrow(/^BENCH_CPU_PIN must be 1 \(pin\) or 0 .*"yes"$/);
    expect(() => cpuPinFromEnv({ [CPU_PIN_ENV]: '1' }, 1)).toThrow(/needs 2 CPUs or more \(this machine has 1\)/);
  });

  it('runs a measured command on the CPUs given, under GNU time', async () => {
    const r = await runMeasured(
      process.execPath,
      [
        '-e',
        "process.stdout.write(/Cpus_allowed_list:\\s*(\\S+)/.exec(require('fs').readFileSync('/proc/self/status', 'utf8'))[1])",
      ],
      { PATH: process.env.PATH },
      { cpu: true, cpus: '0' },
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe('0');
    expect(r.cpuSeconds).toBeGreaterThan(0);
  });
});
