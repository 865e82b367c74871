/**
 * Job locks for workers that share one output folder (a shared filesystem): a worker claims a job by
 * creating `<job>.lock` atomically (a hard link of a complete temporary file, which fails if the lock
 * exists), with its host, pid and start time inside. The holder refreshes the lock's mtime while it
 * works (a heartbeat). A lock is stale, and may be taken over, when
 *   - it was written on this host and its pid is no longer alive (a worker killed with SIGKILL), or
 *   - its heartbeat is older than `staleSeconds` (REPRO_LOCK_STALE_SECONDS, default 900): a node
 *     that died, or, on this host, a dead worker whose pid was reused by another process, or
 *   - it is empty or unreadable (not written by `tryLock`, or damaged) and its mtime is older than
 *     `staleSeconds`: until then it counts as held, since whoever wrote it may still be working.
 * Taking over renames the stale lock away first (only one of several workers can win that rename),
 * then claims as usual; the job then resumes from its last checkpoint.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readRegularFile } from '@repro/runtime';

export interface LockInfo {
  host: string;
  pid: number;
  job: string;
  startedAt: string;
}

export interface HeldLock {
  file: string;
  release(): void;
}

export const HEARTBEAT_MS = 60_000;

export function staleSeconds(): number {
  const env = process.env.REPRO_LOCK_STALE_SECONDS;
  if (env === undefined || env === '') return 900;
  const v = Number(env);
  if (!(v > 0)) throw new Error(`REPRO_LOCK_STALE_SECONDS='${env}' is not a positive number of seconds`);
  return v;
}

/**
 * Whether process `pid` of this host is running. A killed process stays in the process table as a
 * zombie until its parent (or, orphaned, the system's init) reaps it, and signal 0 still reaches it:
 * on Linux its state in /proc says so, and a zombie holds no job.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc (not Linux), or it went away just now: signal 0 reached it
  }
}

/** The lock's content when it is one `tryLock` wrote (host, pid, job, startedAt), else undefined. */
function parseLock(text: string): LockInfo | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Partial<LockInfo>;
  if (typeof o.host !== 'string' || !o.host || !Number.isSafeInteger(o.pid) || (o.pid as number) <= 0) return undefined;
  return { host: o.host, pid: o.pid as number, job: String(o.job ?? ''), startedAt: String(o.startedAt ?? '') };
}

/** Why the lock at `file` is stale, or undefined when it is held (or cannot be read yet). */
export function staleReason(file: string, now = Date.now()): string | undefined {
  // a lock folder may be shared: only a regular file of the folder is read (a FIFO would block, a link
  // out of the folder would be followed), and a lock of another kind is an error, never waited for
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile())
    throw new Error(`${file}: a job lock must be a regular file (this one is not); remove it to run the job`);
  let text: string;
  let mtime: number;
  try {
    mtime = fs.statSync(file).mtimeMs;
    text = readRegularFile(file, { what: 'job lock', maxBytes: 64 * 1024 }).toString('utf8');
  } catch {
    if (!fs.existsSync(file)) return undefined; // vanished or being replaced: not ours to judge
    mtime ??= fs.statSync(file).mtimeMs;
    text = '(unreadable)'; // too large, say: judged like any lock tryLock did not write
  }
  const age = (now - mtime) / 1000;
  const stale = age > staleSeconds();
  const info = parseLock(text);
  if (!info)
    return stale
      ? `the lock is ${text.trim() ? 'unreadable' : 'empty'} and unchanged for ${Math.round(age)} s`
      : undefined;
  if (info.host === os.hostname() && !alive(info.pid)) return `its worker (pid ${info.pid} on ${info.host}) is gone`;
  // on this host too: a pid that is alive may belong to another process since (pids are reused)
  return stale ? `no heartbeat from ${info.host} (pid ${info.pid}) for ${Math.round(age)} s` : undefined;
}

function create(file: string, info: LockInfo): boolean {
  const tmp = `${file}.${os.hostname()}.${process.pid}.tmp`;
  // 'wx': never write through a file or link already there (a shared folder)
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, JSON.stringify(info), { flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Claims `job` with the lock file `file`; undefined when another live worker holds it.
 * `onTakeover` is told when a stale lock was taken over.
 */
export function tryLock(file: string, job: string, onTakeover?: (reason: string) => void): HeldLock | undefined {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const info: LockInfo = { host: os.hostname(), pid: process.pid, job, startedAt: new Date().toISOString() };
  if (!create(file, info)) {
    const reason = staleReason(file);
    if (reason === undefined) return undefined;
    const aside = `${file}.stale.${os.hostname()}.${process.pid}`;
    try {
      fs.renameSync(file, aside); // one taker wins; the others get ENOENT
    } catch {
      return undefined;
    }
    fs.rmSync(aside, { force: true });
    if (!create(file, info)) return undefined;
    onTakeover?.(reason);
  }
  const beat = setInterval(() => {
    try {
      const t = new Date();
      fs.utimesSync(file, t, t);
    } catch {
      /* taken over or removed: the worker finds out at release */
    }
  }, HEARTBEAT_MS);
  beat.unref();
  return {
    file,
    release: () => {
      clearInterval(beat);
      try {
        const held = parseLock(readRegularFile(file, { what: 'job lock', maxBytes: 64 * 1024 }).toString('utf8'));
        if (held && held.host === info.host && held.pid === info.pid) fs.rmSync(file, { force: true });
      } catch {
        /* already gone */
      }
    },
  };
}
