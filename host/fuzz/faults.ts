// Planted faults, for the fuzzer's own tests only: each wraps the port the
// harness drives the model through and breaks one behaviour in the fuzzer's
// view, leaving the model and its defaults untouched. Nothing on the command
// line selects them.

import type { Gic } from "../hw/gic.ts";
import * as L from "../hw/layout.ts";
import { sgirTargetMask } from "../hw/regs.ts";
import type { HwPort } from "../check/invariants.ts";

export const HW_FAULTS = {
  /** GICC_IAR returns a pending but disabled interrupt instead of a spurious ID */
  "iar-disabled": "GICC_IAR returns a pending, disabled interrupt instead of 1023",
  /** GICC_IAR acknowledges a Group 1 interrupt with AckCtl clear (it must answer 1022) */
  "iar-ignores-ackctl": "GICC_IAR acknowledges a Group 1 interrupt without AckCtl instead of answering 1022",
  /** GICC_IAR returns an SPI that is already active instead of a spurious ID */
  "iar-active-spi": "GICC_IAR returns an already active SPI instead of 1023",
  /** writes to GICD_ICENABLER/ICPENDR/ICACTIVER are dropped */
  "ignore-w1c": "writes to the clear-enable/-pending/-active registers are ignored",
  /** an unaligned access is not counted */
  "skip-bad-count": "unaligned accesses are not counted as bad accesses",
  /** GICH_ELRSR0 reads return the value of the previous read */
  "stale-elrsr": "GICH_ELRSR0 returns the value of the previous read",
  /** a write to GICC_DIR throws, as a wasm trap would */
  "trap-dir": "a write to GICC_DIR throws a RuntimeError",
  /** a byte write to GICD_IPRIORITYR also lands in the neighbouring byte lane */
  "prio-byte-lane": "a byte write to GICD_IPRIORITYR also writes the neighbouring byte",
  /** GICD_SGIR replaces the sources an SGI is pending from instead of adding one */
  "sgi-lost-source": "GICD_SGIR loses the other source CPUs of an SGI already pending",
  /** GICV_EOIR of an SGI retires the first active list register with that ID, whatever its source */
  "veoi-wrong-source": "GICV_EOIR of an SGI ignores the source CPU and retires the first active entry with the ID",
  /** GICC_IAR passes over the highest-priority candidate (the fault disables it around the read) */
  "iar-skips-highest": "GICC_IAR acknowledges the next candidate instead of the highest-priority one",
  /** GICC_IAR passes over a head whose group GICC_CTLR disables and acknowledges the other group's best (the distributor's forwarding of that group is cut around the read) */
  "iar-group-fallthrough": "GICC_IAR acknowledges the other group's interrupt when the head's group is disabled in GICC_CTLR",
  /** GICC_IAR reads 1023 without acknowledging while an interrupt is active on the CPU */
  "iar-spurious-nested": "GICC_IAR returns 1023 whenever the running priority is not idle",
  /** GICC_EOIR deactivates but the active priorities are written back */
  "eoir-no-drop": "GICC_EOIR/AEOIR does not drop the running priority",
  /** GICC_EOIR with EOImode 0 drops the priority; the interrupt is made active again */
  "eoir-no-deactivate": "GICC_EOIR/AEOIR with EOImode 0 leaves the interrupt active",
  /** a write to GICC_DIR is dropped */
  "dir-ignored": "GICC_DIR has no effect",
  /** GICV_IAR reads 1023 without acknowledging while GICH_APR is not 0 */
  "viar-spurious-nested": "GICV_IAR returns 1023 whenever a virtual priority is active",
  /** GICV_HPPIR reads 1023 */
  "vhppir-spurious": "GICV_HPPIR always reads 1023",
  /** a virtual EOI/DIR retiring a HW=1 list register: the physical interrupt is made active again */
  "hw-lr-keeps-active": "retiring a HW=1 list register leaves the physical interrupt active",
  /** GICV_RPR reads 0xff (idle) whatever GICH_APR holds */
  "vrpr-idle": "GICV_RPR always reads 0xff",
  /** the vIRQ output line reads low */
  "virq-stuck-low": "the vIRQ output line is never raised",
} as const;
export type HwFault = keyof typeof HW_FAULTS;


/** Every name of `faults` is in `known` (a fault registry); else a
 *  RangeError listing the known ones. */
export function requireFaults(known: Readonly<Record<string, string>>, faults: readonly string[]): void {
  for (const f of faults) {
    if (!Object.prototype.hasOwnProperty.call(known, f)) throw new RangeError(`unknown fault '${f}' (known: ${Object.keys(known).join(", ")})`);
  }
}

/** Wrap `port` with the named faults. */
export function plantFaults(gic: Gic, port: HwPort, faults: readonly string[]): HwPort {
  requireFaults(HW_FAULTS, faults);
  if (faults.length === 0) return port;
  const has = (f: HwFault) => faults.includes(f);
  const map = gic.config.map;
  const words = () => gic.memoryWords();
  const nirq = gic.config.irqs;
  const elrsr = new Map<number, number>();
  /** lowest ID of `cpu` whose bits in a and not in b are set */
  const find = (cpu: number, a: number, b: number, from: number): number => {
    const m = words();
    for (let irq = from; irq < nirq; irq += 32 - (irq & 31)) {
      const w = irq < 32 ? cpu : 8 + (irq >> 5);
      const bits = (m[(a >> 2) + w]! & ~(b < 0 ? 0 : m[(b >> 2) + w]!)) >>> 0 & (0xffffffff << (irq & 31));
      if (bits !== 0) return (irq & ~31) + (31 - Math.clz32(bits & -bits));
    }
    return -1;
  };
  const cpuWord = (cpu: number, field: number) => (L.CPU_BASE + cpu * L.CPU_STRIDE + field) >> 2;
  const vifWord = (cpu: number, field: number) => (L.VIF_BASE + cpu * L.VIF_STRIDE + field) >> 2;
  const activeBit = (cpu: number, irq: number) =>
    ((words()[(L.BM_ACTIVE + (irq < 32 ? cpu * 4 : L.BM_BANK_BYTES + (irq >> 5) * 4)) >> 2]! >>> (irq & 31)) & 1) === 1;
  const setActive = (cpu: number, irq: number) => port.write(cpu, map.gicd + 0x300 + (irq >> 5) * 4, (1 << (irq & 31)) >>> 0, 4);
  return {
    read(cpu, addr, size) {
      if (size === 4 && addr === map.gicc + 0x0c) {
        if (has("iar-spurious-nested") && words()[cpuWord(cpu, L.C_RPR)]! < 0x100) return spurious(cpu, map.gicc);
        if (has("iar-skips-highest")) return skipHighest(cpu);
        if (has("iar-group-fallthrough")) return groupFallthrough(cpu);
      }
      if (size === 4 && addr === map.gicv + 0x0c && has("viar-spurious-nested") && words()[vifWord(cpu, L.V_APR)]! !== 0) return spurious(cpu, map.gicv);
      if (size === 4 && addr === map.gicv + 0x18 && has("vhppir-spurious")) return spurious(cpu, map.gicv);
      if (size === 4 && addr === map.gicv + 0x14 && has("vrpr-idle")) {
        port.read(cpu, addr, size);
        return 0xff;
      }
      const v = port.read(cpu, addr, size);
      // (1022 acknowledged nothing: GICC_AIAR takes the Group 1 interrupt)
      if (size === 4 && addr === map.gicc + 0x0c && v === 1022 && has("iar-ignores-ackctl")) return port.read(cpu, map.gicc + 0x20, 4);
      if (size === 4 && addr === map.gicc + 0x0c && v === 1023) {
        if (has("iar-disabled")) {
          const irq = find(cpu, L.BM_PEND, L.BM_ENABLE, 16);
          if (irq >= 0) return irq;
        }
        if (has("iar-active-spi")) {
          const irq = find(cpu, L.BM_ACTIVE, -1, 32);
          if (irq >= 0) return irq;
        }
      }
      if (has("stale-elrsr") && size === 4 && addr === map.gich + 0x30) {
        const old = elrsr.get(cpu);
        elrsr.set(cpu, v);
        if (old !== undefined) return old;
      }
      return v;
    },
    write(cpu, addr, value, size) {
      const doff = (addr - map.gicd) >>> 0;
      if (has("prio-byte-lane") && size === 1 && doff >= 0x400 && doff < 0x800) port.write(cpu, addr ^ 1, value, 1);
      if (has("sgi-lost-source") && doff === 0xf00 && size === 4) {
        const st = port.write(cpu, addr, value, size);
        const list = sgirTargetMask(value, cpu, gic.config.cpus);
        for (let t = 0; t < gic.config.cpus; t++) if ((list >>> t) & 1) setByte(L.SGI_SRC + t * 16 + (value & 0xf), 1 << cpu);
        return st;
      }
      if (has("veoi-wrong-source") && addr === map.gicv + 0x10 && (value & 0x3ff) < 16) {
        const m = words();
        const lr0 = (L.VIF_BASE + cpu * L.VIF_STRIDE + L.V_LR) >> 2;
        for (let n = 0; n < gic.config.listRegisters; n++) {
          const lr = m[lr0 + n]!;
          if ((lr & 0xa0000000) === 0x20000000 && (lr & 0x3ff) === (value & 0x3ff)) {
            value = ((value & ~0x1c00) | (lr & 0x1c00)) >>> 0;
            break;
          }
        }
      }
      if (has("ignore-w1c")) {
        if ((doff >= 0x180 && doff < 0x200) || (doff >= 0x280 && doff < 0x300) || (doff >= 0x380 && doff < 0x400)) {
          if ((addr & 3) === 0 && size === 4) return 0;
        }
      }
      if (has("trap-dir") && addr === map.gicc + 0x1000) throw new WebAssembly.RuntimeError("unreachable");
      if (has("dir-ignored") && addr === map.gicc + 0x1000 && size === 4) return L.ACCESS_OK;
      if (size === 4 && (addr === map.gicc + 0x10 || addr === map.gicc + 0x24)) {
        if (has("eoir-no-drop")) {
          const apr = [0, 1, 2, 3].map((k) => port.read(cpu, map.gicc + 0xd0 + 4 * k, 4));
          const st = port.write(cpu, addr, value, size);
          apr.forEach((a, k) => port.write(cpu, map.gicc + 0xd0 + 4 * k, a, 4));
          return st;
        }
        const irq = value & 0x3ff;
        if (has("eoir-no-deactivate") && irq < nirq && (words()[cpuWord(cpu, L.C_CTLR)]! & 0x200) === 0 && activeBit(cpu, irq)) {
          const st = port.write(cpu, addr, value, size);
          if (!activeBit(cpu, irq)) setActive(cpu, irq);
          return st;
        }
      }
      if (has("hw-lr-keeps-active") && size === 4 && (addr === map.gicv + 0x10 || addr === map.gicv + 0x24 || addr === map.gicv + 0x1000)) {
        const lr0 = vifWord(cpu, L.V_LR);
        const before = Array.from(words().subarray(lr0, lr0 + gic.config.listRegisters));
        const pid = (lr: number) => (lr >>> 10) & 0x3ff;
        const held = before.map((lr) => (lr & 0xa0000000) >>> 0 === 0xa0000000 && pid(lr) >= 16 && pid(lr) < nirq && activeBit(cpu, pid(lr)));
        const st = port.write(cpu, addr, value, size);
        const m = words();
        before.forEach((lr, n) => {
          if (held[n] && (m[lr0 + n]! & 0x20000000) === 0 && !activeBit(cpu, pid(lr))) setActive(cpu, pid(lr));
        });
        return st;
      }
      const st = port.write(cpu, addr, value, size);
      if (has("skip-bad-count") && st === L.ACCESS_UNALIGNED) uncount(cpu);
      return st;
    },
    setLine: (irq, level, cpu) => port.setLine(irq, level, cpu),
    lastStatus() {
      return port.lastStatus();
    },
    lines: (cpu) => port.lines(cpu) & (has("virq-stuck-low") ? ~L.LINE_VIRQ : ~0),
  };
  /** 1023 in place of a read of the CPU interface at `base`, whose status
   *  a read of its RPR (no side effects) sets as a legal access. */
  function spurious(cpu: number, base: number): number {
    port.read(cpu, base + 0x14, 4);
    return 1023;
  }
  /** GICC_IAR with the head (as GICC_HPPIR names it) disabled for the read;
   *  when nothing else is acknowledged, the head is, as it should be. */
  function skipHighest(cpu: number): number {
    const iar = map.gicc + 0x0c;
    const head = port.read(cpu, map.gicc + 0x18, 4) & 0x3ff;
    if (head < 16 || head >= 1020) return port.read(cpu, iar, 4);
    const word = (head >> 5) * 4;
    const b = (1 << (head & 31)) >>> 0;
    port.write(cpu, map.gicd + 0x180 + word, b, 4);
    const v = port.read(cpu, iar, 4);
    port.write(cpu, map.gicd + 0x100 + word, b, 4);
    return (v & 0x3ff) < 1020 ? v : port.read(cpu, iar, 4);
  }
  /** GICC_IAR with the groups GICD_CTLR forwards but GICC_CTLR does not
   *  signal cut off at the distributor for the read, so that the best of
   *  the signalled group is acknowledged in place of the head. */
  function groupFallthrough(cpu: number): number {
    const iar = map.gicc + 0x0c;
    const dctlr = words()[L.G_DIST_CTLR >> 2]! & 3;
    const cctlr = words()[cpuWord(cpu, L.C_CTLR)]! & 3;
    if ((dctlr & ~cctlr) === 0 || (dctlr & cctlr) === 0) return port.read(cpu, iar, 4);
    port.write(cpu, map.gicd, dctlr & cctlr, 4);
    const v = port.read(cpu, iar, 4);
    port.write(cpu, map.gicd, dctlr, 4);
    return v;
  }
  function setByte(a: number, v: number): void {
    const m = words();
    const sh = (a & 3) * 8;
    m[a >> 2] = ((m[a >> 2]! & ~(0xff << sh)) | (v << sh)) >>> 0;
  }
  function uncount(cpu: number): void {
    const m = words();
    const a = (L.CPU_BASE + cpu * L.CPU_STRIDE + L.C_BAD + (L.ACCESS_UNALIGNED - 1) * 4) >> 2;
    m[a] = m[a]! - 1;
  }
}
