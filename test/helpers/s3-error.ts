/**
 * The gateway's S3Error thrown by `fn`, as "<status> <code>" ("passed" when nothing is thrown); anything else rethrown.
 */
import { S3Error } from '../../migrator/src/gateway/errors';

export function s3CodeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return `${err.status} ${err.code}`;
    throw err;
  }
  return 'passed';
}
