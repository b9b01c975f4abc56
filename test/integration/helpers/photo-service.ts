/**
 * The store's environment for the run's rig (the app users' keys, as an app holds them), and the reference photo
 * service started as a child process the way it runs for real (`migrator/src/service/main.ts` under ts-node).
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { usesLegacy, usesNew, type StoreMode } from '../../../migrator/src/store/modes';
import { bundled } from '../../helpers/bundle';
import { rigState } from './rig';

export const REPO = path.resolve(__dirname, '..', '..', '..');
const SERVICE = 'migrator/src/service/main.ts';

export interface StoreEnvOptions {
  readonly mode: StoreMode;
  readonly fernetKeys?: readonly string[];
  /** Both sides' endpoint (default: the rig's); e.g. a fault proxy. */
  readonly endpoint?: string;
  readonly legacyEndpoint?: string;
  /**
   * A test's own two buckets (helpers/own-buckets.ts) and the keys that reach them (its `env`: AWS_* and LEGACY_AWS_*),
   * instead of the rig's buckets and app users.
   */
  readonly own?: { readonly primary: string; readonly legacy: string; readonly keys: NodeJS.ProcessEnv };
  readonly extra?: NodeJS.ProcessEnv;
}

/** Only the variables the store reads, for the rig's buckets and app users. */
export function storeEnv(o: StoreEnvOptions): NodeJS.ProcessEnv {
  const s = rigState();
  const env: NodeJS.ProcessEnv = { PHOTO_STORE_MODE: o.mode, AWS_REGION: s.region };
  if (usesNew(o.mode)) {
    Object.assign(env, {
      PHOTO_STORE_BUCKET: o.own?.primary ?? s.buckets.primary,
      PHOTO_STORE_ENDPOINT: o.endpoint ?? s.endpoint,
      AWS_ACCESS_KEY_ID: o.own?.keys.AWS_ACCESS_KEY_ID ?? s.principals.primaryApp.accessKeyId,
      AWS_SECRET_ACCESS_KEY: o.own?.keys.AWS_SECRET_ACCESS_KEY ?? s.principals.primaryApp.secretAccessKey,
    });
  }
  if (usesLegacy(o.mode)) {
    Object.assign(env, {
      PHOTO_STORE_LEGACY_BUCKET: o.own?.legacy ?? s.buckets.legacy,
      PHOTO_STORE_LEGACY_ENDPOINT: o.legacyEndpoint ?? o.endpoint ?? s.endpoint,
      LEGACY_AWS_ACCESS_KEY_ID: o.own?.keys.LEGACY_AWS_ACCESS_KEY_ID ?? s.principals.legacyApp.accessKeyId,
      LEGACY_AWS_SECRET_ACCESS_KEY: o.own?.keys.LEGACY_AWS_SECRET_ACCESS_KEY ?? s.principals.legacyApp.secretAccessKey,
      ...(o.fernetKeys ? { LEGACY_FERNET_KEYS: o.fernetKeys.join(',') } : {}),
    });
  }
  return { ...env, ...o.extra };
}

/** The parent's environment without anything that would configure the store or AWS behind the test's back. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|LEGACY_|PHOTO_|PORT$|HOST$)/.test(k)));
}

export interface RunningService {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the service wrote to stdout so far, and where it is kept (a JSON-lines file: the audit's local log). */
  stdout(): string;
  readonly logFile: string;
  stderr(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the service with `env` (PORT 0: any free port) and waits for its "listening" line. Under ts-node, as
 * `npm run photo-service` runs it from the sources; `bundled`: its esbuild bundle (helpers/bundle.ts), which starts
 * much faster (for tests that restart instances many times).
 */
export async function startPhotoService(
  env: NodeJS.ProcessEnv,
  logFile: string,
  o: { bundled?: boolean } = {},
): Promise<RunningService> {
  return startServerChild({
    args: o.bundled ? [bundled(SERVICE)] : ['-r', 'ts-node/register', SERVICE],
    env: { PORT: '0', ...env },
    logFile,
    what: 'the photo service',
    urlOf: (line) => {
      if (!line.includes('"service.listening"')) return undefined;
      const { host, port } = JSON.parse(line) as { host: string; port: number };
      return `http://${host}:${port}`;
    },
  });
}

/**
 * A server of the store (the photo service, the S3 gateway) as a child process: node `args` with `env` on top of a
 * clean environment, stdout kept (and copied to `logFile`), resolved once `urlOf` finds the URL in a stdout line.
 */
export async function startServerChild(o: {
  args: string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  what: string;
  urlOf: (line: string) => string | undefined;
}): Promise<RunningService> {
  const child = spawn(process.execPath, o.args, {
    cwd: REPO,
    env: { ...cleanEnv(), ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = fs.createWriteStream(o.logFile);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    out.write(d);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => out.end(() => resolve(code))));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${o.what} did not start in 20 s; stderr: ${stderr}`)), 20_000);
    const look = () => {
      for (const line of stdout.split('\n')) {
        const found = o.urlOf(line);
        if (found) {
          clearTimeout(timer);
          return resolve(found);
        }
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${o.what} exited (${code}) before listening; stderr: ${stderr.trim()}`));
    });
  });
  return {
    url,
    child,
    logFile: o.logFile,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Runs the service with `env` expecting it to refuse to start; resolves with its exit code and output. */
export function runPhotoServiceToExit(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', SERVICE], {
      cwd: REPO,
      env: { ...cleanEnv(), PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
