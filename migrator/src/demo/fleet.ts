/**
 * The demo's app: a few instances of the reference photo service (the built dist/, as `npm run photo-service` runs it),
 * each wired from the environment with a PHOTO_STORE_MODE, and a rolling deploy that switches them to the next mode
 * one at a time: taken out of rotation, its requests in flight finished, stopped with SIGTERM, started with the new
 * mode, put back. Requests go round-robin over the instances in rotation. All their JSON log lines go, whole lines, to
 * one file: the audit's local log, as a log group gathers a fleet's.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as readline from 'readline';
import type { StoreMode } from '../store/modes';

interface Instance {
  url: string;
  mode: StoreMode;
  child: ChildProcess;
  exited: Promise<void>;
  serving: boolean;
  inFlight: number;
  idle?: () => void;
}

export class Fleet {
  private readonly instances: Instance[] = [];
  private readonly log: fs.WriteStream;
  private next = 0;

  /** `script`: the service's main.js, run in `cwd`; `env`: the store's variables but the mode. */
  constructor(
    private readonly script: string,
    private readonly cwd: string,
    private readonly env: NodeJS.ProcessEnv,
    logFile: string,
  ) {
    this.log = fs.createWriteStream(logFile, { flags: 'a' });
  }

  /** Starts `n` instances in `mode`, all at once (the app before the migration). */
  async launch(n: number, mode: StoreMode): Promise<void> {
    const started = await Promise.all(Array.from({ length: n }, () => this.start(mode)));
    this.instances.push(...started);
  }

  get urls(): string[] {
    return this.instances.map((i) => i.url);
  }

  get modes(): StoreMode[] {
    return this.instances.map((i) => i.mode);
  }

  /** Runs one request on the next instance in rotation (its URL, and the mode it runs). */
  async send<T>(fn: (url: string, mode: StoreMode) => Promise<T>): Promise<T> {
    const serving = this.instances.filter((i) => i.serving);
    if (!serving.length) throw new Error('no photo service instance in rotation');
    const inst = serving[this.next++ % serving.length];
    inst.inFlight++;
    try {
      return await fn(inst.url, inst.mode);
    } finally {
      if (--inst.inFlight === 0) inst.idle?.();
    }
  }

  /** The rolling deploy: each instance in turn switched to `mode`; `switched` hears of each. */
  async roll(mode: StoreMode, switched: (index: number, url: string) => void = () => {}): Promise<void> {
    for (const [index, old] of this.instances.entries()) {
      old.serving = false;
      if (old.inFlight) await new Promise<void>((resolve) => (old.idle = resolve));
      await this.stopOne(old);
      this.instances[index] = await this.start(mode);
      switched(index, this.instances[index].url);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.instances.map((i) => this.stopOne(i)));
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }

  private async stopOne(i: Instance): Promise<void> {
    i.serving = false;
    if (i.child.exitCode === null && i.child.signalCode === null) i.child.kill('SIGTERM');
    await i.exited;
  }

  private async start(mode: StoreMode): Promise<Instance> {
    const child = spawn(process.execPath, [this.script], {
      cwd: this.cwd,
      env: { ...this.env, PORT: '0', PHOTO_STORE_MODE: mode },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = readline.createInterface({ input: child.stdout! });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`a photo service instance (${mode}) did not start in 20 s: ${stderr.trim()}`)),
        20_000,
      );
      lines.on('line', (line) => {
        this.log.write(`${line}\n`);
        if (line.includes('"service.listening"')) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`a photo service instance (${mode}) exited: ${stderr.trim()}`));
      });
    });
    return { url, mode, child, exited, serving: true, inFlight: 0 };
  }
}
