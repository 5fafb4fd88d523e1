// Output files and directories, checked before any work starts and written
// so that an interruption never leaves a half-written file: every file goes
// to a temporary name in the same directory and is renamed over the target
// (rename is atomic within a file system). Directories are created one level
// at a time: Node's recursive mkdir never returns on some special file
// systems (mkdirSync("/proc/x", {recursive: true}) spins).

import { accessSync, constants, closeSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join, parse, resolve } from "node:path";
import { InputError, printable } from "./input.ts";

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

const reason = (e: unknown) => ((e as NodeJS.ErrnoException).code ?? (e as Error).message);

/** Pseudo file systems where files are not data (and mkdir may misbehave). */
function special(abs: string): boolean {
  return /^\/(proc|sys)(\/|$)/.test(abs);
}

/** Create `dir` and its missing parents, or throw an InputError naming `what`
 *  (an option such as "--out") and the component that is in the way. With
 *  `create: false`, only check that it could be created (nothing is made
 *  before there is something to write). */
export function ensureDir(dir: string, what: string, create = true): void {
  const abs = resolve(dir);
  if (special(abs)) throw new InputError(`${what}: ${printable(dir)} is on a pseudo file system (/proc, /sys), expected a directory for files`);
  const root = parse(abs).root;
  const parts = abs.slice(root.length).split(/[\\/]+/).filter((p) => p !== "");
  let cur = root;
  for (const p of parts) {
    cur = join(cur, p);
    const st = statOrNull(cur);
    if (st?.isDirectory()) continue;
    if (st) throw new InputError(`${what}: ${printable(cur)} is a file, not a directory`);
    if (!create) {
      try {
        accessSync(dirname(cur), constants.W_OK);
      } catch (e) {
        throw new InputError(`${what}: cannot create directory ${printable(cur)} (${reason(e)})`);
      }
      return;
    }
    try {
      mkdirSync(cur);
    } catch (e) {
      throw new InputError(`${what}: cannot create directory ${printable(cur)} (${reason(e)})`);
    }
  }
}

/** Check that `file` can be written (its directory exists and takes a new
 *  file; the file, if it exists, is a regular file) before running anything. */
export function checkOutputFile(file: string, what: string): void {
  const abs = resolve(file);
  if (special(abs)) throw new InputError(`${what}: ${printable(file)} is on a pseudo file system (/proc, /sys), expected a regular file`);
  const st = statOrNull(abs);
  if (st?.isDirectory()) throw new InputError(`${what}: ${printable(file)} is a directory, expected a file name`);
  const dir = dirname(abs);
  const ds = statOrNull(dir);
  if (ds === null) throw new InputError(`${what}: directory ${printable(dirname(file))} does not exist`);
  if (!ds.isDirectory()) throw new InputError(`${what}: ${printable(dirname(file))} is not a directory`);
  if (st !== null && !st.isFile()) return; // a device or FIFO the user named (e.g. /dev/stdout)
  const probe = tempName(abs);
  try {
    closeSync(openSync(probe, "wx"));
    unlinkSync(probe);
  } catch (e) {
    throw new InputError(`${what}: cannot write in ${printable(dirname(file))} (${reason(e)})`);
  }
}

let serial = 0;
function tempName(abs: string): string {
  return join(dirname(abs), `.${basename(abs)}.${process.pid}.${serial++}.tmp`);
}

/** Remove the temporary files of this process (any of its threads) left in
 *  `dir`: a worker thread stopped between writing one and renaming it into
 *  place leaves it behind. What cannot be read or removed stays. */
export function removeOwnTempFiles(dir: string): void {
  const mine = new RegExp(`^\\..+\\.${process.pid}\\.\\d+\\.tmp$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!mine.test(n)) continue;
    try { unlinkSync(join(dir, n)); } catch { /* gone already */ }
  }
}

/** Write `data` to `file` through a temporary file and a rename, so that a
 *  reader (or an interruption) sees the old content or the new, never half.
 *  A device or FIFO is written directly. */
export function writeFileAtomic(file: string, data: string): void {
  const abs = resolve(file);
  const st = statOrNull(abs);
  if (st !== null && !st.isFile()) {
    try {
      writeFileSync(abs, data);
    } catch (e) {
      throw new InputError(`cannot write ${printable(file)} (${reason(e)})`);
    }
    return;
  }
  const tmp = tempName(abs);
  try {
    writeFileSync(tmp, data, { flag: "wx" });
    renameSync(tmp, abs);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* it was never created */ }
    throw new InputError(`cannot write ${printable(file)} (${reason(e)})`);
  }
}

/** Bytes gathered before a StreamFile writes them. */
const STREAM_CHUNK = 256 * 1024;

/** A file written piece by piece as its content is produced, with the same
 *  guarantee as writeFileAtomic: the pieces go to a temporary file that
 *  commit() renames over `file`; abort() removes it. A device or FIFO is
 *  written directly. Writes are gathered into chunks of STREAM_CHUNK; a
 *  failed write never throws from write() (its callers run inside a
 *  simulation): the first failure is kept, later writes are dropped, and
 *  commit() removes the temporary file and throws it as an InputError. */
export class StreamFile {
  private fd: number;
  private readonly tmp: string | null;
  private pending = "";
  private failure: unknown = null;
  private closed = false;
  /** bytes written to the file so far */
  written = 0;

  constructor(readonly file: string) {
    const abs = resolve(file);
    const st = statOrNull(abs);
    this.tmp = st !== null && !st.isFile() ? null : tempName(abs);
    try {
      this.fd = openSync(this.tmp ?? abs, this.tmp === null ? "w" : "wx");
    } catch (e) {
      throw new InputError(`cannot write ${printable(file)} (${reason(e)})`);
    }
  }

  write(text: string): void {
    if (this.failure !== null || this.closed) return;
    this.pending += text;
    if (this.pending.length >= STREAM_CHUNK) this.flush();
  }

  private flush(): void {
    if (this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    try {
      const n = writeSync(this.fd, text);
      const data = Buffer.byteLength(text);
      // a short write (a pipe, a full disk): the rest, as bytes
      if (n < data) {
        const rest = Buffer.from(text).subarray(n);
        for (let off = 0; off < rest.length;) off += writeSync(this.fd, rest, off, rest.length - off);
      }
      this.written += data;
    } catch (e) {
      this.failure = e;
    }
  }

  /** Write what is gathered and put the file in place. */
  commit(): void {
    StreamFile.place(this.finish(), this.file);
  }

  /** Write what is gathered and close; returns the temporary file that
   *  place() puts in place later (null: written directly). */
  finish(): string | null {
    if (this.closed) throw new Error(`${this.file}: already closed`);
    this.flush();
    this.close();
    if (this.failure !== null) {
      this.removeTemp();
      throw new InputError(`cannot write ${printable(this.file)} (${reason(this.failure)})`);
    }
    return this.tmp;
  }

  /** Rename a finished temporary file over `file` (nothing for null). */
  static place(tmp: string | null, file: string): void {
    if (tmp === null) return;
    try {
      renameSync(tmp, resolve(file));
    } catch (e) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
      throw new InputError(`cannot write ${printable(file)} (${reason(e)})`);
    }
  }

  /** Give up: the temporary file goes, `file` stays as it was. */
  abort(): void {
    if (this.closed) return;
    this.close();
    this.removeTemp();
  }

  private close(): void {
    this.closed = true;
    this.pending = "";
    try { closeSync(this.fd); } catch (e) { this.failure ??= e; }
  }

  private removeTemp(): void {
    if (this.tmp !== null) try { unlinkSync(this.tmp); } catch { /* already gone */ }
  }
}
