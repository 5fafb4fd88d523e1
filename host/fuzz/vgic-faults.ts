// Planted changes to a vGIC design, for the fuzzer's own tests only (as
// ./faults.ts is for the hardware model): each replaces one function of the
// design's instance with a slightly wrong copy, the way a patch under review
// might, leaving the variant classes untouched. Nothing on the command line
// selects them; a finding file that names one replays with it.

import type { Co } from "../sim/api.ts";
import type { PCpu } from "../sim/machine.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { Vgic } from "../xen/vgic.ts";
import type { Gic } from "../hw/gic.ts";
import { requireFaults } from "./faults.ts";
import { decodeLr, encodeLr, type LrState } from "../hw/regs.ts";
import { GIC_IRQ_GUEST_VISIBLE, PendingIrq, type IrqDesc } from "../xen/pending.ts";
import { isOldVgic, type VgicDesign } from "../xen/design.ts";
import type { VgicIrq } from "../xen/new-vgic/irq.ts";
import { sgirTargets } from "../check/sgi.ts";

export const VGIC_FAULTS = {
  // one step of the context switch or the maintenance bookkeeping broken,
  // by wrapping the instance's own GICH writes
  "restore-skips-apr": "gic_restore_state does not write the saved GICH_APR back",
  "restore-skips-vmcr": "gic_restore_state does not write the saved GICH_VMCR back",
  "restore-skips-lr0": "gic_restore_state does not write list register 0 back",
  "uie-kept": "gic_clear_lrs does not clear GICH_HCR.UIE",
  /** vgic_enable_irqs forgets the physical side: an SPI the guest enables
   *  (its first enable, or after a disable) stays disabled in the
   *  distributor, and a raised edge waits there for ever */
  "enable-no-physical": "vgic_enable_irqs does not enable the physical interrupt",
  /** gic_raise_inflight_irq re-sorts the interrupt on v's inflight list by
   *  priority, as if it were always v's list: when the interrupt is still on
   *  the old vCPU's list (it is migrating) the unlink is a list race */
  "inflight-resort": "gic_raise_inflight_irq unlinks and relinks the interrupt on v's inflight list",
  /** vgic_migrate_irq takes an interrupt still waiting on lr_pending off
   *  the old vCPU and does not inject it into the new one: the seed's v3
   *  patch as posted. Its losses end as `lost:acked-not-handled`, the path
   *  of a loss xen-4.9 already shows: a baseline tells it by the count */
  "migrate-drops-reinject": "vgic_migrate_irq does not re-inject an lr_pending interrupt into the new vCPU",
  /** vgic_to_sgi injects into every vCPU the filter names but the last
   *  (a `targets.slice(0, -1)`): the SGI oracle's loss */
  "sgi-skips-last-target": "vgic_to_sgi skips the last vCPU it names",
  /** gic_update_one_lr retires a list register without clearing VISIBLE:
   *  the interrupt stays VISIBLE with p->lr GIC_INVALID_LR */
  "visible-kept": "gic_update_one_lr does not clear GIC_IRQ_GUEST_VISIBLE",
  /** gic_update_one_lr's retire of a MIGRATING interrupt (Xen 4.9's
   *  gic_update_one_lr_retire) clears MIGRATING without irq_set_affinity:
   *  the physical interrupt keeps firing on the old vCPU's pCPU */
  "retire-skips-affinity": "gic_update_one_lr does not move the physical affinity of a MIGRATING interrupt it retires",
  /** gic_set_lr writes the priority shifted right once more (bits [7:3]
   *  taken for the 8-bit value): every interrupt looks more urgent to the
   *  guest than it is, and their order among themselves changes */
  "lr-priority-shifted": "gic_set_lr writes the interrupt's priority shifted right a second time",
  /** every insertion into a vCPU's inflight_irqs goes to the head of the
   *  list, not before the first entry of lower priority */
  "inflight-at-head": "inflight_irqs insertions go to the head of the list, not in priority order",
  /** vcpu_unblock makes a blocked vCPU runnable without the event-check
   *  SGI to its pCPU: a pCPU idle in WFI does not notice, and the vCPU
   *  waits for whatever else wakes that pCPU */
  "unblock-no-kick": "vcpu_unblock does not kick the vCPU's pCPU",
  /** the new vGIC's vgic_mmio_write_sgir leaves vCPU0 out of its targets */
  "sgir-skips-vcpu0": "vgic_mmio_write_sgir (new vGIC) skips vCPU0",
  /** the new vGIC's vgic_mmio_write_sgir latches the SGI from vCPU0 as
   *  well as from the sender (a source mask that keeps bit 0): the target
   *  takes one write from another vCPU twice, once per source (the
   *  duplicate the SGI oracle judges) */
  "sgir-extra-source": "vgic_mmio_write_sgir (new vGIC) latches the SGI from vCPU0 as well as from its sender",
} as const;
export type VgicFault = keyof typeof VGIC_FAULTS;

/** The faults that plant into the new vGIC; every other one plants into
 *  the original vGIC's designs. */
const NEW_VGIC_FAULTS: readonly string[] = ["sgir-skips-vcpu0", "sgir-extra-source"] satisfies VgicFault[];

/** Plant the named changes into a design of either family; a fault of the
 *  other family is a RangeError naming it. */
export function plantDesignFaults(design: VgicDesign, gic: Gic, faults: readonly string[]): void {
  requireFaults(VGIC_FAULTS, faults);
  const old = isOldVgic(design);
  const misfit = faults.filter((f) => NEW_VGIC_FAULTS.includes(f) === old);
  if (misfit.length > 0) {
    throw new RangeError(`faults ${misfit.join(", ")}: they plant into the ${old ? "new" : "original"} vGIC's designs, not ${design.variant}`);
  }
  if (old) plantVgicFaults(design, gic, faults);
  else plantNewVgicFaults(design, faults);
}

/** The new vGIC's faults: its GICD_SGIR emulation is a function of its
 *  register table, so the write is narrowed before it reaches it, or the
 *  queueing it ends each target with is wrapped while it runs. */
function plantNewVgicFaults(design: VgicDesign, faults: readonly string[]): void {
  const skip0 = faults.includes("sgir-skips-vcpu0"), extra = faults.includes("sgir-extra-source");
  if (!skip0 && !extra) return;
  const o = design as unknown as Record<string, unknown>;
  const mmio = design.distr_mmio.bind(design);
  const nv = design.d.vcpu.length;
  /** pCPUs emulating a GICD_SGIR write */
  const sgir = new Set<number>();
  if (extra) {
    const w = design as unknown as SgiQueuer;
    const queue = w.vgic_queue_irq_unlock.bind(design);
    // called with the SGI's irq_lock held, its latch and sender's bit set
    o.vgic_queue_irq_unlock = function* vgic_queue_irq_unlock(ctx: PCpu, irq: VgicIrq, flags: boolean): Co {
      if (sgir.has(ctx.id) && irq.intid < 16) irq.source |= 1;
      yield* queue(ctx, irq, flags);
    };
  }
  o.distr_mmio = function* distr_mmio(ctx: PCpu, v: Vcpu, off: number, size: 1 | 2 | 4, write: boolean, value: number) {
    // GICD_SGIR (0xf00)
    if (!write || off !== 0xf00 || size !== 4) return yield* mmio(ctx, v, off, size, write, value);
    // the same SGI to the vCPUs the filter names, less vCPU0, as a target
    // list (the reserved filter is left to the design)
    if (skip0 && ((value >>> 24) & 3) !== 3) {
      const list = sgirTargets(value, v.vcpu_id, nv).reduce((m, t) => m | (1 << t), 0) & ~1;
      value = ((list << 16) | (value & 0xf)) >>> 0;
    }
    sgir.add(ctx.id);
    try {
      return yield* mmio(ctx, v, off, size, write, value);
    } finally {
      sgir.delete(ctx.id);
    }
  };
}

interface SgiQueuer {
  vgic_queue_irq_unlock(ctx: PCpu, irq: VgicIrq, flags: boolean): Co;
}

interface Retirer {
  gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co;
}

interface SgiTargets {
  sgiTargets(v: Vcpu, filter: number, list: number): Vcpu[] | null;
}

interface LrSetter {
  gic_set_lr(ctx: PCpu, lr: number, p: PendingIrq, state: LrState): void;
}

interface GichWriter {
  gichWrite(ctx: { id: number }, off: number, v: number): void;
  gic_restore_state(ctx: { id: number }, v: unknown): Generator<unknown, void, unknown>;
}

/** Plant the named changes into `vgic` (whose physical GIC is `gic`). */
export function plantVgicFaults(vgic: Vgic, gic: Gic, faults: readonly string[]): void {
  requireFaults(VGIC_FAULTS, faults);
  if (faults.length === 0) return;
  plantSwitchFaults(vgic, gic, faults);
  // an own property of the instance shadows the design's method
  const o = vgic as unknown as Record<string, unknown>;
  if (faults.includes("enable-no-physical")) {
    // eslint-disable-next-line require-yield
    o.gicv2_irq_enable = function* gicv2_irq_enable(): Co {};
  }
  if (faults.includes("sgi-skips-last-target")) {
    const targets = (vgic as unknown as SgiTargets).sgiTargets.bind(vgic);
    o.sgiTargets = (v: Vcpu, filter: number, list: number) => targets(v, filter, list)?.slice(0, -1) ?? null;
  }
  if (faults.includes("visible-kept")) {
    // the one clear_bit(VISIBLE) of the fold is skipped: the interrupt's
    // clear_bit is shadowed while gic_update_one_lr runs (under the vCPU's
    // vgic lock, which every other change of VISIBLE also holds)
    const update = vgic.gic_update_one_lr.bind(vgic);
    o.gic_update_one_lr = function* gic_update_one_lr(ctx: PCpu, v: Vcpu, i: number): Co {
      if (i >= vgic.nr_lrs) return yield* update(ctx, v, i);
      const p = vgic.d.irq_to_pending(v, decodeLr(gic.listRegister(ctx.id, i)).virtualId) as PendingIrq & { clear_bit: (bit: number) => void };
      p.clear_bit = (bit: number) => { if (bit !== GIC_IRQ_GUEST_VISIBLE) PendingIrq.prototype.clear_bit.call(p, bit); };
      try {
        yield* update(ctx, v, i);
      } finally {
        delete (p as { clear_bit?: unknown }).clear_bit;
      }
    };
  }
  if (faults.includes("retire-skips-affinity")) {
    // irq_set_affinity does nothing while this pCPU retires an LR
    const w = vgic as unknown as Retirer;
    const retire = w.gic_update_one_lr_retire.bind(vgic);
    const setAffinity = vgic.irq_set_affinity.bind(vgic);
    const retiring = new Set<number>();
    o.gic_update_one_lr_retire = function* gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co {
      retiring.add(ctx.id);
      try {
        yield* retire(ctx, v, p, irq);
      } finally {
        retiring.delete(ctx.id);
      }
    };
    o.irq_set_affinity = function* irq_set_affinity(ctx: PCpu, desc: IrqDesc, mask: number): Co {
      if (!retiring.has(ctx.id)) yield* setAffinity(ctx, desc, mask);
    };
  }
  if (faults.includes("lr-priority-shifted")) {
    // the list-register writes gic_set_lr makes (it calls no generator:
    // nothing else runs on this pCPU meanwhile)
    const w = vgic as unknown as GichWriter & LrSetter;
    const setLr = w.gic_set_lr.bind(vgic), write = w.gichWrite.bind(vgic);
    let setting = false;
    o.gic_set_lr = (ctx: PCpu, lr: number, p: PendingIrq, state: LrState) => {
      setting = true;
      try {
        setLr(ctx, lr, p, state);
      } finally {
        setting = false;
      }
    };
    w.gichWrite = (ctx, off, value) => {
      if (setting && off >= 0x100 && off < 0x200) {
        const l = decodeLr(value);
        value = encodeLr({ ...l, priority: l.priority >> 3 });
      }
      write(ctx, off, value);
    };
  }
  if (faults.includes("inflight-at-head")) {
    for (const v of vgic.d.vcpu) {
      const list = v.inflight_irqs;
      const insert = list.insertByPriority.bind(list);
      (list as { insertByPriority: (p: PendingIrq) => void }).insertByPriority = (p: PendingIrq) => {
        insert(p);
        const items = list.items;
        items.splice(items.indexOf(p), 1);
        items.unshift(p);
      };
    }
  }
  if (faults.includes("unblock-no-kick")) {
    // eslint-disable-next-line require-yield
    o.vcpu_unblock = function* vcpu_unblock(_ctx: PCpu, v: Vcpu): Co {
      v.blocked = false;
    };
  }
  if (faults.includes("inflight-resort")) {
    const raise = vgic.gic_raise_inflight_irq.bind(vgic);
    o.gic_raise_inflight_irq = function* gic_raise_inflight_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
      const n = vgic.d.irq_to_pending(v, virq);
      v.inflight_irqs.del(n);
      v.inflight_irqs.insertByPriority(n);
      yield* raise(ctx, v, virq);
    };
  }
  if (faults.includes("migrate-drops-reinject")) {
    // the only injection vgic_migrate_irq makes is the re-injection: the
    // first one on this pCPU while it runs is skipped
    const migrate = vgic.vgic_migrate_irq.bind(vgic);
    const inject = vgic.vgic_vcpu_inject_irq.bind(vgic);
    const migrating = new Set<number>();
    o.vgic_migrate_irq = function* vgic_migrate_irq(ctx: PCpu, old: Vcpu, nw: Vcpu, irq: number): Co<boolean> {
      migrating.add(ctx.id);
      try {
        return yield* migrate(ctx, old, nw, irq);
      } finally {
        migrating.delete(ctx.id);
      }
    };
    o.vgic_vcpu_inject_irq = function* vgic_vcpu_inject_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
      if (migrating.delete(ctx.id)) return;
      yield* inject(ctx, v, virq);
    };
  }
}

/** The context-switch and maintenance faults: the instance's GICH writes
 *  during gic_restore_state, and GICH_HCR writes, are filtered. */
function plantSwitchFaults(vgic: Vgic, gic: Gic, faults: readonly string[]): void {
  const has = (f: VgicFault) => faults.includes(f);
  const w = vgic as unknown as GichWriter;
  const write = w.gichWrite.bind(vgic);
  const restore = w.gic_restore_state.bind(vgic);
  const restoring = new Set<number>();
  // GICH offsets (IHI 0048B Table 5-1)
  const HCR = 0x000, VMCR = 0x008, APR = 0x0f0, LR0 = 0x100;
  w.gic_restore_state = function* (ctx, v) {
    restoring.add(ctx.id);
    try {
      yield* restore(ctx, v);
    } finally {
      restoring.delete(ctx.id);
    }
  };
  w.gichWrite = (ctx, off, value) => {
    if (restoring.has(ctx.id)) {
      if (has("restore-skips-apr") && off === APR) return;
      if (has("restore-skips-vmcr") && off === VMCR) return;
      if (has("restore-skips-lr0") && off === LR0) return;
      if (off === HCR) restoring.delete(ctx.id); // the restore's last write
    }
    if (has("uie-kept") && off === HCR && value !== 0 && (gic.hcr(ctx.id) & 2) !== 0) value |= 2;
    write(ctx, off, value);
  };
}
