// Hardware micro-benchmarks: register round trips per wall-second through the
// raw wasm exports (the hot path every layer above uses) and through the
// typed API. Each figure is the median of several timed runs, with the
// spread, measured side by side in one process.

import { Gic } from "../hw/gic.ts";
import { GICC, GICD, GICH, GICV, encodeLr, LrState, sgir } from "../hw/regs.ts";
import { DEFAULT_RUNS, median } from "./stats.ts";

/** QEMU TCG on this machine class (GICV2.md: measured with qemu-system-aarch64 -M virt). */
export const QEMU_SGI_ROUND_TRIPS_PER_S = 1.35e6;
export const QEMU_LR_ROUND_TRIPS_PER_S = 3.6e6;

export interface Rate {
  name: string;
  /** operations per second: median, min and max over the runs */
  median: number;
  min: number;
  max: number;
  runs: number;
  /** published reference for the same loop, if any */
  reference?: { name: string; perSecond: number };
}

function measure(name: string, opsPerRun: number, runs: number, body: (n: number) => void): Rate {
  body(Math.min(opsPerRun, 50_000)); // warm up the JIT and the wasm tiers
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    body(opsPerRun);
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push(opsPerRun / (ns / 1e9));
  }
  rates.sort((a, b) => a - b);
  return { name, median: median(rates), min: rates[0]!, max: rates[rates.length - 1]!, runs };
}

function sgiGic(): Gic {
  const g = Gic.create();
  g.writeDist(0, GICD.CTLR, 3);
  g.writeDist(0, GICD.ISENABLER, 0xffff);
  g.writeCpu(0, GICC.CTLR, 1);
  g.writeCpu(0, GICC.PMR, 0xff);
  return g;
}

function lrGic(): Gic {
  const g = Gic.create();
  g.writeHyp(0, GICH.HCR, 1);
  g.writeVcpu(0, GICV.CTLR, 1);
  g.writeVcpu(0, GICV.PMR, 0xf8);
  return g;
}

export function runHardwareBench(opts: { iterations?: number; runs?: number } = {}): Rate[] {
  const n = opts.iterations ?? 1_000_000;
  const runs = opts.runs ?? DEFAULT_RUNS.hw;
  const out: Rate[] = [];

  {
    const g = sgiGic();
    const raw = g.raw;
    const d = g.config.map.gicd, c = g.config.map.gicc;
    const sgirAddr = d + GICD.SGIR, iar = c + GICC.IAR, eoir = c + GICC.EOIR;
    const v = sgir(2, 0, 1);
    const r = measure("SGI round trip (SGIR, IAR, EOIR), raw exports", n, runs, (k) => {
      for (let i = 0; i < k; i++) {
        raw.mmioWrite(0, sgirAddr, v, 4);
        const id = raw.mmioRead(0, iar, 4);
        raw.mmioWrite(0, eoir, id, 4);
      }
    });
    r.reference = { name: "QEMU TCG", perSecond: QEMU_SGI_ROUND_TRIPS_PER_S };
    out.push(r);
    if (raw.mmioRead(0, iar, 4) !== 1023) throw new Error("SGI loop left an interrupt pending");
  }
  {
    const g = sgiGic();
    const v = sgir(2, 0, 1);
    out.push(measure("SGI round trip, typed API", n, runs, (k) => {
      for (let i = 0; i < k; i++) {
        g.writeDist(0, GICD.SGIR, v);
        g.writeCpu(0, GICC.EOIR, g.readCpu(0, GICC.IAR));
      }
    }));
  }
  {
    const g = lrGic();
    const raw = g.raw;
    const lr0 = g.config.map.gich + GICH.LR, iar = g.config.map.gicv + GICV.IAR, eoir = g.config.map.gicv + GICV.EOIR;
    const lr = encodeLr({ virtualId: 40, physicalId: 0, eoi: false, priority: 0xa0, state: LrState.Pending, group1: false, hw: false });
    const r = measure("LR round trip (LR write, GICV_IAR, GICV_EOIR), raw exports", n, runs, (k) => {
      for (let i = 0; i < k; i++) {
        raw.mmioWrite(0, lr0, lr, 4);
        const id = raw.mmioRead(0, iar, 4);
        raw.mmioWrite(0, eoir, id, 4);
      }
    });
    r.reference = { name: "QEMU TCG", perSecond: QEMU_LR_ROUND_TRIPS_PER_S };
    out.push(r);
    if (raw.mmioRead(0, iar, 4) !== 1023) throw new Error("LR loop left an interrupt pending");
  }
  {
    const g = sgiGic();
    const raw = g.raw;
    const a = g.config.map.gicd + GICD.ISENABLER + 4;
    out.push(measure("register read (GICD_ISENABLER1), raw exports", n * 3, runs, (k) => {
      for (let i = 0; i < k; i++) raw.mmioRead(0, a, 4);
    }));
  }
  {
    const g = sgiGic();
    const raw = g.raw;
    const a = g.config.map.gicd + GICD.IPRIORITYR + 40;
    out.push(measure("register write (GICD_IPRIORITYR10), raw exports", n * 3, runs, (k) => {
      for (let i = 0; i < k; i++) raw.mmioWrite(0, a, i & 0xff, 4);
    }));
  }
  {
    const g = sgiGic();
    const a = g.config.map.gicd + GICD.ISENABLER + 4;
    out.push(measure("register read, typed API", n * 3, runs, (k) => {
      for (let i = 0; i < k; i++) g.read(0, a);
    }));
  }
  return out;
}

const fmt = (v: number) => (v / 1e6).toFixed(2).padStart(8) + " M/s";

export function formatRates(rates: Rate[]): string {
  const lines = ["operation                                                    median      min      max  vs reference"];
  for (const r of rates) {
    const ref = r.reference ? `  ${(r.median / r.reference.perSecond).toFixed(1)}x ${r.reference.name} (${(r.reference.perSecond / 1e6).toFixed(2)} M/s)` : "";
    lines.push(`${r.name.padEnd(58)} ${fmt(r.median)} ${fmt(r.min)} ${fmt(r.max)}${ref}`);
  }
  return lines.join("\n");
}
