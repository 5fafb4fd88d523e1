// A build that repeats replays the model's part of it. The explorer builds
// a scenario's system once per schedule, and each build brings the physical
// GIC up the same way (Xen's gic_init on every pCPU, the first vCPUs
// switched in): about a hundred register writes into the wasm model, which
// cost more than the rest of the build. The host code of the build still
// runs in full (clocks, locks, lockdep, traces); only the model's calls are
// answered from a record of an earlier build that made the same calls.
// buildSystem does this when asked (SystemOptions.replay; the scenarios ask).
//
// Why that is exact: the model's whole state is its state area (below
// L.STATE_END: see the pool in gic.ts), a build starts from the image
// `configure` left, and the model is deterministic. So a call made with the
// same arguments, on the same state, returns the same result and changes
// the same words. A record is a tree of calls from that image: each node
// holds one call (function, arguments, and the model clock the host wrote
// into memory before it, the only word host code writes there), its result
// and the words it changed (index, value pairs). A replayed call applies
// those words, so the memory is at every moment what the model would have
// made it: host code that reads the model's memory directly between calls
// reads the same values. At the first call the tree does not hold, the
// build goes on with the real model from that very state.
//
// A build's calls past the tree are kept (as plain numbers) and, once the
// same continuation has been seen three times, re-run on a spare instance to
// add them to the tree, each call's result checked against the build's, and
// the spare's final state against the build's: a continuation that does not
// reproduce is never added.

import * as L from "./layout.ts";
import { Gic, configuredState, type RawGic } from "./gic.ts";

const RESET = 1, MMIO_READ = 2, MMIO_WRITE = 3, SET_LINE = 4, LINES = 5, SET_TIME = 6,
  LAST_STATUS = 7, LINES_SEQ = 8, ACCESSES = 9;

/** u32 words of the state area */
const STATE_WORDS = L.STATE_END >>> 2;
const NOW_LO = L.G_NOW >>> 2, NOW_HI = NOW_LO + 1;
/** the tree's size over all configurations, in calls and the words they change */
const MAX_NODES = 100_000;
/** continuations remembered per node until one repeats */
const MAX_SEEN = 256;
/** nodes remembering continuations, over all configurations */
const MAX_SEEN_MAPS = 1024;
/** a continuation is added to the tree the time it is seen this often: an
 *  explorer builds one system again and again, a fuzzer mostly new ones
 *  (its shrinker repeats a few), and adding one costs a spare instance's
 *  run of it with a comparison of the state after every call */
const RECORD_AFTER = 3;

class Node {
  readonly children: Node[] = [];
  /** hashes of the continuations builds ran past this node, and how often */
  seen: Map<number, number> | null = null;
  constructor(readonly parent: Node | null, readonly fn: number, readonly a0: number, readonly a1: number,
    readonly a2: number, readonly a3: number, readonly nowLo: number, readonly nowHi: number,
    readonly result: number, readonly diff: Uint32Array) {}
}

const roots = new Map<string, Node>();
let nodes = 0;
let seenMaps = 0;
let enabled = true;
/** calls answered from the tree, and made on the model, during builds */
const counts = { replayed: 0, live: 0 };

/** @internal For tests: builds replay (the default) or make every call. */
export function setReplay(on: boolean): void { enabled = on; }

/** @internal For tests: calls replayed and made during builds so far. */
export function replayCounts(): { replayed: number; live: number } { return { ...counts }; }

/** entries of a build's log past the tree: fn, a0-a3, nowLo, nowHi, result */
const ENTRY = 8;
const NO_LOG = new Float64Array(0);
/** a call that changed no word (most reads) */
const NO_CHANGE = new Uint32Array(0);

/** The model's calls during a build: answered from the tree while it
 *  holds them, then made on the real model and logged. */
class Session implements RawGic {
  readonly memory: WebAssembly.Memory;
  private node: Node | null;
  /** the node the build left the tree at */
  private left: Node | null = null;
  /** made when the build leaves the tree (most never do) */
  private log: Float64Array = NO_LOG;
  private n = 0;
  /** a call threw: nothing of this build is recorded */
  failed = false;
  /** the build is over: a caller that kept this port (gic.raw during the
   *  build) goes straight to the model from now on */
  private closed = false;

  constructor(private readonly real: RawGic, private readonly u32: Uint32Array, root: Node) {
    this.memory = real.memory;
    this.node = root;
  }

  private call(fn: number, a0: number, a1: number, a2: number, a3: number): number {
    if (this.closed) return perform(this.real, fn, a0, a1, a2, a3);
    const u32 = this.u32;
    const lo = u32[NOW_LO]!, hi = u32[NOW_HI]!;
    const at = this.node;
    if (at !== null) {
      const cs = at.children;
      for (let i = 0; i < cs.length; i++) {
        const c = cs[i]!;
        if (c.fn === fn && c.a0 === a0 && c.a1 === a1 && c.a2 === a2 && c.a3 === a3 && c.nowLo === lo && c.nowHi === hi &&
          (a0 !== 0 || Object.is(a0, c.a0))) {
          const d = c.diff;
          for (let k = 0; k < d.length; k += 2) u32[d[k]!] = d[k + 1]!;
          this.node = c;
          counts.replayed++;
          return c.result;
        }
      }
      this.left = at;
      this.node = null;
    }
    counts.live++;
    let r: number;
    try {
      r = this.dispatch(fn, a0, a1, a2, a3);
    } catch (e) {
      this.failed = true;
      throw e;
    }
    this.append(fn, a0, a1, a2, a3, lo, hi, r);
    return r;
  }

  private dispatch(fn: number, a0: number, a1: number, a2: number, a3: number): number {
    return perform(this.real, fn, a0, a1, a2, a3);
  }

  private append(fn: number, a0: number, a1: number, a2: number, a3: number, lo: number, hi: number, r: number): void {
    if ((this.n + 1) * ENTRY > this.log.length) {
      const grown = new Float64Array(Math.max(64 * ENTRY, this.log.length * 2));
      grown.set(this.log);
      this.log = grown;
    }
    const b = this.n++ * ENTRY, g = this.log;
    g[b] = fn; g[b + 1] = a0; g[b + 2] = a1; g[b + 3] = a2; g[b + 4] = a3; g[b + 5] = lo; g[b + 6] = hi; g[b + 7] = r;
  }

  configure(): number { throw new Error("configure: not during a build"); }
  reset(): void { this.call(RESET, 0, 0, 0, 0); }
  mmioRead(cpu: number, addr: number, size: number): number { return this.call(MMIO_READ, cpu, addr, size, 0); }
  mmioWrite(cpu: number, addr: number, value: number, size: number): number { return this.call(MMIO_WRITE, cpu, addr, value, size); }
  setLine(irq: number, level: number, cpu: number): number { return this.call(SET_LINE, irq, level, cpu, 0); }
  lines(cpu: number): number { return this.call(LINES, cpu, 0, 0, 0); }
  setTime(now: number): void { this.call(SET_TIME, now, 0, 0, 0); }
  lastStatus(): number { return this.call(LAST_STATUS, 0, 0, 0, 0); }
  linesSeq(): number { return this.call(LINES_SEQ, 0, 0, 0, 0); }
  accesses(): number { return this.call(ACCESSES, 0, 0, 0, 0); }

  /** The build failed: nothing is recorded, and later calls go to the model. */
  close(): void { this.closed = true; }

  /** The build is over: if it ran past the tree along a continuation seen
   *  often enough before, add that continuation. */
  finish(gic: Gic): void {
    this.closed = true;
    const from = this.left;
    if (from === null || this.failed || this.n === 0) return;
    const h = hashLog(this.log, this.n);
    if (from.seen === null && seenMaps >= MAX_SEEN_MAPS) return;
    const seen = from.seen ??= (seenMaps++, new Map());
    const times = (seen.get(h) ?? 0) + 1;
    if (times < RECORD_AFTER) {
      if (seen.size >= MAX_SEEN) seen.clear();
      seen.set(h, times);
      return;
    }
    seen.delete(h);
    if (nodes + this.n > MAX_NODES) return;
    let branch: Node | null = null;
    try {
      branch = rerun(gic, from, this.log, this.n, this.u32);
    } catch {
      // (the build itself succeeded: a continuation that cannot be re-run
      // is simply not recorded)
    }
    if (branch !== null) {
      from.children.push(branch);
      // the bound counts the words the calls change too
      let words = 0;
      for (let b: Node | undefined = branch; b !== undefined; b = b.children[0]) words += b.diff.length >>> 1;
      nodes += this.n + words;
    }
  }
}

function perform(raw: RawGic, fn: number, a0: number, a1: number, a2: number, a3: number): number {
  switch (fn) {
    case RESET: raw.reset(); return 0;
    case MMIO_READ: return raw.mmioRead(a0, a1, a2);
    case MMIO_WRITE: return raw.mmioWrite(a0, a1, a2, a3);
    case SET_LINE: return raw.setLine(a0, a1, a2);
    case LINES: return raw.lines(a0);
    case SET_TIME: raw.setTime(a0); return 0;
    case LAST_STATUS: return raw.lastStatus();
    case LINES_SEQ: return raw.linesSeq();
    default: return raw.accesses();
  }
}

/** FNV-1a over the log's bits. */
function hashLog(log: Float64Array, n: number): number {
  const w = new Uint32Array(log.buffer, 0, n * ENTRY * 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w[i]!, 0x01000193);
  return h >>> 0;
}

/** Re-run a logged continuation on a spare instance of the configuration,
 *  from the state at `from`, recording each call's changed words. Returns
 *  the first node of the chain, or null if anything differs from the build
 *  (a result, or the final state apart from the clock host code wrote). */
function rerun(gic: Gic, from: Node, log: Float64Array, n: number, live: Uint32Array): Node | null {
  const spare = Gic.create(gic.config);
  try {
    const u32 = spare.memoryWords();
    if (u32.length < STATE_WORDS || live.length < STATE_WORDS) return null;
    // the state at `from`: the configured image, then each change on the way
    const path: Node[] = [];
    for (let x: Node | null = from; x !== null; x = x.parent) path.push(x);
    for (let i = path.length - 1; i >= 0; i--) {
      const d = path[i]!.diff;
      for (let k = 0; k < d.length; k += 2) u32[d[k]!] = d[k + 1]!;
    }
    // the state before each call: copied once, then kept up to date with
    // each call's changes
    const before = u32.slice(0, STATE_WORDS);
    let first: Node | null = null, parent = from;
    for (let e = 0; e < n; e++) {
      const b = e * ENTRY;
      const fn = log[b]!, a0 = log[b + 1]!, a1 = log[b + 2]!, a2 = log[b + 3]!, a3 = log[b + 4]!;
      const lo = log[b + 5]!, hi = log[b + 6]!, result = log[b + 7]!;
      u32[NOW_LO] = before[NOW_LO] = lo;
      u32[NOW_HI] = before[NOW_HI] = hi;
      const r = perform(spare.raw, fn, a0, a1, a2, a3);
      if (!Object.is(r, result)) return null;
      const diff: number[] = [];
      for (let k = 0; k < STATE_WORDS; k++) {
        const x = u32[k]!;
        if (x !== before[k]) { diff.push(k, x); before[k] = x; }
      }
      const node = new Node(parent, fn, a0, a1, a2, a3, lo, hi, result, diff.length === 0 ? NO_CHANGE : Uint32Array.from(diff));
      if (parent !== from) parent.children.push(node);
      first ??= node;
      parent = node;
    }
    for (let k = 0; k < STATE_WORDS; k++) {
      if (k !== NOW_LO && k !== NOW_HI && u32[k] !== live[k]) return null;
    }
    return first;
  } finally {
    spare.release();
  }
}

/** Run `build` with the model's calls on `gic` replayed where a record
 *  holds them. `gic` must be as Gic.create left it (nothing called yet). */
export function replayBuild<T>(gic: Gic, build: () => T): T {
  if (!enabled) return build();
  const key = gic.poolKey;
  let root = roots.get(key);
  if (root === undefined) {
    if (configuredState(key) === undefined) return build();
    roots.set(key, root = new Node(null, 0, 0, 0, 0, 0, 0, 0, 0, NO_CHANGE));
  }
  const real = gic.raw;
  const session = new Session(real, gic.memoryWords(), root);
  gic.routeCalls(session);
  let done = false;
  try {
    const out = build();
    done = true;
    return out;
  } finally {
    gic.routeCalls(real);
    if (done) session.finish(gic);
    else session.close();
  }
}
