/**
 * PLACEHOLDER — this file belongs to the batch helper (branch feat-batch), which writes the real S3 Batch Operations
 * handler here; it replaces this file at merge. It exists on feat-stack only so that `npm run build:lambda` and the
 * stacks that package its bundle have an entry point to build. No logic lives here on purpose.
 */
export async function handler(): Promise<never> {
  throw new Error('placeholder handler: the real migrator/src/batch/handler.ts comes from the batch branch');
}
