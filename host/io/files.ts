// Output files and directories, checked before any work starts and written
// so that an interruption never leaves a half-written file: every file goes
// to a temporary name in the same directory and is renamed over the target
// (rename is atomic within a file system). Directories are created one level
// at a time: Node's recursive mkdir never returns on some special file
// systems (mkdirSync("/proc/x", {recursive: true}) spins).

import { accessSync, constants, closeSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from "node:fs";
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

/** Write `data` to `file` through a temporary file and a rename, so that a
 *  reader (or an interruption) sees the old content or the new, never half.
 *  A device or FIFO is written directly. */
export function writeFileAtomic(file: string, data: string): void {
  const abs = resolve(file);
  const st = statOrNull(abs);
  if (st !== null && !st.isFile()) {
    writeFileSync(abs, data);
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
