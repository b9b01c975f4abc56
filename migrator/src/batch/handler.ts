/**
 * The Lambda function of S3 Batch Operations' LambdaInvoke: each task is one legacy object, decrypt-copied into the
 * new bucket by the same code as `npm run migrate` (copy-task.ts).
 *
 * Configuration: BUCKETMOVE_WORKSPACE holds the workspace (the content of workspaces/<env>.json, validated by the same
 * schema); the job's UserArguments carry {env}, which must name the same env. The clients (STS AssumeRole into the
 * reader and writer roles, with the function's own credentials as the master) and the codec (its keys from the
 * environment variable or Secrets Manager secret the workspace names) are built once per container, on the first
 * invocation, and reused by the next ones. So is the conditional-write probe of the new bucket
 * (migrate/conditional-write-probe.ts), which decides how objects above the part size are written: probed, not
 * configured, because it is a fact of the server the function writes to, read with the writer's own credentials at a
 * cost of a few small requests per container; a setting could say "enforced" of a server that is not. It runs when the
 * first task that copies needs it (a task refused for its env or bucket never probes), and a failed probe fails that
 * task like a failed copy (TemporaryFailure for a temporary cause) and is tried again by the next. Its log line says
 * what it found (event "batch-large-objects").
 *
 * A malformed event throws (Batch Operations then fails its tasks with the message); the deadline of the invocation
 * (context.getRemainingTimeInMillis) aborts a copy that would outlive it, answered TemporaryFailure.
 */
import { setMaxListeners } from 'events';
import { WORKSPACE_ENV_VAR } from '../../../workspaces/batch-layout';
import { parseWorkspaceJson, type LoadedWorkspace } from '../../../workspaces/load';
import { ConfigError } from '../../../workspaces/errors';
import { createClients, type SideClientOptions } from '../aws/clients';
import { loadCodec } from '../aws/codec-keys';
import type { Codec } from '../codec/codec';
import { createLogger, type Logger } from '../log';
import { largeObjectWrite, probeConditionalWrites, type LargeObjectWrite } from '../migrate/conditional-write-probe';
import { largeObjectsLine } from '../migrate/report';
import { newBucketTarget } from '../objects/write-new';
import { copyTask, type TaskDeps } from './copy-task';
import { InvalidInvocationError, parseInvocation, type BatchResponse, type BatchTaskResult } from './invocation';
import { encodeOutcome } from './result-string';

/** What Lambda passes as the second argument; only the deadline is used. */
export interface DeadlineContext {
  getRemainingTimeInMillis(): number;
}

export interface HandlerOptions {
  /** Where BUCKETMOVE_WORKSPACE and the codec's key variable are read (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Client options (tests: the rig state, a proxy, the transport). */
  readonly clients?: SideClientOptions;
  /** Time kept back before the deadline to answer, ms (default 5000). */
  readonly deadlineMarginMs?: number;
  readonly partSize?: number;
  readonly queueSize?: number;
  /** Where the per-task JSON lines go (default: stderr, which Lambda sends to CloudWatch Logs). */
  readonly log?: Logger;
}

interface Container {
  readonly ws: LoadedWorkspace;
  readonly deps: TaskDeps;
}

async function buildContainer(o: HandlerOptions, log: Logger): Promise<Container> {
  const env = o.env ?? process.env;
  const text = env[WORKSPACE_ENV_VAR];
  if (!text)
    throw new ConfigError(
      `${WORKSPACE_ENV_VAR} is not set: give the function the workspace JSON (the content of workspaces/<env>.json)`,
    );
  const ws = parseWorkspaceJson(text, WORKSPACE_ENV_VAR);
  const codec: Codec = await loadCodec(ws, { env });
  const clients = createClients(ws, o.clients);
  const target = newBucketTarget(ws.primary.encryption, clients.primary, o);
  let probed: Promise<LargeObjectWrite> | undefined;
  const largeObjects = () =>
    (probed ??= probeConditionalWrites(target).then(
      (probe) => {
        const write = largeObjectWrite(probe);
        log.info({ event: 'batch-large-objects', path: write.path, probe: write.probe }, largeObjectsLine(write));
        return write;
      },
      (err: unknown) => {
        probed = undefined; // the next task probes again
        throw err;
      },
    ));
  return {
    ws,
    deps: {
      source: { client: clients.legacy.s3, bucket: clients.legacy.bucket },
      target,
      codec,
      largeObjects,
      legacyBucket: ws.legacy.bucket,
    },
  };
}

export type BatchHandler = (event: unknown, context?: DeadlineContext) => Promise<BatchResponse>;

/** A handler with its own container state (the exported `handler` is one, with the defaults). */
export function createBatchHandler(o: HandlerOptions = {}): BatchHandler {
  let container: Promise<Container> | undefined;
  const log = o.log ?? createLogger({ name: 'bucketmove-batch' });
  return async (event, context) => {
    const inv = parseInvocation(event);
    container ??= buildContainer(o, log).catch((err: unknown) => {
      container = undefined; // the next invocation tries again (a secret not readable yet, say)
      throw err;
    });
    const { ws, deps } = await container;
    if (inv.schemaVersion === '2.0' && !inv.userArguments.env) {
      throw new InvalidInvocationError(
        'invalid S3 Batch Operations invocation: job.userArguments.env is missing (create the job with `npm run batch`)',
      );
    }
    const wrongEnv = inv.userArguments.env !== undefined && inv.userArguments.env !== ws.env;

    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    const remaining = context?.getRemainingTimeInMillis();
    const timer =
      remaining === undefined
        ? undefined
        : setTimeout(() => controller.abort(), Math.max(0, remaining - (o.deadlineMarginMs ?? 5000)));
    timer?.unref?.();
    const results: BatchTaskResult[] = [];
    try {
      for (const task of inv.tasks) {
        const done = wrongEnv
          ? {
              resultCode: 'PermanentFailure' as const,
              outcome: {
                state: 'quarantined' as const,
                errorCode: 'WrongEnv',
                errorMessage: `the job is for env "${inv.userArguments.env}", this function serves env "${ws.env}"`,
              },
            }
          : await copyTask(task, deps, controller.signal);
        results.push({ taskId: task.taskId, resultCode: done.resultCode, resultString: encodeOutcome(done.outcome) });
        log.info(
          {
            event: 'batch-task',
            jobId: inv.jobId,
            taskId: task.taskId,
            key: task.key,
            resultCode: done.resultCode,
            state: done.outcome.state,
            errorCode: done.outcome.errorCode ?? undefined,
          },
          `${done.resultCode}: ${done.outcome.state}`,
        );
      }
    } finally {
      if (timer) clearTimeout(timer);
    }
    return {
      invocationSchemaVersion: inv.schemaVersion,
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: inv.invocationId,
      results,
    };
  };
}

/** The function's entry point (esbuild bundles this export). */
export const handler: BatchHandler = createBatchHandler();
