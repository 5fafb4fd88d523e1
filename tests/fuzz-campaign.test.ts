// A vgic fuzzing campaign across machines: shard I/N runs the case indices
// k*N + I (--shard, or a Kubernetes Indexed Job's environment), and
// fuzz --merge joins the shards' reports into the run one machine makes with
// every shard's cases: the same cases, operations, signatures with their
// counts, findings (re-made from the failing cases in index order, as the
// single run meets them) and coverage.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const vgic = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["build/vgic.mjs", ...args], { encoding: "utf8", env: { ...process.env, ...env } });

type Report = {
  cases: number; ops: number; duplicates: number; violatingCases: number[]; budget: unknown; shard?: unknown; merged?: { shards: number };
  signatures: Array<{ signature: string; count: number; file: string | null }>;
  findings: Array<{ signature: string; message: string; ops: number; originalOps: number; file: string | null }>;
  coverage: { total: number; families: unknown; features: unknown };
};
/** What must be equal: everything but times, rates, the growth curve and the directory of the files. */
const meaning = (r: Report) => ({
  cases: r.cases, ops: r.ops, duplicates: r.duplicates, violatingCases: r.violatingCases, budget: r.budget,
  signatures: r.signatures.map((s) => ({ ...s, file: s.file && basename(s.file) })),
  findings: r.findings.map((f) => ({ ...f, file: f.file && basename(f.file) })),
  coverage: { total: r.coverage.total, families: r.coverage.families, features: r.coverage.features },
});

describe("fuzz --merge campaigns (vgic target)", () => {
  const dir = mkdtempSync(join(tmpdir(), "vgic-fuzz-campaign-"));
  const shards = join(dir, "shards");
  mkdirSync(shards);
  const base = ["fuzz", "--target", "vgic", "--seed", "5", "--json"];
  const single = vgic([...base, "--cases", "60", "--out", join(dir, "single")]);
  const one = JSON.parse(single.stdout) as Report;
  for (let i = 0; i < 3; i++) {
    const env = { JOB_COMPLETION_INDEX: String(i), VGIC_SHARDS: "3" };
    // shard 1 as a Kubernetes Indexed Job would start it, the others by
    // flag, shard 2 on three worker threads
    const r = i === 1 ? vgic([...base, "--cases", "20", "--out", join(dir, `s${i}`)], env)
      : vgic([...base, "--cases", "20", "--shard", `${i}/3`, "--out", join(dir, `s${i}`), ...(i === 2 ? ["--workers", "3"] : [])]);
    writeFileSync(join(shards, `shard-${i}.json`), r.stdout);
  }

  it("the merge of three shards equals the single-machine run of the same budget, and exits as it does", () => {
    // the run has something to merge: several signatures, some seen again
    expect(one.signatures.length).toBeGreaterThan(3);
    expect(one.duplicates).toBeGreaterThan(0);
    const m = vgic(["fuzz", "--merge", shards, "--out", join(dir, "merged"), "--json"]);
    expect(m.status, m.stderr).toBe(single.status);
    const merged = JSON.parse(m.stdout) as Report;
    expect(meaning(merged)).toEqual(meaning(one));
    expect(merged.merged?.shards).toBe(3);
    expect(merged.shard).toBeUndefined();
    // the finding files are the single run's, byte for byte
    for (const f of one.findings) {
      expect(readFileSync(join(dir, "merged", basename(f.file!)), "utf8")).toBe(readFileSync(f.file!, "utf8"));
    }
  }, 120_000);

  it("a missing shard, shards of another seed, an hw campaign or a --seconds budget are refused naming what is wrong", () => {
    const partial = join(dir, "partial");
    mkdirSync(partial);
    writeFileSync(join(partial, "a.json"), readFileSync(join(shards, "shard-0.json")));
    const r = vgic(["fuzz", "--merge", partial]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--merge: shards 1\/3, 2\/3 are missing from/);
    writeFileSync(join(partial, "b.json"), vgic(["fuzz", "--target", "vgic", "--seed", "6", "--json", "--cases", "20", "--shard", "1/3", "--out", join(dir, "x")]).stdout);
    expect(vgic(["fuzz", "--merge", partial]).stderr).toMatch(/b\.json: seed 6 differs from .*a\.json's 5/);

    const hw = join(dir, "hw");
    mkdirSync(hw);
    writeFileSync(join(hw, "a.json"), vgic(["fuzz", "--target", "hw", "--json", "--cases", "10", "--shard", "0/2", "--out", join(dir, "y")]).stdout);
    const h = vgic(["fuzz", "--merge", hw]);
    expect(h.status).toBe(2);
    expect(h.stderr).toMatch(/target 'hw': only vgic campaigns merge/);

    const timed = join(dir, "timed");
    mkdirSync(timed);
    writeFileSync(join(timed, "a.json"), vgic(["fuzz", "--target", "vgic", "--json", "--seconds", "1", "--shard", "0/2", "--out", join(dir, "z")]).stdout);
    expect(vgic(["fuzz", "--merge", timed]).stderr).toMatch(/budget: expected every shard to run exactly its --cases, without --seconds/);
    expect(vgic(["fuzz", "--merge", shards, "--seed", "3"]).stderr).toMatch(/--merge: --seed not expected/);

    // edited reports: a shard index out of range, failing cases out of
    // order, another build; a refused merge writes no finding file
    const edited = (name: string, edit: (d: Record<string, unknown>) => void): string => {
      const d = join(dir, name);
      mkdirSync(d);
      for (let i = 0; i < 3; i++) {
        const doc = JSON.parse(readFileSync(join(shards, `shard-${i}.json`), "utf8")) as Record<string, unknown>;
        if (i === 0) edit(doc);
        writeFileSync(join(d, `shard-${i}.json`), JSON.stringify(doc));
      }
      return d;
    };
    expect(vgic(["fuzz", "--merge", edited("e1", (d) => { d.shard = { index: 7, count: 3 }; })]).stderr).toMatch(/shard: expected an index from 0 to 2, got 7/);
    expect(vgic(["fuzz", "--merge", edited("e2", (d) => { d.violatingCases = [...(d.violatingCases as number[])].reverse(); })]).stderr)
      .toMatch(/violatingCases: expected case indices below 60, ascending, each once/);
    expect(vgic(["fuzz", "--merge", edited("e3", (d) => { d.build = "0123456789abcdef"; })]).stderr).toMatch(/build: expected [0-9a-f]{16}, this program with the same --variants file, got 0123456789abcdef/);
    const e4 = edited("e4", (d) => { (d.signatures as Array<{ count: number }>)[0]!.count += 1; });
    const refused = vgic(["fuzz", "--merge", e4, "--out", join(dir, "refused")]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/the failing cases do not show what the shards counted/);
    expect(existsSync(join(dir, "refused")) ? readdirSync(join(dir, "refused")) : []).toEqual([]);
  }, 120_000);
});

describe("fuzz --workers reports the same run every time", () => {
  it("names, for each signature, the file of the lowest case any worker found it in, and lists findings by the case first found in", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-fuzz-workers-"));
    const out = join(dir, "out");
    const r = vgic(["fuzz", "--target", "vgic", "--seed", "5", "--cases", "200", "--workers", "2", "--json", "--out", out]);
    expect([0, 1], r.stderr).toContain(r.status);
    const report = JSON.parse(r.stdout) as Report;
    // every worker writes its own file of a signature it finds: seed-case in the name
    const files = readdirSync(out).filter((f) => f.endsWith(".json"));
    const caseOf = (f: string) => Number(/-(\d+)\.json$/.exec(f)![1]);
    const lowest = new Map<string, string>();
    const written = new Map<string, number>();
    for (const f of files) {
      const sig = (JSON.parse(readFileSync(join(out, f), "utf8")) as { signature: string }).signature;
      const had = lowest.get(sig);
      if (had === undefined || caseOf(f) < caseOf(had)) lowest.set(sig, f);
      written.set(sig, (written.get(sig) ?? 0) + 1);
    }
    // the check means something only if both workers found some signature
    expect([...written.values()].some((n) => n > 1), "a signature both workers found").toBe(true);
    for (const s of report.signatures) expect(basename(s.file!), s.signature).toBe(lowest.get(s.signature));
    const firstCases = report.findings.map((f) => caseOf(basename(f.file!)));
    for (let i = 1; i < firstCases.length; i++) {
      // a file keeps the name of the case its signature was first found in
      expect(firstCases[i]!, `findings[${i}]`).toBeGreaterThanOrEqual(firstCases[i - 1]!);
    }
  });
});
