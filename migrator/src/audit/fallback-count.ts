/** What counting fallback hits in a window yields, whichever the source. */
import type { MeasuredCoverage } from './coverage';

export interface FallbackSource {
  readonly kind: 'cloudwatch' | 'file';
  /** cloudwatch: the log group; file: the path of the JSON-lines log. */
  readonly location: string;
  /** cloudwatch: the region queried. */
  readonly region?: string;
}

export interface FallbackCount {
  readonly source: FallbackSource;
  readonly event: string;
  readonly window: { readonly start: string; readonly end: string; readonly seconds: number };
  readonly hits: number;
  /** Distinct keys hit, where the source can tell (CloudWatch's count_distinct is an estimate on large sets). */
  readonly distinctKeys?: number;
  readonly firstHitAt?: string;
  readonly lastHitAt?: string;
  /** Up to 20 keys that were hit. */
  readonly sampleKeys: string[];
  /** file: lines read, and hit events without a readable time (counted as hits). */
  readonly lines?: { readonly read: number; readonly untimedHits: number };
  /** cloudwatch: the Logs Insights query run, so a person can run it again. */
  readonly query?: string;
  /** cloudwatch: the Logs Insights query of the heartbeats. */
  readonly coverageQuery?: string;
  /** How much of the window the store's heartbeats cover (coverage.ts). */
  readonly coverage: MeasuredCoverage;
}

export const SAMPLE_KEYS = 20;
