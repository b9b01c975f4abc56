import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** A temporary folder removed after the test file's tests (call at the top level of a test file). */
export function tmpDirPerFile(prefix = 'bm-'): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
