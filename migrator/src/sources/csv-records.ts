/**
 * The records of a CSV manifest stream (csv-parse), optionally gunzipped on the way (zlib), skipping the first `skip`
 * records (a resumed run). A failure anywhere in the chain (the GET, gunzip, the parser) ends the iteration with that
 * error; leaving the iteration early destroys the whole chain, the GET's socket included.
 */
import { parse } from 'csv-parse';
import { pipeline, type Readable } from 'stream';
import { createGunzip } from 'zlib';

export async function* csvRecords(
  body: Readable,
  opts: { gzip: boolean; skip?: number },
): AsyncGenerator<{ fields: string[]; record: number }> {
  // Rows of a Batch Operations manifest have 2 or 3 fields; an inventory row as many as its fileSchema (the caller
  // checks).
  const parser = parse({ relax_column_count: true, skip_empty_lines: true, bom: true });
  const stages: NodeJS.ReadWriteStream[] = opts.gzip ? [createGunzip(), parser] : [parser];
  const out = (pipeline as unknown as (...s: unknown[]) => Readable)(body, ...stages, () => {
    /* errors reach the iteration below through the parser */
  });
  let record = 0;
  const skip = opts.skip ?? 0;
  for await (const fields of out as AsyncIterable<string[]>) {
    record++;
    if (record <= skip) continue;
    yield { fields, record };
  }
}
