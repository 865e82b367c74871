import * as fs from 'fs';
import * as path from 'path';

/**
 * Writes a file atomically: the data goes to a temporary file in the same folder, is flushed to disk,
 * then renamed over the target. A reader (or a run killed half-way) never sees a half-written file.
 * Creates the parent folder.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const { fd, commit, abort } = openAtomic(target);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  } catch (err) {
    abort();
    throw err;
  }
  commit();
}

/**
 * A file written piece by piece, atomically: write to `fd` (e.g. at offsets), then `commit()`
 * (flush, close, rename over the target) or `abort()` (close, remove). Creates the parent folder.
 */
export function openAtomic(target: string): { fd: number; commit: () => void; abort: () => void } {
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(tmp, 'w');
  return {
    fd,
    commit: () => {
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, target);
    },
    abort: () => {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    },
  };
}

/** `writeFileAtomic` of pretty-printed JSON with a trailing newline. */
export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}
