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
} as const;
export type HwFault = keyof typeof HW_FAULTS;

export function isHwFault(name: string): name is HwFault {
  return Object.prototype.hasOwnProperty.call(HW_FAULTS, name);
}

/** Wrap `port` with the named faults. */
export function plantFaults(gic: Gic, port: HwPort, faults: readonly string[]): HwPort {
  for (const f of faults) if (!isHwFault(f)) throw new RangeError(`unknown fault '${f}' (known: ${Object.keys(HW_FAULTS).join(", ")})`);
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
      if (has("ignore-w1c")) {
        const off = (addr - map.gicd) >>> 0;
        if ((off >= 0x180 && off < 0x200) || (off >= 0x280 && off < 0x300) || (off >= 0x380 && off < 0x400)) {
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
  function uncount(cpu: number): void {
    const m = words();
    const a = (L.CPU_BASE + cpu * L.CPU_STRIDE + L.C_BAD + (L.ACCESS_UNALIGNED - 1) * 4) >> 2;
    m[a] = m[a]! - 1;
  }
}
