/**
 * Tells the run's pacer about every throttled answer (503 SlowDown, 429, Throttling*), including those the SDK's retry
 * strategy then retries successfully: the middleware sits below the retry step, so it sees each attempt; the light
 * request path of the per-object calls (aws/light-s3.ts) reports each of its attempts the same way.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { observeLightAttempts } from '../aws/light-s3';
import { classify } from './classify';

export function observeThrottling(client: S3Client, onThrottle: () => void): void {
  const observe = (err: unknown) => {
    if (classify(err).throttle) onThrottle();
  };
  observeLightAttempts(client, observe);
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        observe(err);
        throw err;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'bucketmoveThrottleObserver', override: true },
  );
}
