/**
 * A task's Outcome as the function's resultString, which Batch Operations copies into the completion report's
 * ResultMessage column, and back again when `npm run batch` reads that report.
 *
 * Compact JSON: {"state":"copied","etag":...,"versionId":...,"sha256":...,"size":...,"newVersionId":...,
 * "code":...,"http":...,"message":...}, fields left out when empty. It holds what the CLI's checkpoint records, and
 * never a secret: error messages are classify()'s one line (no key material, no credentials).
 *
 * The length: the AWS documentation this was checked against gives no figure for resultString, so it is held to
 * RESULT_STRING_MAX_BYTES (1,000 UTF-8 bytes), far above the ~300 bytes of a success and small enough for any
 * CSV reader; only the message is shortened to fit.
 */
import type { Outcome } from '../objects/records';
import { ALL_STATES, type ObjectState } from '../objects/object-states';

export const RESULT_STRING_MAX_BYTES = 1000;

interface Wire {
  state: ObjectState;
  etag?: string;
  versionId?: string;
  sha256?: string;
  size?: number;
  newVersionId?: string;
  code?: string;
  http?: number;
  message?: string;
}

export function encodeOutcome(o: Outcome): string {
  const wire: Wire = { state: o.state };
  if (o.etag) wire.etag = o.etag;
  if (o.versionId) wire.versionId = o.versionId;
  if (o.plaintextSha256) wire.sha256 = o.plaintextSha256;
  if (o.plaintextSize !== undefined && o.plaintextSize !== null) wire.size = o.plaintextSize;
  if (o.newVersionId) wire.newVersionId = o.newVersionId;
  if (o.errorCode) wire.code = o.errorCode.slice(0, 100);
  if (o.httpStatus) wire.http = o.httpStatus;
  if (o.errorMessage) wire.message = o.errorMessage;
  let text = JSON.stringify(wire);
  while (Buffer.byteLength(text) > RESULT_STRING_MAX_BYTES && wire.message) {
    // A character is 1 to 6 bytes here (UTF-8, or a JSON escape): cutting over/6 characters cuts at least that much.
    const over = Buffer.byteLength(text) - RESULT_STRING_MAX_BYTES;
    const base = wire.message.endsWith('...') ? wire.message.slice(0, -3) : wire.message;
    const keep = base.length - Math.max(1, Math.ceil(over / 6));
    wire.message = keep > 0 ? `${base.slice(0, keep)}...` : undefined;
    text = JSON.stringify(wire);
  }
  return text;
}

/** The Outcome in a resultString this function wrote; undefined for anything else (a timeout, Lambda's own error). */
export function decodeOutcome(text: string | undefined): Outcome | undefined {
  if (!text || !text.startsWith('{')) return undefined;
  let w: Partial<Wire>;
  try {
    w = JSON.parse(text) as Partial<Wire>;
  } catch {
    return undefined;
  }
  if (!w || typeof w.state !== 'string' || !ALL_STATES.includes(w.state)) return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    state: w.state,
    etag: str(w.etag),
    versionId: str(w.versionId) ?? null,
    plaintextSha256: str(w.sha256) ?? null,
    plaintextSize: num(w.size) ?? null,
    newVersionId: str(w.newVersionId) ?? null,
    errorCode: str(w.code) ?? null,
    httpStatus: num(w.http) ?? null,
    errorMessage: str(w.message) ?? null,
  };
}
