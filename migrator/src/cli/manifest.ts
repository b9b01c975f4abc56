/**
 * npm run manifest -- --env <env> [--prefix p] [--out s3://bucket/key | --out file.csv]
 *
 * Lists the legacy bucket (current objects, under --prefix) and writes an S3 Batch Operations CSV manifest
 * (`Bucket,Key`, keys URL-encoded, no header, no VersionId: a listing of current objects) of it, streamed. To S3 it is
 * written with the legacy side's credentials, and the object's ETag is printed (a Batch Operations job, and
 * `migrate --manifest`, pin the manifest to it). Then `npm run migrate -- --env <env> --manifest <out>` copies exactly
 * those keys. Exit codes: 0 written; 1 failed (nothing left behind); 2 bad input; 130 interrupted.
 */
import * as path from 'path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { createSideClient, preflight } from '../aws/clients';
import { describeAwsError, httpStatusOf, operationOf } from '../aws/errors';
import { fileStamp } from '../report/files';
import { bucketListing } from '../sources/bucket-listing';
import { formatS3Url, parseS3Url } from '../sources/manifest-object';
import { fileSink, s3Sink, writeManifest } from '../sources/write-manifest';
import { stateDir } from '../state-paths';
import { checkS3Url, EXIT, isEntry, parseStrict, runCli } from './run-cli';
import { UsageError } from '../../../workspaces/errors';

/** The calls that write the manifest object (lib-storage Upload: one PUT, or a multipart upload). */
const WRITES = new Set(['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']);

export function parseArgs(argv: string[]) {
  return parseStrict(
    yargs(argv)
      .scriptName('npm run manifest --')
      .usage(
        '$0 --env <env> [--prefix p] [--out s3://bucket/key | --out file.csv]\n\nWrites an S3 Batch Operations CSV manifest (Bucket,Key) from a listing of the legacy bucket, for `migrate --manifest` or `npm run batch`.',
      )
      .option('env', {
        type: 'string',
        demandOption: true,
        describe: 'Workspace whose legacy bucket is listed (a file in workspaces/, e.g. prod)',
      })
      .option('prefix', { type: 'string', default: '', describe: 'Only keys under this prefix' })
      .option('out', {
        type: 'string',
        describe:
          "Where to write it: s3://bucket/key (with the legacy side's credentials) or a file [default: .bucketmove/<env>/manifest-<time>.csv]",
      })
      .check((a) => {
        if (a.out !== undefined && a.out.startsWith('s3://')) checkS3Url('out', a.out);
        else if (a.out !== undefined && !a.out.trim()) {
          throw new UsageError('--out is empty: give s3://bucket/key or a file path');
        }
        return true;
      }),
    { 0: 'written', 1: 'failed (nothing left behind)', 130: 'interrupted (nothing written)' },
  );
}

async function main(): Promise<number> {
  const args = parseArgs(hideBin(process.argv));
  const ws = loadWorkspace(args.env);
  const legacy = createSideClient(ws, 'legacy');
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  process.once('SIGTERM', () => interrupt.abort());
  try {
    await preflight(legacy);
    const out = args.out ?? path.join(stateDir(ws.env), `manifest-${fileStamp()}.csv`);
    const at = out.startsWith('s3://') ? parseS3Url(out) : undefined;
    const sink = at ? s3Sink(legacy.s3, at) : fileSink(out);
    const keys = bucketListing(legacy.s3, legacy.bucket, { prefix: args.prefix });
    let res: { objects: number; etag?: string };
    try {
      res = await writeManifest(keys, ws.legacy.bucket, sink, { signal: interrupt.signal });
    } catch (err) {
      if (interrupt.signal.aborted) {
        process.stderr.write('manifest: interrupted; nothing was written\n');
        return EXIT.interrupted;
      }
      if (at && httpStatusOf(err) === 403 && WRITES.has(operationOf(err) ?? '')) {
        throw new ConfigError(
          `cannot write ${formatS3Url(at)} with the legacy side's credentials (${describeAwsError(err)}): allow them s3:PutObject there, or write a file (--out <file>.csv); nothing was written`,
        );
      }
      throw err;
    }
    const where = at ? formatS3Url(at) : out;
    process.stdout.write(
      `manifest of ${ws.env} (${ws.legacy.bucket}${args.prefix ? `, prefix "${args.prefix}"` : ''}): ${res.objects} keys written to ${where}${res.etag ? `\netag: ${res.etag}` : ''}\n`,
    );
    return EXIT.ok;
  } finally {
    legacy.destroy();
  }
}

if (isEntry(module)) runCli('manifest', main);
