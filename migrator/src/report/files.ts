/** Report files are written whole or not at all: into a temporary sibling, then renamed over the target. */
import * as fs from 'fs';
import * as path from 'path';

export function writeFileAtomic(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, content, { mode: 0o640 });
    fs.renameSync(tmp, file);
  } finally {
    if (fs.existsSync(tmp)) fs.rmSync(tmp, { force: true });
  }
}

/** Streams lines into a temporary sibling and renames it when done; `abort()` leaves nothing behind. */
export class AtomicLineWriter {
  private readonly tmp: string;
  private readonly fd: number;

  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.tmp = `${file}.tmp-${process.pid}`;
    this.fd = fs.openSync(this.tmp, 'w', 0o640);
  }

  write(line: string): void {
    fs.writeSync(this.fd, `${line}\n`);
  }

  commit(): void {
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
  }

  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

/** A timestamp usable in file names: 20261126T044512Z. */
export function fileStamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}
