// Released model instances are reused by Gic.create of the same
// configuration, restored to exactly the memory `configure` left: a reused
// instance cannot be told from a new one.
import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { GICC, GICD } from "../host/hw/regs.ts";

const mem = (g: Gic) => new Uint8Array(g.raw.memory.buffer).slice();

describe("reused model instances", () => {
  it("a released instance comes back for the same configuration as a fresh one, whatever was done to it", () => {
    const fresh = mem(Gic.create({ cpus: 3, irqs: 96 }));
    const a = Gic.create({ cpus: 3, irqs: 96 });
    a.writeDist(0, GICD.CTLR, 3);
    a.writeDist(0, GICD.ISENABLER + 4, 0xffffffff);
    a.writeDist(0, GICD.ISPENDR + 4, 0x10);
    a.writeCpu(1, GICC.CTLR, 1);
    a.setTime(12345);
    expect(mem(a)).not.toEqual(fresh);
    const raw = a.raw;
    a.release();
    const b = Gic.create({ cpus: 3, irqs: 96 });
    expect(b.raw).toBe(raw);
    expect(mem(b)).toEqual(fresh);
    expect(b.readDist(0, GICD.ISPENDR + 4)).toBe(0);
    expect(b.isPending(0, 36)).toBe(false);
  });

  it("another configuration never gets it", () => {
    const a = Gic.create({ cpus: 2, irqs: 64 });
    const raw = a.raw;
    a.release();
    const b = Gic.create({ cpus: 2, irqs: 64, listRegisters: 8 });
    expect(b.raw).not.toBe(raw);
    expect(b.config.listRegisters).toBe(8);
    // and the released one still serves its own configuration
    expect(Gic.create({ cpus: 2, irqs: 64 }).raw).toBe(raw);
  });
});
