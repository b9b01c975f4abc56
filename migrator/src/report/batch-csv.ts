/**
 * The completion report in S3 Batch Operations' `Report_CSV_20180820` format: no header row, the columns
 *   Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage
 * with keys URL-encoded as S3 encodes them (every byte but unreserved characters and "/"), so tools that read Batch
 * Operations reports read this one.
 */
import { encodeManifestKey } from '../sources/manifest-key';

export const REPORT_FORMAT = 'Report_CSV_20180820';
export const REPORT_COLUMNS = [
  'Bucket',
  'Key',
  'VersionId',
  'TaskStatus',
  'ErrorCode',
  'HTTPStatusCode',
  'ResultMessage',
] as const;

export interface ReportRow {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string | null;
  readonly taskStatus: 'succeeded' | 'failed';
  readonly errorCode?: string | null;
  readonly httpStatusCode?: number | null;
  readonly resultMessage: string;
}

/** Keys in the report are URL-encoded as in a manifest (sources/manifest-key.ts). */
export const encodeKey = encodeManifestKey;

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvLine(r: ReportRow): string {
  return [
    r.bucket,
    encodeKey(r.key),
    r.versionId && r.versionId !== 'null' ? r.versionId : '',
    r.taskStatus,
    r.errorCode ?? '',
    r.httpStatusCode === null || r.httpStatusCode === undefined ? '' : String(r.httpStatusCode),
    r.resultMessage,
  ]
    .map(csvField)
    .join(',');
}

/** Parses one line back (tests, and anyone who reads a report with this package). */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
