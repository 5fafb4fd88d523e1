// The seed thread's designs, each a small difference from its parent in the
// functions its patch touched:
//
//   xen-4.8 ──> v3-posted ──> v3-fixed
//      └──────> xen-4.9
//
// xen-4.8 is the base class in vgic.ts. Each override below carries the
// patch's own reasoning and cites it.

import { point, type Co } from "../sim/api.ts";
import type { Machine, PCpu } from "../sim/machine.ts";
import { spin_lock_irqsave, spin_unlock_irqrestore } from "../sim/lock.ts";
import type { Vcpu } from "./domain.ts";
import { GIC_IRQ_GUEST_ENABLED, GIC_IRQ_GUEST_MIGRATING, GIC_IRQ_GUEST_QUEUED, type PendingIrq } from "./pending.ts";
import { Vgic, type VgicOptions } from "./vgic.ts";
import type { VgicDesign } from "./design.ts";
import { NewVgic } from "./new-vgic/vgic.ts";

// Scheduling points of this file, looked up once (point() is memoised).
const PT_LIST_DEL_INIT_INFLIGHT = point("list_del_init inflight");
const PT_TEST_BIT_MIGRATING = point("test_bit MIGRATING");
const PT_LIST_EMPTY_INFLIGHT = point("list_empty inflight");
const PT_READ_ATOMIC_RANK_VCPU = point("read_atomic rank->vcpu");
const PT_ACCESS_ONCE_PRIORITY = point("ACCESS_ONCE priority");
const PT_SMP_WMB = point("smp_wmb");

/** "[v3] xen/arm: fix rank/vgic lock inversion bug" as posted
 *  (seeds/000_553bf4098d4b9a97.txt, Jan 2017). */
export class V3Posted extends Vgic {
  override readonly variant: string = "v3-posted";
  override readonly affinityAtMigrate: boolean = true;

  /** gic.c hunk: gic_update_one_lr no longer sets the affinity (that moved
   *  to vgic_migrate_irq), so it takes no rank lock: it only clears MIGRATING. */
  protected override *gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, _irq: number): Co {
    v.inflight_irqs.del(p);
    ctx.cost("listOp");
    const P = PT_LIST_DEL_INIT_INFLIGHT;
    if (!ctx.passes(P)) yield P;
    p.clear_bit(GIC_IRQ_GUEST_MIGRATING);
  }

  /** vgic.c hunk: "Always set the new physical irq affinity at the beginning
   *  of vgic_migrate_irq, in all cases", then return early for MIGRATING or
   *  not in flight. In the lr_pending branch the patch as posted removed the
   *  call vgic_vcpu_inject_irq(new, irq) - by mistake, as the author said in
   *  review - so that interrupt ends on no list.
   *
   *  The seed's hunk, for comparison line by line (the final re-check is
   *  unchanged context of the diff: 4.8 keeps it under the lock, and since
   *  v3 moves the first list_empty test outside the lock it is what keeps
   *  MIGRATING off an interrupt that left its LR in between):
   *
   *      if ( p->desc == NULL )
   *          return;
   *  +   irq_set_affinity(p->desc, cpumask_of(new->processor));
   *      if ( test_bit(GIC_IRQ_GUEST_MIGRATING, &p->status) )
   *          return;
   *  +   if ( list_empty(&p->inflight) )
   *  +       return;
   *      perfc_incr(vgic_irq_migrates);
   *      spin_lock_irqsave(&old->arch.vgic.lock, flags);
   *  -   if ( list_empty(&p->inflight) ) { irq_set_affinity(...); unlock; return; }
   *      if ( !list_empty(&p->lr_queue) ) {
   *          clear_bit(QUEUED); list_del_init(lr_queue); list_del_init(inflight);
   *          irq_set_affinity(p->desc, cpumask_of(new->processor));
   *          spin_unlock_irqrestore(&old->arch.vgic.lock, flags);
   *  -       vgic_vcpu_inject_irq(new, irq);
   *          return;
   *      }
   *      if ( !list_empty(&p->inflight) )
   *          set_bit(GIC_IRQ_GUEST_MIGRATING, &p->status);
   *      spin_unlock_irqrestore(&old->arch.vgic.lock, flags);
   */
  override *vgic_migrate_irq(ctx: PCpu, old: Vcpu, nw: Vcpu, irq: number): Co<boolean> {
    const p = this.d.irq_to_pending(old, irq);
    if (p.desc === null) return true;
    yield* this.irq_set_affinity(ctx, p.desc, 1 << nw.processor);
    yield PT_TEST_BIT_MIGRATING;
    if (p.test_bit(GIC_IRQ_GUEST_MIGRATING)) return true;
    yield PT_LIST_EMPTY_INFLIGHT;
    if (p.inflight === null) return true;
    this.stats.migrations++;
    const flags = yield* spin_lock_irqsave(ctx, old.lock);
    if (p.lr_queue !== null) {
      yield* this.migrate_lr_pending(ctx, old, nw, irq, p, flags);
      return true;
    }
    // if the IRQ is in a GICH_LR register, set MIGRATING and wait for the EOI
    if (p.inflight !== null) p.set_bit(GIC_IRQ_GUEST_MIGRATING);
    yield* spin_unlock_irqrestore(ctx, old.lock, flags);
    return true;
  }

  /** The lr_pending branch of v3 as posted: unlinked, affinity set again,
   *  and not re-injected. */
  protected *migrate_lr_pending(ctx: PCpu, old: Vcpu, _nw: Vcpu, irq: number, p: PendingIrq, flags: boolean): Co {
    p.clear_bit(GIC_IRQ_GUEST_QUEUED);
    this.observer.withdrawn?.(irq, old);
    old.lr_pending.del(p);
    old.inflight_irqs.del(p);
    ctx.cost("listOp");
    yield* this.irq_set_affinity(ctx, p.desc!, 1 << _nw.processor);
    yield* spin_unlock_irqrestore(ctx, old.lock, flags);
  }

  /** vgic.c hunk in vgic_vcpu_inject_irq: "Drop the interrupt, because it is
   *  still inflight on another vcpu". */
  protected override *vgic_vcpu_inject_irq_drop(ctx: PCpu, _v: Vcpu, n: PendingIrq): Co<boolean> {
    yield PT_TEST_BIT_MIGRATING;
    return n.test_bit(GIC_IRQ_GUEST_MIGRATING);
  }
}

/** v3 with the reviewer's corrections (Julien Grall, Jan 27 2017): keep
 *  vgic_vcpu_inject_irq(new, irq) in the lr_pending branch ("otherwise we
 *  lost the interrupt for ever") and drop the now redundant irq_set_affinity
 *  there ("This call is not necessary anymore"). */
export class V3Fixed extends V3Posted {
  override readonly variant: string = "v3-fixed";

  /*  The lr_pending branch as the review asks for it (against v3):
   *
   *      if ( !list_empty(&p->lr_queue) ) {
   *          clear_bit(GIC_IRQ_GUEST_QUEUED, &p->status);
   *          list_del_init(&p->lr_queue);
   *          list_del_init(&p->inflight);
   *  -       irq_set_affinity(p->desc, cpumask_of(new->processor));
   *          spin_unlock_irqrestore(&old->arch.vgic.lock, flags);
   *  +       vgic_vcpu_inject_irq(new, irq);
   *          return;
   *      }
   */
  protected override *migrate_lr_pending(ctx: PCpu, old: Vcpu, nw: Vcpu, irq: number, p: PendingIrq, flags: boolean): Co {
    p.clear_bit(GIC_IRQ_GUEST_QUEUED);
    this.observer.withdrawn?.(irq, old);
    old.lr_pending.del(p);
    old.inflight_irqs.del(p);
    ctx.cost("listOp");
    yield* spin_unlock_irqrestore(ctx, old.lock, flags);
    yield* this.vgic_vcpu_inject_irq(ctx, nw, irq);
  }
}

/** What Xen 4.9.0 released instead (RELEASE-4.9.0's history):
 *  378384399e "arm: read/write rank->vcpu atomically",
 *  31bc6a93a0 "arm: remove irq from inflight, then change physical affinity",
 *  91ef736493 "vgic: refuse irq migration when one is already in progress",
 *  408f16ddb3 "ARM: vGIC: avoid rank lock when reading priority" (the
 *  commit as released; 43208a9cb4 is the same change on another branch),
 *  471d9ca43c "arm: vgic: Don't update the LR when the IRQ is not enabled"
 *  (XSA-223). */
export class Xen49 extends Vgic {
  override readonly variant: string = "xen-4.9";

  /** 471d9ca43c (XSA-223): "Don't try to update the LR if the interrupt is
   *  disabled". The rest is 4.8's: for an interrupt in flight on another
   *  vCPU (an SPI during a migration) n->lr is that vCPU's list register,
   *  yet it is folded on this pCPU when v is current here.
   *
   *  +   if ( !test_bit(GIC_IRQ_GUEST_ENABLED, &n->status) )
   *  +       return;
   *      if ( list_empty(&n->lr_queue) ) {
   *          if ( v == current )
   *              gic_update_one_lr(v, n->lr);
   *      }
   */
  override *gic_raise_inflight_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
    const n = this.d.irq_to_pending(v, virq);
    if (!n.test_bit(GIC_IRQ_GUEST_ENABLED)) return;
    yield* super.gic_raise_inflight_irq(ctx, v, virq);
  }

  /** ac505ee0f2: "Sanitize target mask used to send SGI": a target list
   *  bit at or above max_vcpus is skipped (with a warning). */
  protected override sgiListTarget(i: number): Vcpu | null {
    return i < this.d.max_vcpus ? this.d.vcpu[i]! : null;
  }

  /** 378384399e: an atomic read of rank->vcpu, no rank lock - which breaks
   *  the vgic -> rank order in gic_update_one_lr. */
  override *vgic_get_target_vcpu(ctx: PCpu, v: Vcpu, virq: number): Co<Vcpu> {
    const rank = this.d.rank_irq(v, virq);
    if (!ctx.passes(PT_READ_ATOMIC_RANK_VCPU)) yield PT_READ_ATOMIC_RANK_VCPU;
    return this.d.vcpu[rank.target(virq & 31)]!;
  }

  /** 408f16ddb3: the priority read takes no rank lock either, so the
   *  lr_pending re-injection under the ITARGETSR write's rank lock no
   *  longer deadlocks on itself. */
  override *vgic_get_virq_priority(ctx: PCpu, v: Vcpu, virq: number): Co<number> {
    const rank = this.d.rank_irq(v, virq);
    const P = PT_ACCESS_ONCE_PRIORITY;
    if (!ctx.passes(P)) yield P;
    return rank.priority[virq & 31]!;
  }

  /** 91ef736493: refuse a migration while one is in progress (the ITARGETSR
   *  store then keeps the old target). */
  override *vgic_migrate_irq(ctx: PCpu, old: Vcpu, nw: Vcpu, irq: number): Co<boolean> {
    const p = this.d.irq_to_pending(old, irq);
    if (p.desc !== null) {
      yield PT_TEST_BIT_MIGRATING;
      if (p.test_bit(GIC_IRQ_GUEST_MIGRATING)) return false; // "migration failed"
    }
    return yield* super.vgic_migrate_irq(ctx, old, nw, irq);
  }

  /** 31bc6a93a0 + 91ef736493: list_del_init, smp_wmb, then (still
   *  MIGRATING) set the affinity and only then clear MIGRATING. */
  protected override *gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co {
    v.inflight_irqs.del(p);
    ctx.cost("listOp");
    ctx.smp_wmb(); // the removal is visible before the affinity moves
    const P = PT_SMP_WMB;
    if (!ctx.passes(P)) yield P;
    if (p.test_bit(GIC_IRQ_GUEST_MIGRATING)) {
      const v_target = yield* this.vgic_get_target_vcpu(ctx, v, irq);
      yield* this.irq_set_affinity(ctx, p.desc!, 1 << v_target.processor);
      p.clear_bit(GIC_IRQ_GUEST_MIGRATING);
    }
  }
}

/** Xen 4.9 less the smp_wmb of 31bc6a93a0: the question the thread's last
 *  review raised. A state that never shipped: 31bc6a93a0 put the smp_wmb
 *  before test_and_clear_bit(MIGRATING), itself a full barrier on arm64,
 *  and only 91ef736493's change to test_bit then a later clear_bit left the
 *  smp_wmb as the one barrier of the function between the two stores. list_del_init(&p->inflight) and the affinity change are
 *  then ordered only by the barriers the code meets between them: the
 *  smp_mb in spin_lock(&gicv2.lock) inside irq_set_affinity, which Julien
 *  Grall called "working, but by luck". Only weak memory can tell it from
 *  xen-4.9: under sc every store is visible at once. */
export class Xen49NoWmb extends Xen49 {
  override readonly variant: string = "xen-4.9-no-wmb";

  /*      list_del_init(&p->inflight);
   *  -   smp_wmb();
   *      if ( test_bit(GIC_IRQ_GUEST_MIGRATING, &p->status) )
   */
  protected override *gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co {
    v.inflight_irqs.del(p);
    ctx.cost("listOp");
    const P = PT_LIST_DEL_INIT_INFLIGHT;
    if (!ctx.passes(P)) yield P;
    if (p.test_bit(GIC_IRQ_GUEST_MIGRATING)) {
      const v_target = yield* this.vgic_get_target_vcpu(ctx, v, irq);
      yield* this.irq_set_affinity(ctx, p.desc!, 1 << v_target.processor);
      p.clear_bit(GIC_IRQ_GUEST_MIGRATING);
    }
  }
}

export interface VariantInfo {
  name: string;
  parent: string | null;
  summary: string;
  /** the design for one system; buildSystem sets its `variant` to `name`
   *  (a design that another's create returns goes by this name) */
  create(machine: Machine, opts?: VgicOptions): VgicDesign;
}

export const VARIANTS: readonly VariantInfo[] = [
  {
    name: "xen-4.8", parent: null,
    summary: "as released: rank lock then vgic lock on ITARGETSR writes, vgic lock then rank lock in gic_update_one_lr",
    create: (m, o) => new Vgic(m, o),
  },
  {
    name: "v3-posted", parent: "xen-4.8",
    summary: "the seed's v3 patch as posted: affinity set at migration, MIGRATING injections dropped, lr_pending re-inject lost",
    create: (m, o) => new V3Posted(m, o),
  },
  {
    name: "v3-fixed", parent: "v3-posted",
    summary: "v3 with the review's corrections: lr_pending re-inject restored, redundant affinity call removed",
    create: (m, o) => new V3Fixed(m, o),
  },
  {
    name: "xen-4.9", parent: "xen-4.8",
    summary: "as committed: lock-free rank->vcpu and priority reads, list_del then barrier then affinity, migration refused while one is in progress",
    create: (m, o) => new Xen49(m, o),
  },
  {
    name: "xen-4.9-no-wmb", parent: "xen-4.9",
    summary: "xen-4.9 without 31bc6a93a0's smp_wmb between list_del_init and irq_set_affinity: only spin_lock's barrier orders them (see --memory weak)",
    create: (m, o) => new Xen49NoWmb(m, o),
  },
  {
    name: "new-vgic", parent: null,
    summary: "Xen 4.11's new vGIC (CONFIG_NEW_VGIC, from KVM): a vgic_irq per interrupt with its own lock, per-vCPU ap_lists, no MIGRATING: the oracle moves pending interrupts at the next prune",
    create: (m, o) => new NewVgic(m, o),
  },
];

// Designs added at run time: a variant file (`--variants FILE`, an ES module
// exporting `variants`) or a program calling registerVariant. The list is
// the process's, not this module's: a scenario file imports the library
// bundle (build/lib.mjs), a second copy of this module beside the command's
// own, and its builds must know the designs the command registered.
const REGISTRY = Symbol.for("vgic-lab.registered-variants");
const registered: VariantInfo[] = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= []) as VariantInfo[];

/** Every design: the built-in ones, then those registered. */
export function allVariants(): readonly VariantInfo[] {
  return registered.length === 0 ? VARIANTS : [...VARIANTS, ...registered];
}

/**
 * Add a design, usually a subclass of `Vgic` or of one of the built-in
 * variants that overrides the functions its patch touches. Its name must be
 * new and its parent, if any, known. Registering the same object twice is a
 * no-op (a variant file loaded again).
 */
export function registerVariant(v: VariantInfo): void {
  const where = typeof v?.name === "string" ? `variant '${v.name}'` : "variant";
  if (typeof v !== "object" || v === null) throw new TypeError(`${where}: expected {name, parent, summary, create(machine, opts)}`);
  if (typeof v.name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v.name) || v.name === "all") {
    throw new TypeError(`${where}: name: expected letters, digits, '.', '_' or '-' (not "all"), got ${JSON.stringify(v.name)}`);
  }
  if (typeof v.summary !== "string") throw new TypeError(`${where}: summary: expected a one-line string`);
  if (typeof v.create !== "function") throw new TypeError(`${where}: create: expected a function (machine, opts) => Vgic`);
  const known = allVariants();
  const same = known.find((x) => x.name === v.name);
  if (same === v) return;
  if (same !== undefined) throw new TypeError(`${where}: name: already taken`);
  if (v.parent !== null && !known.some((x) => x.name === v.parent)) {
    throw new TypeError(`${where}: parent: expected null or one of ${known.map((x) => x.name).join(", ")}, got ${JSON.stringify(v.parent)}`);
  }
  registered.push(v);
}

export function variantNamed(name: string): VariantInfo {
  const all = allVariants();
  const v = all.find((x) => x.name === name);
  if (v === undefined) {
    throw new RangeError(`unknown variant '${name}': expected one of ${all.map((x) => x.name).join(", ")}`);
  }
  return v;
}
