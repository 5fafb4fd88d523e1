// Planted faults, for the fuzzer's own tests only: each wraps the port the
// harness drives the model through and breaks one behaviour in the fuzzer's
// view, leaving the model and its defaults untouched. Nothing on the command
// line selects them.

import type { Gic } from "../hw/gic.ts";
import * as L from "../hw/layout.ts";
import type { HwPort } from "../check/invariants.ts";

export const HW_FAULTS = {
  /** GICC_IAR returns a pending but disabled interrupt instead of a spurious ID */
  "iar-disabled": "GICC_IAR returns a pending, disabled interrupt instead of 1023",
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
  return {
    read(cpu, addr, size) {
      const v = port.read(cpu, addr, size);
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
        const filter = (value >>> 24) & 3;
        const list = filter === 0 ? (value >>> 16) & 0xff : filter === 1 ? ~(1 << cpu) : filter === 2 ? 1 << cpu : 0;
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
      const st = port.write(cpu, addr, value, size);
      if (has("skip-bad-count") && st === L.ACCESS_UNALIGNED) uncount(cpu);
      return st;
    },
    setLine: (irq, level, cpu) => port.setLine(irq, level, cpu),
    lastStatus() {
      return port.lastStatus();
    },
  };
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
