// Lock dependency checking in the manner of Linux lockdep
// (Documentation/locking/lockdep-design.rst): locks belong to classes (every
// rank lock is one class, every vCPU's vgic lock another); whenever a thread
// takes a lock of class B while holding one of class A, the edge A -> B joins
// an order graph. A new edge closing a cycle is an inversion, reported with
// the acquisitions of every edge of the cycle, even when the run itself never
// deadlocked: the order is what can deadlock. Also reported: recursive
// acquisition of a held lock; irq-unsafe use (a class taken in hard-IRQ
// context and also taken elsewhere with IRQs enabled, which deadlocks when
// the IRQ arrives on the CPU that holds it); and an irq inversion, lockdep's
// "HARDIRQ-safe -> HARDIRQ-unsafe" rule: a class S taken in hard-IRQ
// context from which the order graph leads to a class U taken with IRQs
// enabled. CPU0 holds U with IRQs on; CPU1 holds S (in an IRQ, or with IRQs
// off) and, down the order, waits for U; an IRQ on CPU0 wants S.
//
// Limits, on purpose: two locks of one class held together (two vCPUs' vgic
// locks) add no edge, because code orders such pairs itself (Xen 4.11's vGIC
// takes the lower vCPU id first) and a class-level graph cannot see that;
// trylock acquisitions add no edges, since a trylock cannot wait.

/** A frame of a thread's simulated call stack; immutable, so a snapshot is a
 *  pointer and costs nothing to take. */
export interface StackNode {
  readonly name: string;
  readonly parent: StackNode | null;
}

/** The names on a stack, outermost first. */
export function stackNames(n: StackNode | null): string[] {
  const out: string[] = [];
  for (let p = n; p !== null; p = p.parent) out.push(p.name);
  return out.reverse();
}

export type IrqContext = "hardirq" | "irqs-off" | "irqs-on" | "thread";

/** One lock acquisition as lockdep keeps it (stack not yet resolved). */
export interface RawAcquisition {
  readonly thread: string;
  readonly lock: string;
  readonly lockClass: string;
  /** "spin_lock", "spin_lock_irqsave", "spin_trylock" */
  readonly op: string;
  readonly stack: StackNode | null;
  readonly cycle: number;
  readonly irq: IrqContext;
}

/** An acquisition in a report: the stack ends with the lock operation. */
export interface Acquisition {
  thread: string;
  lock: string;
  lockClass: string;
  cycle: number;
  irq: IrqContext;
  stack: string[];
}

export interface LockdepReport {
  kind: "inversion" | "recursive" | "irq-unsafe" | "irq-inversion";
  /** the classes involved, in the order of the report */
  classes: string[];
  message: string;
  /** inversion: pairs (held, acquired) for each edge of the cycle, the new
   *  edge first; recursive: (held, acquired again); irq-unsafe: (in hard IRQ,
   *  with IRQs enabled); irq-inversion: S in hard IRQ, then (held, acquired)
   *  for each edge of the path from S to U, then U with IRQs enabled */
  acquisitions: Acquisition[];
}

export function resolve(a: RawAcquisition): Acquisition {
  const stack = stackNames(a.stack);
  stack.push(`${a.op}(${a.lock})`);
  return { thread: a.thread, lock: a.lock, lockClass: a.lockClass, cycle: a.cycle, irq: a.irq, stack };
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly held: RawAcquisition;
  readonly acquired: RawAcquisition;
}

interface Usage {
  hardirq: RawAcquisition | null;
  irqsOn: RawAcquisition | null;
  reported: boolean;
}

export class Lockdep {
  readonly reports: LockdepReport[] = [];
  private readonly edges = new Map<string, Map<string, Edge>>();
  private readonly reportedPairs = new Set<string>();
  private readonly usage = new Map<string, Usage>();
  /** unsafe classes an irq inversion was reported for (one report each:
   *  the rest would repeat that it is taken with IRQs enabled) */
  private readonly reportedUnsafe = new Set<string>();

  /** The order graph: class -> classes taken while holding it. */
  graph(): Record<string, string[]> {
    const g: Record<string, string[]> = {};
    for (const [from, tos] of this.edges) g[from] = [...tos.keys()];
    return g;
  }

  /** A thread is about to take `acq` while holding `held` (outermost first). */
  acquire(held: readonly RawAcquisition[], acq: RawAcquisition, trylock: boolean): void {
    if (!trylock) {
      for (let i = 0; i < held.length; i++) {
        const h = held[i]!;
        if (h.lockClass === acq.lockClass) continue;
        this.addEdge(h, acq);
      }
    }
    // a trylock never waits, so it makes its class neither IRQ-safe nor
    // -unsafe (Linux's mark_usage skips trylocks too)
    if (!trylock) this.irqUsage(acq);
  }

  /** The holder of a lock tried to take it again. */
  recursive(held: RawAcquisition, acq: RawAcquisition): void {
    this.reports.push({
      kind: "recursive",
      classes: [acq.lockClass],
      message: `recursive acquisition: ${acq.thread} takes ${acq.lock} (${acq.lockClass}) which it already holds`,
      acquisitions: [resolve(held), resolve(acq)],
    });
  }

  private addEdge(held: RawAcquisition, acq: RawAcquisition): void {
    let tos = this.edges.get(held.lockClass);
    if (tos === undefined) {
      tos = new Map();
      this.edges.set(held.lockClass, tos);
    }
    if (tos.has(acq.lockClass)) return;
    const edge: Edge = { from: held.lockClass, to: acq.lockClass, held, acquired: acq };
    tos.set(acq.lockClass, edge);
    this.irqInversions(held.lockClass, acq.lockClass);
    // a cycle needs a way back out of the class just taken
    if (!this.edges.has(acq.lockClass)) return;
    const back = this.path(acq.lockClass, held.lockClass);
    if (back === null) return;
    const key = [held.lockClass, acq.lockClass].sort().join("\u0000");
    if (this.reportedPairs.has(key)) return;
    this.reportedPairs.add(key);
    const cycle = [edge, ...back];
    const acquisitions: Acquisition[] = [];
    for (const e of cycle) acquisitions.push(resolve(e.held), resolve(e.acquired));
    const describe = (e: Edge) => `${e.from} -> ${e.to} (${e.acquired.thread}: ${stackNames(e.acquired.stack).at(-1) ?? "?"})`;
    this.reports.push({
      kind: "inversion",
      classes: cycle.map((e) => e.from),
      message: `lock order inversion: ${cycle.map(describe).join(", ")}`,
      acquisitions,
    });
  }

  /** Edges of a path from class `from` to class `to`, breadth first, or null. */
  private path(from: string, to: string): Edge[] | null {
    const prev = new Map<string, Edge | null>([[from, null]]);
    const queue = [from];
    for (let i = 0; i < queue.length; i++) {
      const c = queue[i]!;
      if (c === to) {
        const out: Edge[] = [];
        for (let e = prev.get(c)!; e !== null; e = prev.get(e.from)!) out.push(e);
        return out.reverse();
      }
      const tos = this.edges.get(c);
      if (tos === undefined) continue;
      for (const [n, e] of tos) {
        if (!prev.has(n)) {
          prev.set(n, e);
          queue.push(n);
        }
      }
    }
    return null;
  }

  /** Report a pair (S taken in hard IRQ, U taken with IRQs enabled),
   *  S != U, joined by an order path through the edge a -> b (or, with
   *  a === b, through class a): the classes that reach a, the classes b
   *  reaches. Once per U, with the first S found. */
  private irqInversions(a: string, b: string): void {
    for (const s of this.reaching(a)) {
      const su = this.usage.get(s);
      if (su === undefined || su.hardirq === null) continue;
      for (const u of this.reachable(b)) {
        const uu = this.usage.get(u);
        if (u === s || uu === undefined || uu.irqsOn === null || this.reportedUnsafe.has(u)) continue;
        const path = this.path(s, u);
        if (path === null) continue;
        this.reportedUnsafe.add(u);
        const acquisitions: Acquisition[] = [resolve(su.hardirq)];
        for (const e of path) acquisitions.push(resolve(e.held), resolve(e.acquired));
        acquisitions.push(resolve(uu.irqsOn));
        const where = (x: RawAcquisition) => `${x.thread}: ${stackNames(x.stack).at(-1) ?? "?"}`;
        this.reports.push({
          kind: "irq-inversion",
          classes: [s, u],
          message: `irq lock inversion: ${s} is taken in hard-IRQ context (${where(su.hardirq)}) and ${[s, ...path.map((e) => e.to)].join(" -> ")} is a lock order, while ${u} is taken with IRQs enabled (${where(uu.irqsOn)}): a CPU holding ${u} with IRQs on takes an IRQ that wants ${s}, held by a CPU waiting for ${u}`,
          acquisitions,
        });
      }
    }
  }

  /** `c` and every class with an order path to it. */
  private reaching(c: string): string[] {
    const out = [c];
    const seen = new Set(out);
    for (let i = 0; i < out.length; i++) {
      for (const [from, tos] of this.edges) {
        if (!seen.has(from) && tos.has(out[i]!)) {
          seen.add(from);
          out.push(from);
        }
      }
    }
    return out;
  }

  /** `c` and every class it has an order path to. */
  private reachable(c: string): string[] {
    const out = [c];
    const seen = new Set(out);
    for (let i = 0; i < out.length; i++) {
      for (const n of this.edges.get(out[i]!)?.keys() ?? []) {
        if (!seen.has(n)) {
          seen.add(n);
          out.push(n);
        }
      }
    }
    return out;
  }

  private irqUsage(acq: RawAcquisition): void {
    if (acq.irq === "thread" || acq.irq === "irqs-off") return;
    let u = this.usage.get(acq.lockClass);
    if (u === undefined) {
      u = { hardirq: null, irqsOn: null, reported: false };
      this.usage.set(acq.lockClass, u);
    }
    const first = acq.irq === "hardirq" ? u.hardirq === null : u.irqsOn === null;
    if (acq.irq === "hardirq") u.hardirq ??= acq;
    else u.irqsOn ??= acq;
    // a class newly known safe (or unsafe): the order paths out of (into) it
    if (first) this.irqInversions(acq.lockClass, acq.lockClass);
    if (u.hardirq !== null && u.irqsOn !== null && !u.reported) {
      u.reported = true;
      this.reports.push({
        kind: "irq-unsafe",
        classes: [acq.lockClass],
        message: `irq-unsafe: ${acq.lockClass} is taken in hard-IRQ context (${u.hardirq.thread}) and with IRQs enabled (${u.irqsOn.thread}); an IRQ arriving while it is held deadlocks that CPU`,
        acquisitions: [resolve(u.hardirq), resolve(u.irqsOn)],
      });
    }
  }
}
