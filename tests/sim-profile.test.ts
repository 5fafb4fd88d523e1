// Cost profiles (published numbers present, validation naming the field)
// and the seeded PRNG.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COST_NAMES, ProfileError, Rng, defaultProfile, parseProfile, profilePath, validateProfile } from "../host/sim/index.ts";

describe("profiles/xgene-xen.json", () => {
  const p = defaultProfile();

  it("carries the published Xen ARM figures with their sources", () => {
    expect(p.costs.hypercall).toMatchObject({ cycles: 376, source: expect.stringMatching(/Dall et al\., ISCA 2016, Table II/) });
    expect(p.costs.mmioTrap).toMatchObject({ cycles: 1356, source: expect.stringMatching(/Dall et al\., ISCA 2016, Table II/) });
    expect(p.costs.virqCompletion).toMatchObject({ cycles: 71, source: expect.stringMatching(/Dall et al\., ISCA 2016, Table II/) });
    expect(p.costs.el2Entry).toMatchObject({ cycles: 70, source: expect.stringMatching(/NEVE, SOSP 2017/) });
    expect(p.costs.el2Return).toMatchObject({ cycles: 65, source: expect.stringMatching(/NEVE, SOSP 2017/) });
  });

  it("names a source or an assumption for every number", () => {
    for (const n of COST_NAMES) {
      expect(p.costs[n].source, n).toMatch(/^(assumption: .{20,}|.*(ISCA|SOSP) 20\d\d.*)$/);
    }
    expect(p.hzSource).toMatch(/^assumption: /);
  });
});

describe("validateProfile", () => {
  const good = () => JSON.parse(readFileSync(profilePath("xgene-xen"), "utf8")) as Record<string, any>;
  const fails = (mutate: (p: Record<string, any>) => void, field: string) => {
    const p = good();
    mutate(p);
    try {
      validateProfile(p, "test.json");
    } catch (e) {
      expect(e).toBeInstanceOf(ProfileError);
      expect((e as ProfileError).field).toBe(field);
      expect((e as Error).message).toContain(`test.json: ${field}:`);
      return;
    }
    throw new Error(`no error for ${field}`);
  };

  it("accepts the shipped profile", () => {
    expect(validateProfile(good()).name).toBe("xgene-xen");
  });

  it("names the field that is wrong", () => {
    fails((p) => { delete p.costs.lockRelease; }, "costs.lockRelease");
    fails((p) => { p.costs.listOp.cycles = -1; }, "costs.listOp.cycles");
    fails((p) => { p.costs.listOp.cycles = 2.5; }, "costs.listOp.cycles");
    fails((p) => { p.costs.sgiSend.cycles = "71"; }, "costs.sgiSend.cycles");
    fails((p) => { p.costs.irqEntry.source = ""; }, "costs.irqEntry.source");
    fails((p) => { delete p.costs.gichAccess.source; }, "costs.gichAccess.source");
    fails((p) => { p.costs.warpDrive = { cycles: 1, source: "x" }; }, "costs.warpDrive");
    fails((p) => { p.hz = 0; }, "hz");
    fails((p) => { delete p.hzSource; }, "hzSource");
    fails((p) => { delete p.name; }, "name");
  });

  it("refuses a field a profile does not define, naming the fields; reads $schema and a byte order mark", () => {
    fails((p) => { p.hzz = 1; }, "hzz");
    fails((p) => { p.costs.listOp.cycels = 1; }, "costs.listOp.cycels");
    const p = good();
    p.costs.listOp.note = "x";
    expect(() => validateProfile(p, "test.json")).toThrow('test.json: costs.listOp.note: got "x", expected no field "note": a cost has the fields cycles, source');
    expect(() => validateProfile({ ...good(), hzz: 1 }, "test.json")).toThrow('test.json: hzz: got 1, expected no field "hzz": a profile has the fields $schema, name, description, hz, hzSource, costs');
    expect(validateProfile({ ...good(), $schema: "x" }).name).toBe("xgene-xen");
    expect(parseProfile("\ufeff" + JSON.stringify(good()), "test.json").name).toBe("xgene-xen");
  });

  it("reports malformed JSON", () => {
    expect(() => parseProfile("{", "x.json")).toThrow(/x\.json: \(json\)/);
  });
});

describe("Rng", () => {
  it("is a pure function of the seed", () => {
    const a = new Rng(1), b = new Rng(1), c = new Rng(2);
    const xs = Array.from({ length: 8 }, () => a.next());
    expect(Array.from({ length: 8 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.next())).not.toEqual(xs);
    for (const x of xs) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
  });

  it("below(n) is in range and roughly uniform", () => {
    const r = new Rng(99);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[r.below(3)]!++;
    for (const k of counts) expect(Math.abs(k - 10000)).toBeLessThan(500);
  });
});
