// The new vGIC's distributor emulation: vgic-mmio.c's generic handlers and
// vgic-mmio-v2.c's GICv2 register table (Xen RELEASE-4.11.0, ported from
// KVM's virt/kvm/arm/vgic/vgic-mmio{,-v2}.c). One row per register: offset,
// bits per interrupt or fixed length, allowed widths, read and write
// handlers; check_region validates width, alignment and the interrupt range
// before any handler runs. Unlike the old vGIC, a bad access never crashes
// the domain: no region (or a failed check) makes dispatch_mmio_* fail and
// Xen injects a data abort.

import { point, type Co } from "../../sim/api.ts";
import type { PCpu } from "../../sim/machine.ts";
import { spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore } from "../../sim/lock.ts";
import { GICD } from "../../hw/regs.ts";
import type { Vcpu } from "../domain.ts";
import type { MmioResult } from "../vgic-v2.ts";
import type { IrqDesc } from "../pending.ts";
import {
  VGIC_CONFIG_EDGE, VGIC_CONFIG_LEVEL, VGIC_NR_PRIVATE_IRQS, VGIC_PRI_BITS, irq_is_pending, type VgicIrq,
} from "./irq.ts";
import type { NewVgic } from "./vgic.ts";

// Scheduling points of this file, looked up once (point() is memoised).
const PT_READ_VGIC_IRQ = point("read vgic_irq");
const PT_VGICD_ACTIVE_STATE_NOT_SUPPORTED = point("vGICD: active state not supported");
const PT_DOMAIN_LOCK = point("domain_lock");

interface Access {
  vgic: NewVgic;
  ctx: PCpu;
  vcpu: Vcpu;
  /** the GICD offset of the access (Xen passes the guest physical address;
   *  the distributor base is 4 KiB aligned, so the low bits agree) */
  addr: number;
  len: 1 | 4;
}

type ReadFn = (a: Access) => Co<number>;
type WriteFn = (a: Access, val: number) => Co;

interface Region {
  name: string;
  reg_offset: number;
  len: number;
  /** 0 for a fixed-length register */
  bits_per_irq: number;
  /** VGIC_ACCESS_8bit | VGIC_ACCESS_32bit */
  access_flags: number;
  read: ReadFn;
  write: WriteFn;
}

const VGIC_ACCESS_8bit = 1;
const VGIC_ACCESS_32bit = 4;

/** vgic-mmio.h VGIC_ADDR_TO_INTID: the byte offset within a per-IRQ
 *  register block (addr & (bits * 1024 / 8 - 1)), times 8, over bits. */
export function VGIC_ADDR_TO_INTID(addr: number, bits: number): number {
  return ((addr & (bits * 1024 / 8 - 1)) * 8) / bits;
}

function bitsOf(val: number, len: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < len * 8; i++) if ((val >>> i) & 1) out.push(i);
  return out;
}

// ---- vgic-mmio.c

// eslint-disable-next-line require-yield
function* vgic_mmio_read_raz(_a: Access): Co<number> { return 0; }
// eslint-disable-next-line require-yield
function* vgic_mmio_read_rao(_a: Access): Co<number> { return 0xffffffff; }
// eslint-disable-next-line require-yield
function* vgic_mmio_write_wi(_a: Access, _v: number): Co {}

/** A per-interrupt bit read without locks (the KVM and Xen readers take
 *  no irq_lock: a snapshot). */
function* readBits(a: Access, bits: number, get: (intid: number) => number): Co<number> {
  const intid = VGIC_ADDR_TO_INTID(a.addr, bits);
  yield PT_READ_VGIC_IRQ;
  let value = 0;
  for (let i = 0; i < (a.len * 8) / bits; i++) value |= get(intid + i) << (i * bits);
  return value >>> 0;
}

function* vgic_mmio_read_enable(a: Access): Co<number> {
  return yield* readBits(a, 1, (i) => Number(a.vgic.vgic_get_irq(a.vcpu, i).enabled));
}

/** vgic_mmio_write_senable: enable, queue what is now deliverable, and
 *  enable a HW interrupt's physical side (vgic_sync_hardware_irq). */
function* vgic_mmio_write_senable(a: Access, val: number): Co {
  const intid = VGIC_ADDR_TO_INTID(a.addr, 1);
  for (const i of bitsOf(val, a.len)) {
    const irq = a.vgic.vgic_get_irq(a.vcpu, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    if (irq.enabled) {
      yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
      continue;
    }
    irq.enabled = true;
    const desc = irq.hw ? a.vgic.descs.get(irq.hwintid)! : null;
    yield* a.vgic.vgic_queue_irq_unlock(a.ctx, irq, flags);
    if (desc !== null) yield* a.vgic.vgic_sync_hardware_irq(a.ctx, desc, irq);
  }
}

/** vgic_mmio_write_cenable: disable; the ap_list entry goes at the next prune. */
function* vgic_mmio_write_cenable(a: Access, val: number): Co {
  const intid = VGIC_ADDR_TO_INTID(a.addr, 1);
  for (const i of bitsOf(val, a.len)) {
    const irq = a.vgic.vgic_get_irq(a.vcpu, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    if (!irq.enabled) {
      yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
      continue;
    }
    irq.enabled = false;
    const desc = irq.hw ? a.vgic.descs.get(irq.hwintid)! : null;
    yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
    if (desc !== null) yield* a.vgic.vgic_sync_hardware_irq(a.ctx, desc, irq);
  }
}

function* vgic_mmio_read_pending(a: Access): Co<number> {
  return yield* readBits(a, 1, (i) => Number(irq_is_pending(a.vgic.vgic_get_irq(a.vcpu, i))));
}

/** The physical side of a HW interrupt under the documented order: the
 *  desc lock, then irq_lock. */
function* descThenIrq(a: Access, desc: IrqDesc, irq: VgicIrq, body: () => void): Co {
  const flags = yield* spin_lock_irqsave(a.ctx, desc.lock);
  yield* spin_lock(a.ctx, irq.irq_lock);
  body();
  yield* spin_unlock(a.ctx, irq.irq_lock);
  yield* spin_unlock_irqrestore(a.ctx, desc.lock, flags);
}

/** vgic_mmio_write_spending (`set`) and vgic_mmio_write_cpending. Set:
 *  latch and queue; a HW interrupt's physical side is made active (desc
 *  lock, then irq_lock) so the guest's deactivation through the HW LR has
 *  something to deactivate. Clear: the latch goes (a level line stays);
 *  for a HW interrupt no longer pending, the physical pending state goes
 *  and, unless the vIRQ is active, the physical active state. */
function* write_pending(a: Access, val: number, set: boolean): Co {
  const intid = VGIC_ADDR_TO_INTID(a.addr, 1);
  for (const i of bitsOf(val, a.len)) {
    const irq = a.vgic.vgic_get_irq(a.vcpu, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    const was = irq_is_pending(irq);
    if (set) {
      a.vgic.observer.guestPended?.(intid + i, a.vcpu);
      a.vgic.observer.injecting?.(intid + i, a.vcpu, was);
    }
    irq.pending_latch = set;
    // a level line still high keeps the instance pending
    if (!set && was && !irq_is_pending(irq)) a.vgic.observer.guestCleared?.(intid + i, a.vcpu);
    const desc = irq.hw ? a.vgic.descs.get(irq.hwintid)! : null;
    if (set) yield* a.vgic.vgic_queue_irq_unlock(a.ctx, irq, flags);
    else yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
    if (desc === null) continue;
    yield* descThenIrq(a, desc, irq, () => {
      if (set) return a.vgic.gic_set_state(a.ctx, desc, "ISACTIVER");
      if (irq_is_pending(irq)) return; // "we didn't become pending again meanwhile"
      a.vgic.gic_set_state(a.ctx, desc, "ICPENDR");
      if (!irq.active) a.vgic.gic_set_state(a.ctx, desc, "ICACTIVER");
    });
  }
}
const vgic_mmio_write_spending = (a: Access, val: number): Co => write_pending(a, val, true);
const vgic_mmio_write_cpending = (a: Access, val: number): Co => write_pending(a, val, false);

function* vgic_mmio_read_active(a: Access): Co<number> {
  return yield* readBits(a, 1, (i) => Number(a.vgic.vgic_get_irq(a.vcpu, i).active));
}

/** vgic_mmio_write_{c,s}active: Xen 4.11 does not emulate these (it logs
 *  "setting/clearing active state not supported"); KVM of Linux 4.15
 *  does, by halting every vCPU (vgic_change_active_prepare). */
function* vgic_mmio_write_active_unsupported(_a: Access, _val: number): Co {
  yield PT_VGICD_ACTIVE_STATE_NOT_SUPPORTED;
}

function* vgic_mmio_read_priority(a: Access): Co<number> {
  return yield* readBits(a, 8, (i) => a.vgic.vgic_get_irq(a.vcpu, i).priority);
}

/** vgic_mmio_write_priority: narrowed to the VGIC_PRI_BITS kept. */
function* vgic_mmio_write_priority(a: Access, val: number): Co {
  const intid = VGIC_ADDR_TO_INTID(a.addr, 8);
  const mask = (0xff << (8 - VGIC_PRI_BITS)) & 0xff;
  for (let i = 0; i < a.len; i++) {
    const irq = a.vgic.vgic_get_irq(a.vcpu, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    irq.priority = (val >>> (i * 8)) & mask;
    yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
  }
}

function* vgic_mmio_read_config(a: Access): Co<number> {
  return yield* readBits(a, 2, (i) => (a.vgic.vgic_get_irq(a.vcpu, i).config === VGIC_CONFIG_EDGE ? 2 : 0));
}

/** vgic_mmio_write_config: SGIs and PPIs read-only (the timer code relies
 *  on level PPIs). */
function* vgic_mmio_write_config(a: Access, val: number): Co {
  const intid = VGIC_ADDR_TO_INTID(a.addr, 2);
  for (let i = 0; i < a.len * 4; i++) {
    if (intid + i < VGIC_NR_PRIVATE_IRQS) continue;
    const irq = a.vgic.vgic_get_irq(a.vcpu, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    irq.config = ((val >>> (i * 2 + 1)) & 1) === 1 ? VGIC_CONFIG_EDGE : VGIC_CONFIG_LEVEL;
    yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
  }
}

// ---- vgic-mmio-v2.c

// eslint-disable-next-line require-yield
function* vgic_mmio_read_v2_misc(a: Access): Co<number> {
  const d = a.vgic.d;
  switch (a.addr & 0x0c) {
    case GICD.CTLR: return a.vgic.dist.enabled ? 1 : 0;
    case GICD.TYPER: return ((((d.nr_spis + VGIC_NR_PRIVATE_IRQS) >> 5) - 1) | ((d.max_vcpus - 1) << 5)) >>> 0;
    // PRODUCT_ID_KVM 0x4b, VARIANT_ID_XEN 0x01, IMPLEMENTER_ARM 0x43b
    case GICD.IIDR: return ((0x4b << 24) | (0x01 << 16) | 0x43b) >>> 0;
    default: return 0;
  }
}

/** GICD_CTLR: the new enable under domain_lock; enabling kicks every vCPU
 *  with something pending (vgic_kick_vcpus). TYPER and IIDR: WI. */
function* vgic_mmio_write_v2_misc(a: Access, val: number): Co {
  if ((a.addr & 0x0c) !== GICD.CTLR) return;
  yield PT_DOMAIN_LOCK;
  const was = a.vgic.dist.enabled;
  a.vgic.dist.enabled = (val & 1) === 1;
  if (!was && a.vgic.dist.enabled) yield* a.vgic.vgic_kick_vcpus(a.ctx);
}

/** vgic_mmio_write_sgir: latch the SGI in each target with the sender as
 *  its source. The filter switch compares the unshifted value (bits 25:24)
 *  with `case 0x3`, which is dead: the reserved filter falls through with
 *  the raw target list, unbounded by the vCPU count - the out-of-bounds
 *  d->vcpu[] access fixed by be7f0cc651 (2025, "Fix out-of-bounds accesses
 *  in vgic_mmio_write_sgir()"). KVM of Linux 4.15 returns on it. */
function* vgic_mmio_write_sgir(a: Access, val: number): Co {
  const fn = a.ctx.enterFn("vgic_mmio_write_sgir");
  const d = a.vgic.d;
  const nr_vcpus = d.max_vcpus;
  const intid = val & 0xf;
  let targets = (val >>> 16) & 0xff;
  const all = (1 << nr_vcpus) - 1;
  switch ((val >>> 24) & 3) {
    case 0: targets &= all; break;
    case 1: targets = all & ~(1 << a.vcpu.vcpu_id); break;
    case 2: targets = 1 << a.vcpu.vcpu_id; break;
    // case 3: unreachable in Xen 4.11 (see above)
  }
  for (const vcpu_id of bitsOf(targets, 1)) {
    const vcpu = d.vcpu[vcpu_id];
    if (vcpu === undefined) throw new Error(`vgic_mmio_write_sgir: d->vcpu[${vcpu_id}] read beyond the domain's ${nr_vcpus} vCPUs (reserved TargetListFilter 0b11 with target list 0x${targets.toString(16)})`);
    const irq = a.vgic.vgic_get_irq(vcpu, intid);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    a.vgic.stats.injections++;
    // the same sender's SGI still pending merges
    a.vgic.observer.injecting?.(intid, vcpu, (irq.source & (1 << a.vcpu.vcpu_id)) !== 0);
    irq.pending_latch = true;
    irq.source |= 1 << a.vcpu.vcpu_id;
    yield* a.vgic.vgic_queue_irq_unlock(a.ctx, irq, flags);
  }
  a.ctx.leaveFn(fn);
}

function* vgic_mmio_read_target(a: Access): Co<number> {
  return yield* readBits(a, 8, (i) => a.vgic.vgic_get_irq(a.vcpu, i).targets);
}

/** vgic_mmio_write_target: ITARGETSR0-7 read-only; each byte (bounded by
 *  the vCPU count) sets targets and target_vcpu (lowest set bit) and, for
 *  a HW interrupt, moves the physical affinity to that vCPU's pCPU - all
 *  under irq_lock. Nothing is queued or kicked here: an interrupt on the
 *  old vCPU's ap_list moves at that vCPU's next prune. */
function* vgic_mmio_write_target(a: Access, val: number): Co {
  const intid = VGIC_ADDR_TO_INTID(a.addr, 8);
  const cpu_mask = (1 << a.vgic.d.max_vcpus) - 1;
  if (intid < VGIC_NR_PRIVATE_IRQS) return;
  for (let i = 0; i < a.len; i++) {
    const irq = a.vgic.vgic_get_irq(null, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    irq.targets = (val >>> (i * 8)) & cpu_mask;
    if (irq.targets !== 0) {
      irq.target_vcpu = a.vgic.d.vcpu[31 - Math.clz32(irq.targets & -irq.targets)]!;
      if (irq.hw) yield* a.vgic.irq_set_affinity(a.ctx, a.vgic.descs.get(irq.hwintid)!, 1 << irq.target_vcpu.processor);
    } else {
      irq.target_vcpu = null;
    }
    if (irq.hw) a.vgic.stats.migrations++;
    yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
  }
}

/** The SGI pending registers' first INTID as Xen 4.11 computes it:
 *  VGIC_ADDR_TO_INTID(addr, 8), which masks with 0x3ff, so GICD_CPENDSGIR
 *  (0xf10) gives 784 and GICD_SPENDSGIR (0xf20) 800 instead of 0 (KVM of
 *  Linux 4.15 takes addr & 0x0f). A debug build stops at
 *  ASSERT(intid < VGIC_NR_SGIS); a release build indexes spis[] far past
 *  a small domain's end (vgic_get_irq has no bound), which the model
 *  reports as an error. Still so in Xen's staging tree. */
function sgipendIntid(a: Access): number {
  return VGIC_ADDR_TO_INTID(a.addr, 8);
}

function* vgic_mmio_read_sgipend(a: Access): Co<number> {
  const intid = sgipendIntid(a);
  yield PT_READ_VGIC_IRQ;
  let val = 0;
  for (let i = 0; i < a.len; i++) val |= a.vgic.vgic_get_irq(a.vcpu, intid + i).source << (i * 8);
  return val >>> 0;
}

/** vgic_mmio_write_sgipendc: clear sources; no source left, no latch. */
function* vgic_mmio_write_sgipendc(a: Access, val: number): Co {
  const intid = sgipendIntid(a);
  for (let i = 0; i < a.len; i++) {
    const irq = a.vgic.vgic_get_irq(a.vcpu, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    const was = irq_is_pending(irq);
    irq.source &= ~((val >>> (i * 8)) & 0xff);
    if (irq.source === 0) irq.pending_latch = false;
    if (was && !irq_is_pending(irq)) a.vgic.observer.guestCleared?.(intid + i, a.vcpu);
    yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
  }
}

/** vgic_mmio_write_sgipends: add sources; any source latches and queues. */
function* vgic_mmio_write_sgipends(a: Access, val: number): Co {
  const intid = sgipendIntid(a);
  for (let i = 0; i < a.len; i++) {
    const irq = a.vgic.vgic_get_irq(a.vcpu, intid + i);
    const flags = yield* spin_lock_irqsave(a.ctx, irq.irq_lock);
    if (((val >>> (i * 8)) & 0xff) !== 0) {
      // one instance per write, as GICD_ISPENDR's (the latch is one bit)
      a.vgic.observer.guestPended?.(intid + i, a.vcpu);
      a.vgic.observer.injecting?.(intid + i, a.vcpu, irq_is_pending(irq));
    }
    irq.source |= (val >>> (i * 8)) & 0xff;
    if (irq.source !== 0) {
      irq.pending_latch = true;
      yield* a.vgic.vgic_queue_irq_unlock(a.ctx, irq, flags);
    } else {
      yield* spin_unlock_irqrestore(a.ctx, irq.irq_lock, flags);
    }
  }
}

const perIrq = (name: string, off: number, rd: ReadFn, wr: WriteFn, bpi: number, acc: number): Region =>
  ({ name, reg_offset: off, len: (bpi * 1024) / 8, bits_per_irq: bpi, access_flags: acc, read: rd, write: wr });
const fixed = (name: string, off: number, rd: ReadFn, wr: WriteFn, len: number, acc: number): Region =>
  ({ name, reg_offset: off, len, bits_per_irq: 0, access_flags: acc, read: rd, write: wr });

/** vgic_v2_dist_registers */
export const VGIC_V2_DIST_REGISTERS: readonly Region[] = [
  fixed("CTLR/TYPER/IIDR", GICD.CTLR, vgic_mmio_read_v2_misc, vgic_mmio_write_v2_misc, 12, VGIC_ACCESS_32bit),
  perIrq("IGROUPR", GICD.IGROUPR, vgic_mmio_read_rao, vgic_mmio_write_wi, 1, VGIC_ACCESS_32bit),
  perIrq("ISENABLER", GICD.ISENABLER, vgic_mmio_read_enable, vgic_mmio_write_senable, 1, VGIC_ACCESS_32bit),
  perIrq("ICENABLER", GICD.ICENABLER, vgic_mmio_read_enable, vgic_mmio_write_cenable, 1, VGIC_ACCESS_32bit),
  perIrq("ISPENDR", GICD.ISPENDR, vgic_mmio_read_pending, vgic_mmio_write_spending, 1, VGIC_ACCESS_32bit),
  perIrq("ICPENDR", GICD.ICPENDR, vgic_mmio_read_pending, vgic_mmio_write_cpending, 1, VGIC_ACCESS_32bit),
  perIrq("ISACTIVER", GICD.ISACTIVER, vgic_mmio_read_active, vgic_mmio_write_active_unsupported, 1, VGIC_ACCESS_32bit),
  perIrq("ICACTIVER", GICD.ICACTIVER, vgic_mmio_read_active, vgic_mmio_write_active_unsupported, 1, VGIC_ACCESS_32bit),
  perIrq("IPRIORITYR", GICD.IPRIORITYR, vgic_mmio_read_priority, vgic_mmio_write_priority, 8, VGIC_ACCESS_32bit | VGIC_ACCESS_8bit),
  perIrq("ITARGETSR", GICD.ITARGETSR, vgic_mmio_read_target, vgic_mmio_write_target, 8, VGIC_ACCESS_32bit | VGIC_ACCESS_8bit),
  perIrq("ICFGR", GICD.ICFGR, vgic_mmio_read_config, vgic_mmio_write_config, 2, VGIC_ACCESS_32bit),
  fixed("SGIR", GICD.SGIR, vgic_mmio_read_raz, vgic_mmio_write_sgir, 4, VGIC_ACCESS_32bit),
  fixed("CPENDSGIR", GICD.CPENDSGIR, vgic_mmio_read_sgipend, vgic_mmio_write_sgipendc, 16, VGIC_ACCESS_32bit | VGIC_ACCESS_8bit),
  fixed("SPENDSGIR", GICD.SPENDSGIR, vgic_mmio_read_sgipend, vgic_mmio_write_sgipends, 16, VGIC_ACCESS_32bit | VGIC_ACCESS_8bit),
];

/** vgic_find_mmio_region + check_region: the row, if the width is one it
 *  allows (1 or 4 bytes; 2 never), aligned, and for a per-IRQ row the
 *  first interrupt exists. */
export function vgic_get_mmio_region(vgic: NewVgic, off: number, len: number): Region | null {
  const region = VGIC_V2_DIST_REGISTERS.find((r) => off >= r.reg_offset && off < r.reg_offset + r.len);
  if (region === undefined) return null;
  const flag = len === 1 ? VGIC_ACCESS_8bit : len === 4 ? VGIC_ACCESS_32bit : 0;
  if ((region.access_flags & flag) === 0 || off % len !== 0) return null;
  if (region.bits_per_irq === 0) return region;
  return VGIC_ADDR_TO_INTID(off, region.bits_per_irq) < vgic.d.nr_irqs ? region : null;
}

/** dispatch_mmio_read / dispatch_mmio_write (IODEV_DIST). */
export function* dispatch_mmio(vgic: NewVgic, ctx: PCpu, vcpu: Vcpu, off: number, size: 1 | 2 | 4,
  write: boolean, value: number): Co<MmioResult> {
  const region = off >= 0 && off < 0x1000 ? vgic_get_mmio_region(vgic, off, size) : null;
  if (region === null) return { outcome: "abort", value: 0 };
  const a: Access = { vgic, ctx, vcpu, addr: off, len: size as 1 | 4 };
  if (write) {
    yield* region.write(a, value >>> 0);
    return { outcome: "ok", value: 0 };
  }
  const v = yield* region.read(a);
  return { outcome: "ok", value: (size === 1 ? v & 0xff : v) >>> 0 };
}
