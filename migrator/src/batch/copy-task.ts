/**
 * One Batch Operations task: the same per-object way as the CLI's run (copy-object.ts: read, decrypt, hash, write
 * with If-None-Match), the same sorting of failures (classify.ts: temporary or permanent), and the same delete
 * recheck (recheck-deletes.ts), done for this one object right after its write instead of in a batch.
 *
 * Result codes: Succeeded for every state the CLI counts as done (copied, already migrated, kept as the app wrote it,
 * deleted by the app); PermanentFailure where the CLI quarantines; TemporaryFailure where the CLI would retry, so Batch
 * Operations retries the task. A deadline (the function's time running out) aborts the copy in flight: lib-storage
 * aborts a multipart upload, nothing partial stays, and the task is answered TemporaryFailure.
 *
 * A task's s3VersionId is not used: the manifests of `npm run batch` name no versions, and like the CLI the function
 * copies the key's current version, whose version id the result records.
 */
import type { Codec } from '../codec/codec';
import type { Outcome } from '../objects/records';
import { NEEDS_RECHECK } from '../objects/object-states';
import { classify, failureOutcome } from '../migrate/classify';
import type { LargeObjectWrite } from '../migrate/conditional-write-probe';
import { copyObject, type Source } from '../migrate/copy-object';
import { recheckCopy } from '../migrate/recheck-deletes';
import type { Target } from '../objects/write-new';
import type { BatchTask, ResultCode } from './invocation';

export interface TaskDeps {
  readonly source: Source;
  readonly target: Target;
  readonly codec: Codec;
  /**
   * How objects above the part size are written: the container's conditional-write probe (handler.ts), run when the
   * first task needs it. A probe that fails (the new bucket unreachable) fails that task like any copy, so a temporary
   * cause is retried by Batch Operations and the next task probes again.
   */
  readonly largeObjects: () => Promise<LargeObjectWrite>;
  /** The workspace's legacy bucket: a task for any other bucket is refused. */
  readonly legacyBucket: string;
  readonly now?: () => Date;
}

export interface TaskOutcome {
  readonly resultCode: ResultCode;
  readonly outcome: Outcome;
}

/** Why a task was given up when the deadline came (its signal's reason). */
export const DEADLINE = 'DeadlineExceeded';

export async function copyTask(task: BatchTask, deps: TaskDeps, signal: AbortSignal): Promise<TaskOutcome> {
  if (task.bucket !== deps.legacyBucket && task.bucket !== deps.source.bucket) {
    return permanent(
      'WrongBucket',
      `the task names bucket "${task.bucket}", but this function copies only the legacy bucket "${deps.legacyBucket}"`,
    );
  }
  if (signal.aborted) return deadline();
  try {
    const largeObjects = await deps.largeObjects();
    let outcome = await copyObject({ key: task.key }, { ...deps, largeObjects }, signal);
    if (NEEDS_RECHECK.includes(outcome.state)) {
      const verdict = await recheckCopy(deps.source, deps.target, {
        key: task.key,
        sourceEtag: outcome.etag ?? '',
        newVersionId: outcome.newVersionId,
      });
      if (verdict === 'undone') outcome = { ...outcome, state: 'deleted-during-copy' };
    }
    return { resultCode: 'Succeeded', outcome };
  } catch (err) {
    if (signal.aborted) return deadline();
    const why = classify(err);
    return {
      resultCode: why.kind === 'permanent' ? 'PermanentFailure' : 'TemporaryFailure',
      outcome: failureOutcome(why),
    };
  }
}

function permanent(code: string, message: string): TaskOutcome {
  return { resultCode: 'PermanentFailure', outcome: { state: 'quarantined', errorCode: code, errorMessage: message } };
}

function deadline(): TaskOutcome {
  return {
    resultCode: 'TemporaryFailure',
    outcome: {
      state: 'failed',
      errorCode: DEADLINE,
      errorMessage: "the function's time ran out before the copy finished; Batch Operations tries the task again",
    },
  };
}
