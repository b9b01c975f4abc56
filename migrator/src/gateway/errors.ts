/**
 * S3's errors as the gateway answers them: a code, an HTTP status and a message, sent as S3's XML error document
 * (s3-xml.ts). Codes and statuses follow the Amazon S3 API Reference, "Error responses" (List of error codes).
 * The store's failures (StoreError) map onto them here; what went wrong inside is logged by the server, never sent.
 */
import { StoreError } from '../store';

export class S3Error extends Error {
  override readonly name = 'S3Error';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra headers (Retry-After, Allow). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const accessDenied = (message = 'Access Denied') => new S3Error('AccessDenied', 403, message);
export const notImplemented = (operation: string, why = 'is not implemented by the bucketmove gateway') =>
  new S3Error('NotImplemented', 501, `${operation} ${why}`);
export const invalidArgument = (message: string) => new S3Error('InvalidArgument', 400, message);
export const invalidRequest = (message: string) => new S3Error('InvalidRequest', 400, message);
export const malformedXml = () =>
  new S3Error(
    'MalformedXML',
    400,
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );

/** What the caller is told about a failure of the store (the details are logged). */
export function s3ErrorOf(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof StoreError) {
    switch (err.kind) {
      case 'invalid-key':
        return err.message.includes('1024')
          ? new S3Error('KeyTooLongError', 400, 'Your key is too long')
          : invalidArgument(err.message);
      case 'unavailable':
        return new S3Error('ServiceUnavailable', 503, 'Please reduce your request rate or try again shortly.', {
          'Retry-After': '1',
        });
      case 'failed':
        if (err.code === 'NotImplemented') return new S3Error('NotImplemented', 501, err.message);
        // The bucket's own refusal of a well-formed request (NoSuchUpload, InvalidPart, EntityTooSmall...) is the app's
        // to see.
        if (err.code && err.httpStatus && err.httpStatus >= 400 && err.httpStatus < 500)
          return new S3Error(err.code, err.httpStatus, oneLine(err.message));
        break;
      default:
        break;
    }
  }
  return new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.');
}

function oneLine(message: string): string {
  // "<Op> on the new bucket failed: <Code>: <message>" -> the part after the side, as S3 would have put it.
  const m = /failed: (?:[A-Za-z]+: )?(.*)$/.exec(message);
  return (m ? m[1] : message).split('\n')[0];
}
