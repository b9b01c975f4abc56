/** Runs one of the migrator's CLIs as `npm run <cli>` does (ts-node), from any folder, with extra environment. */
import { execFile } from 'child_process';
import * as path from 'path';
import { bundled } from './bundle';

export const REPO = path.resolve(__dirname, '..', '..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `bundled`: run its esbuild bundle (helpers/bundle.ts), which starts in about a second, instead of ts-node. */
export function runCliScript(
  cli: 'audit' | 'teardown' | 'migrate' | 'batch' | 'manifest' | 'keys' | 'gateway',
  args: string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; bundled?: boolean } = {},
): Promise<CliRun> {
  const entry = cli === 'gateway' ? 'migrator/src/gateway/main.ts' : `migrator/src/cli/${cli}.ts`;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [
        ...(o.bundled
          ? [bundled(entry)]
          : ['-r', require.resolve('ts-node/register/transpile-only'), path.join(REPO, entry)]),
        ...args,
      ],
      {
        cwd: o.cwd ?? REPO,
        env: { ...process.env, TS_NODE_PROJECT: path.join(REPO, 'tsconfig.json'), ...o.env },
        timeout: 120_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (o.input !== undefined) child.stdin?.end(o.input);
    else child.stdin?.end();
  });
}
