/**
 * `npm run build:lambda` (scripts/build-lambda.ts): the handler bundled by esbuild into one CommonJS file that runs
 * with no node_modules, and refused when it would load a native addon or need a package at run time.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Metafile } from 'esbuild';
import { createHash } from 'crypto';
import { App, AssetType, TerraformAsset, TerraformStack } from 'cdktf';
import { buildLambdaBundle, bundleProblem, BUNDLE_MTIME } from '../../scripts/build-lambda';
import { KEY_ROTATION_BUNDLE, LAMBDA_BUNDLE } from '../../stacks/lambda-bundle';
import { workspaceForFunction } from '../../stacks/batch-operations';
import { WORKSPACE_ENV_VAR } from '../../workspaces/batch-layout';
import { loadWorkspace } from '../../workspaces/load';
import { ConfigError } from '../../workspaces/errors';
import { cleanup, tempDir } from '../helpers/synth';
import { RUNTIME_NODE_MAJOR, runScript, runtimeNode, type NodeRun } from '../helpers/runtime-node';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'lambda');
// esbuild and a child Node per test: seconds each, more on a loaded machine.
jest.setTimeout(120_000);

const work = tempDir('lambda-build');
afterAll(() => cleanup(work));

/**
 * Runs `script` with node (this process's, or `node`) in a folder outside the repository (no node_modules can be
 * found from there), with the environment Lambda gives the function: its region and the workspace (staging's, as the
 * stack sets it).
 */
function nodeOutside(
  script: string,
  node = process.execPath,
  env: NodeJS.ProcessEnv = stagingFunctionEnv(),
): Promise<NodeRun> {
  return runScript(node, script, { cwd: work, env });
}

function stagingFunctionEnv(): NodeJS.ProcessEnv {
  return { AWS_REGION: 'eu-west-1', [WORKSPACE_ENV_VAR]: workspaceForFunction(loadWorkspace('staging')) };
}

describe('the bundle of the handler', () => {
  it('builds the real handler entry into one CommonJS index.js exporting `handler`, leaving no temporary folder', async () => {
    const outdir = path.join(work, 'real', 'batch-copy');
    const r = buildLambdaBundle({ entry: path.join(ROOT, LAMBDA_BUNDLE.entry), outdir });
    expect(r.outfile).toBe(path.join(outdir, 'index.js'));
    expect(fs.readdirSync(outdir)).toEqual(['index.js']);
    expect(fs.readdirSync(path.dirname(outdir))).toEqual(['batch-copy']);
    const run = await nodeOutside(`process.stdout.write(typeof require(${JSON.stringify(r.outfile)}).handler)`);
    expect(run).toMatchObject({ code: 0, stdout: 'function' });
  });

  it('bundles the AWS SDK (the pinned versions, not the runtime copy): it loads and runs with no node_modules', async () => {
    const outdir = path.join(work, 'sdk', 'batch-copy');
    const r = buildLambdaBundle({ entry: path.join(FIXTURES, 'sdk-handler.ts'), outdir });
    expect(r.inputs).toBeGreaterThan(100);
    // The SDK's own code is in the bundle (from this repository's node_modules, at the pinned version).
    const sdk = JSON.parse(fs.readFileSync(require.resolve('@aws-sdk/client-s3/package.json'), 'utf8')) as {
      version: string;
    };
    expect(sdk.version).toMatch(/^3\./);
    expect(fs.readFileSync(r.outfile, 'utf8')).toContain('S3Client');
    const run = await nodeOutside(
      `require(${JSON.stringify(r.outfile)}).handler().then((v) => process.stdout.write(JSON.stringify(v)))`,
    );
    // (stderr may carry the SDK's NodeVersionSupportWarning about Node 20; nothing may be missing.)
    expect(run.stderr).not.toMatch(/Cannot find module|Error:/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(['function', 'function', 'function']);
  });

  it('refuses a handler that imports a native addon, in one line, and keeps the previous bundle', () => {
    const outdir = path.join(work, 'native', 'batch-copy');
    buildLambdaBundle({ entry: path.join(ROOT, LAMBDA_BUNDLE.entry), outdir });
    const before = fs.readFileSync(path.join(outdir, 'index.js'), 'utf8');
    let caught: unknown;
    try {
      buildLambdaBundle({ entry: path.join(FIXTURES, 'native-handler.ts'), outdir });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(
      /^build:lambda: the bundle of \S*native-handler\.ts cannot run on Lambda: it imports better-sqlite3, which loads a native addon/,
    );
    expect(fs.readFileSync(path.join(outdir, 'index.js'), 'utf8')).toBe(before);
    expect(fs.readdirSync(path.dirname(outdir))).toEqual(['batch-copy']);
  });

  it('is reproducible down to the zip the stack makes of it (fixed content, mode and mtime): no update planned for unchanged code', () => {
    const zipOf = (bundleDir: string, n: number) => {
      const outdir = path.join(work, `zip-app-${n}`);
      const app = new App({ outdir, stackTraces: false });
      const stack = new TerraformStack(app, 'probe');
      const asset = new TerraformAsset(stack, 'code', { path: bundleDir, type: AssetType.ARCHIVE });
      app.synth();
      return createHash('sha256')
        .update(fs.readFileSync(path.join(outdir, 'stacks', 'probe', asset.path)))
        .digest('hex');
    };
    const dirs = [1, 2].map((n) =>
      path.dirname(
        buildLambdaBundle({
          entry: path.join(ROOT, LAMBDA_BUNDLE.entry),
          outdir: path.join(work, `again-${n}`, 'batch-copy'),
        }).outfile,
      ),
    );
    for (const dir of dirs) {
      const stat = fs.statSync(path.join(dir, 'index.js'));
      expect([stat.mtime.toISOString(), (stat.mode & 0o777).toString(8)]).toEqual([BUNDLE_MTIME.toISOString(), '644']);
    }
    expect(zipOf(dirs[0], 1)).toBe(zipOf(dirs[1], 2));
  });

  it('refuses a missing entry in one line', () => {
    expect(() => buildLambdaBundle({ entry: path.join(FIXTURES, 'nope.ts'), outdir: path.join(work, 'nope') })).toThrow(
      /^build:lambda: the handler \S*nope\.ts does not exist$/,
    );
  });
});

/**
 * The bundle on the Node major of the function's Lambda runtime (nodejs22.x: Node 22), fetched from the npm registry
 * when this machine runs another one (test/helpers/runtime-node.ts). It must load, and handle a task end to end: parse
 * the event and the workspace (zod), load the codec, build the S3 clients and answer. The task is for another env, so
 * the answer (PermanentFailure, WrongEnv) needs no S3 endpoint; test/integration/batch-handler.test.ts copies an
 * object with the bundle on this Node against the local S3.
 */
const runtime = runtimeNode();
(runtime.ok ? describe : describe.skip)(
  runtime.ok
    ? `the bundle on Node ${RUNTIME_NODE_MAJOR}, the ${LAMBDA_BUNDLE.runtime} runtime's (${runtime.version})`
    : `the bundle on Node ${RUNTIME_NODE_MAJOR} (skipped: ${runtime.reason})`,
  () => {
    const node = runtime.ok ? runtime.node : '';
    let bundle: string;
    beforeAll(() => {
      bundle = buildLambdaBundle({
        entry: path.join(ROOT, LAMBDA_BUNDLE.entry),
        outdir: path.join(work, 'runtime-node', 'batch-copy'),
      }).outfile;
    });

    it(`runs Node ${RUNTIME_NODE_MAJOR}`, async () => {
      const run = await nodeOutside('process.stdout.write(process.versions.node)', node);
      expect(run.stdout.split('.')[0]).toBe(String(RUNTIME_NODE_MAJOR));
    });

    it('loads the bundle and answers a Batch Operations task (schema 2.0) with the real handler', async () => {
      // A workspace whose clients need no server until a copy starts: static keys, an endpoint nothing listens on.
      const { file: _file, ...local } = loadWorkspace('local');
      const ws = {
        ...local,
        primary: { ...local.primary, endpoint: 'http://127.0.0.1:9' },
        legacy: { ...local.legacy, endpoint: 'http://127.0.0.1:9' },
        migration: { ...local.migration, credentials: 'static' },
      };
      const event = {
        invocationSchemaVersion: '2.0',
        invocationId: 'aW52b2NhdGlvbi0x',
        job: { id: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce', userArguments: { env: 'staging' } },
        tasks: [{ taskId: 'dGFzay0x', s3Key: 'photos/a%20b.jpg', s3VersionId: null, s3Bucket: ws.legacy.bucket }],
      };
      const run = await nodeOutside(
        `require(${JSON.stringify(bundle)}).handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 60000 })` +
          '.then((r) => process.stdout.write(JSON.stringify(r)), (e) => { process.stderr.write(String(e)); process.exitCode = 1; })',
        node,
        {
          [WORKSPACE_ENV_VAR]: JSON.stringify(ws),
          LEGACY_FERNET_KEYS: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
          AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
          LEGACY_AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
          LEGACY_AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        },
      );
      expect(run.stderr).not.toMatch(/Cannot find module|Error:/);
      expect(run.code).toBe(0);
      const res = JSON.parse(run.stdout);
      expect(res).toMatchObject({
        invocationSchemaVersion: '2.0',
        invocationId: event.invocationId,
        treatMissingKeysAs: 'PermanentFailure',
      });
      expect(res.results).toHaveLength(1);
      expect(res.results[0]).toMatchObject({ taskId: 'dGFzay0x', resultCode: 'PermanentFailure' });
      expect(res.results[0].resultString).toContain('WrongEnv');
    });

    it('builds the key rotation function into one file that loads there and refuses a malformed event in one line', async () => {
      const r = buildLambdaBundle({
        entry: path.join(ROOT, KEY_ROTATION_BUNDLE.entry),
        outdir: path.join(work, 'runtime-node', 'key-rotation'),
        runtime: KEY_ROTATION_BUNDLE.runtime,
      });
      expect(fs.readdirSync(path.dirname(r.outfile))).toEqual(['index.js']);
      const run = await nodeOutside(
        `require(${JSON.stringify(r.outfile)}).handler({ Step: 'rotate' }).then(() => process.stdout.write('resolved'), (e) => process.stdout.write(e.message))`,
        node,
      );
      expect(run.stderr).not.toMatch(/Cannot find module/);
      expect(run.stdout).toBe(
        'invalid rotation event: expected {SecretId, ClientRequestToken, Step: createSecret|setSecret|testSecret|finishSecret}',
      );
    });
  },
);

describe('bundleProblem', () => {
  const out = 'out/index.js';
  const meta = (inputs: string[], imports: { path: string; external?: boolean }[] = []): Metafile => ({
    inputs: Object.fromEntries(inputs.map((i) => [i, { bytes: 1, imports: [] }])),
    outputs: {
      [out]: {
        bytes: 1,
        inputs: {},
        imports: imports.map((i) => ({ kind: 'require-call' as const, ...i })),
        exports: [],
      },
    },
  });

  it('accepts a bundle whose only run-time requires are Node built-ins', () => {
    const m = meta(
      ['src/handler.ts', 'node_modules/@aws-sdk/client-s3/dist-cjs/index.js'],
      [
        { path: 'fs', external: true },
        { path: 'node:crypto', external: true },
        { path: 'fs/promises', external: true },
      ],
    );
    expect(bundleProblem(m, out, 'exports.handler = () => 1;')).toBeUndefined();
  });

  it('names a .node file among the inputs', () => {
    expect(bundleProblem(meta(['src/handler.ts', 'build/Release/addon.node']), out, '')).toBe(
      'it would load the native addon build/Release/addon.node',
    );
  });

  it.each(['bindings', 'node-gyp-build', 'better-sqlite3'])(
    'names %s, which finds a native addon at run time',
    (pkg) => {
      expect(bundleProblem(meta([`node_modules/${pkg}/index.js`]), out, '')).toMatch(
        new RegExp(`^it imports ${pkg}, which loads a native addon`),
      );
    },
  );

  it('names a package left as a run-time require', () => {
    expect(
      bundleProblem(
        meta(
          ['src/handler.ts'],
          [
            { path: 'pino', external: true },
            { path: 'os', external: true },
          ],
        ),
        out,
        '',
      ),
    ).toBe('it requires pino at run time, which a Lambda zip does not hold');
  });

  it('names a .node file the code requires by name', () => {
    expect(bundleProblem(meta(['src/handler.ts']), out, 'const a = require("./build/addon.node");')).toBe(
      'it refers to the native addon "./build/addon.node"',
    );
  });
});
