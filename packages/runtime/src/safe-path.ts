/**
 * Paths and ids taken from files the user did not write: a shared model folder's model.json (its
 * weight shards), run records from other workers (their run ids, which name output files), checkpoint
 * indexes, locks. A path from such a file must stay inside its folder, name a regular file there and
 * be read with a size bound; an id that becomes part of a file name must be a plain token. Every
 * refusal names the entry and says nothing about a file outside the folder (not whether it exists,
 * its type, size or content).
 */
import * as fs from 'fs';
import * as path from 'path';

/** A value from a file, quoted for a message: JSON-escaped (no control characters), at most 80 characters. */
function show(v: unknown): string {
  if (typeof v !== 'string') return v === undefined ? 'undefined' : `a ${v === null ? 'null' : typeof v}`;
  return v.length > 80 ? `${JSON.stringify(v.slice(0, 80))}…` : JSON.stringify(v);
}

/** Whether `p` is strictly below `root` (both absolute and normalised). */
function below(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * `relative` joined to `root`, refused (an error naming `what` and the value) when it is empty,
 * absolute, or climbs out of `root` (`..`). Lexical only: symbolic links are `resolveInside`'s job.
 */
export function safeJoin(root: string, relative: string, what: string): string {
  if (typeof relative !== 'string' || relative === '' || relative.includes('\0'))
    throw new Error(`${what} ${show(relative)} is not a file name`);
  if (path.isAbsolute(relative) || path.win32.isAbsolute(relative))
    throw new Error(`${what} ${show(relative)} is an absolute path; only paths inside ${root} are allowed`);
  if (!below(path.resolve(root), path.resolve(root, relative)))
    throw new Error(`${what} ${show(relative)} climbs out of ${root}; only paths inside it are allowed`);
  return path.join(root, relative);
}

/** Ids that become part of file names: a letter or digit, then letters, digits, `_`, `.`, `-` and `%`. */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.%-]*$/;
/** With `.seed<n>.json` and a temporary-file suffix the name stays under the 255 bytes of a file name. */
export const MAX_ID_LENGTH = 200;

/** `value` when it is a safe id (see SAFE_ID_PATTERN, at most MAX_ID_LENGTH characters); else an error naming `what`. */
export function assertSafeId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length > MAX_ID_LENGTH || !SAFE_ID_PATTERN.test(value))
    throw new Error(
      `${what} ${show(value)} is not a safe id (a letter or digit, then letters, digits, '_', '.', '-' or '%'; at most ${MAX_ID_LENGTH} characters)`,
    );
  return value;
}

/**
 * The real path of `relative` under `root` when it is inside `root` after following symbolic links;
 * refused otherwise (absolute, `..`, a link out of the folder, a missing folder on the way: one message
 * for all of them, so that nothing is learnt about what lies outside). A missing file directly in a
 * folder inside `root` is reported as missing.
 */
export function resolveInside(root: string, relative: string, what: string): string {
  const lexical = path.resolve(safeJoin(root, relative, what));
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    throw new Error(`${what} ${show(relative)}: the folder ${root} does not exist`);
  }
  const outside = () =>
    new Error(
      `${what} ${show(relative)} does not resolve to a file inside ${root} (a symbolic link out of it, or a missing folder); only files inside it are read`,
    );
  let parent: string;
  try {
    parent = fs.realpathSync(path.dirname(lexical));
  } catch {
    throw outside();
  }
  if (parent !== realRoot && !below(realRoot, parent)) throw outside();
  const candidate = path.join(parent, path.basename(lexical));
  const st = fs.lstatSync(candidate, { throwIfNoEntry: false });
  if (!st) throw new Error(`${what} ${show(relative)} is missing (no such file in ${root})`);
  if (!st.isSymbolicLink()) return candidate;
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    throw outside();
  }
  if (!below(realRoot, real)) throw outside();
  return real;
}

export interface ReadInsideOptions {
  /** Names the entry in errors, e.g. `<dir>/model.json: weight shard weightsManifest[0].paths[1]`. */
  what: string;
  /** Files larger than this are refused (nothing beyond it is read). */
  maxBytes: number;
  /** Why the bound is what it is, for the error (e.g. "the bytes model.json describes"). */
  limit?: string;
}

const notRegular = (what: string, relative: string) =>
  new Error(`${what} ${show(relative)} is not a regular file (a directory, FIFO, socket or device); refused`);

/**
 * Reads `relative` under `root`: only a regular file inside `root` (see resolveInside), of at most
 * `maxBytes` bytes. The type is checked before the file is opened (a FIFO never blocks the reader) and
 * again on the open descriptor; at most the size seen then is read.
 */
export function readFileInside(root: string, relative: string, o: ReadInsideOptions): Buffer {
  const file = resolveInside(root, relative, o.what);
  const tooLarge = (size: number) =>
    new Error(
      `${o.what} ${show(relative)} holds ${size} bytes, more than ${o.maxBytes}${o.limit ? ` (${o.limit})` : ''}`,
    );
  const st = fs.lstatSync(file);
  if (!st.isFile()) throw notRegular(o.what, relative);
  if (st.size > o.maxBytes) throw tooLarge(st.size);
  const flags = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0);
  const fd = fs.openSync(file, flags);
  try {
    const fst = fs.fstatSync(fd);
    if (!fst.isFile() || fst.ino !== st.ino || fst.dev !== st.dev) throw notRegular(o.what, relative);
    if (fst.size > o.maxBytes) throw tooLarge(fst.size);
    const buf = Buffer.alloc(fst.size);
    let n = 0;
    while (n < buf.length) {
      const k = fs.readSync(fd, buf, n, buf.length - n, n);
      if (k === 0) break;
      n += k;
    }
    return n === buf.length ? buf : buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** `readFileInside` of a file named directly: it must be a regular file of its own folder (no link out of it). */
export function readRegularFile(file: string, o: ReadInsideOptions): Buffer {
  return readFileInside(path.dirname(file), path.basename(file), o);
}
