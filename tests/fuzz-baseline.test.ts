// Finding signatures and baselines. A signature tells bugs of one kind
// apart (the interrupt's path for losses, the Xen function and the list
// operation for exceptions and list races) and is the same in every run and
// seed; a change planted into xen-4.9 whose kind xen-4.9 already shows is
// reported as new against unchanged xen-4.9 fuzzed with the same seed and
// budget, and nothing else is new or gone; xen-4.9 against itself reports
// nothing. From the command line: --baseline-variant, --baseline DIR|FILE,
// --json, the console's findings matching their files, and the same for
// explore --matrix.

import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exceptionSite } from "../host/check/vgic.ts";
import { FindingError } from "../host/fuzz/target.ts";
import {
  budgetWarning, changed, compareRuns, compareSignatures, countsIncomparable, formatComparison, fuzz, loadBaseline, parseFinding, readFinding, replay, vgicTarget, type Baseline, type FuzzReport,
} from "../host/fuzz/index.ts";
import { compareCells, loadMatrixBaseline } from "../host/explore/baseline.ts";

const CASES = 250;
/** xen-4.9, with planted changes; signatures only (no shrinking) unless
 *  finding files are wanted in `out` */
const fresh = (seed: number, faults: string[] = [], out?: string): FuzzReport =>
  fuzz({
    target: "vgic", seed, cases: CASES, params: { variant: "xen-4.9" }, faults, shrinkBudget: 300, improve: 1,
    ...(out ? { out } : { signaturesOnly: true }),
  });
const runs = new Map<string, FuzzReport>();
/** the signatures of a run, computed once per seed and faults */
const run = (seed: number, faults: string[] = []): FuzzReport => {
  const k = `${seed} ${faults.join(",")}`;
  if (!runs.has(k)) runs.set(k, fresh(seed, faults));
  return runs.get(k)!;
};
const sigs = (r: FuzzReport) => Object.keys(r.signatures);
const kinds = (xs: string[]) => [...new Set(xs.map((s) => s.split(/[:@]/)[0]))].sort();

describe("signatures", () => {
  it("name a list race by its list, its operation and the Xen function, without numbers", () => {
    // the stack of xen-4.9's stale-target-inject list race (README)
    const stack = [
      "Error: IRQ 40 is on vCPU2's lr_queue list, not vCPU1's",
      "    at IrqList.del (/x/host/xen/pending.ts:90:13)",
      "    at Xen49.vgic_migrate_irq (/x/host/xen/vgic.ts:297:22)",
      "    at vgic_migrate_irq.next (<anonymous>)",
      "    at Xen49.vgic_store_itargetsr (/x/host/xen/vgic.ts:327:36)",
    ].join("\n");
    expect(exceptionSite("IRQ 40 is on vCPU2's lr_queue list, not vCPU1's", stack)).toEqual({ path: "lr_queue-del", where: "vgic_migrate_irq" });
    expect(exceptionSite("IRQ 33 is already on a inflight list").path).toBe("inflight-add-twice");
    // lock helpers are free functions, not a Xen function of the design
    const lock = "Error: x\n    at spin_lock_irqsave (/x/host/sim/lock.ts:1:1)\n    at Vgic.gic_clear_lrs (/x/host/xen/vgic.ts:2:2)";
    expect(exceptionSite("unlock of irq_desc[40].lock by pCPU1, held by pCPU0", lock))
      .toEqual({ path: "unlock of irq_desc[N].lock by pCPUN, held by pCPUN", where: "gic_clear_lrs" });
    // at most 80 characters of it
    expect(exceptionSite("XSA-223: gic_update_one_lr(d1v0, lr=2) for IRQ 40: clear_bit(2, &this_cpu(lr_mask)) writes past the mask").path)
      .toBe("XSA-223: gic_update_one_lr(dNvN, lr=N) for IRQ N: clear_bit(N, &this_cpu(lr_mask");
  });

  it("are the same for the same planted bug under two seeds", () => {
    const a = sigs(run(6, ["inflight-resort"]));
    const b = sigs(run(17, ["inflight-resort"]));
    const sig = "list-race:inflight-del@gic_raise_inflight_irq";
    expect(a).toContain(sig);
    expect(b).toContain(sig);
    for (const s of [...a, ...b]) expect(s).not.toMatch(/\d/);
  });
});

describe("a planted change against the unchanged design", () => {
  it("reports a second kind of loss as new, and nothing else", () => {
    const base = run(28);
    // xen-4.9 already loses interrupts (QUEUED on no list, acknowledged and never handled)
    expect(kinds(sigs(base))).toEqual(["lost", "stuck-active"]);
    expect(sigs(base)).toContain("lost:queued-on-no-list");
    const out = mkdtempSync(join(tmpdir(), "vgic-baseline-"));
    const planted = fresh(28, ["enable-no-physical"], out);
    const c = compareSignatures(sigs(planted), sigs(base));
    expect(c.new).toEqual(["lost:pending-not-taken"]);
    expect(c.gone).toEqual([]);
    expect(c.unchanged).toEqual(sigs(base).sort());
    // one file per signature, named by it; it replays with the planted change only
    const files = readdirSync(out).sort();
    expect(files.length).toBe(sigs(planted).length);
    const file = files.find((n) => n.startsWith("vgic-lost-pending-not-taken-"))!;
    const f = readFinding(join(out, file));
    expect(f.signature).toBe("lost:pending-not-taken");
    expect(f.repeats).toBe(planted.signatures["lost:pending-not-taken"]!.count);
    expect(f.repeats).toBeGreaterThan(1);
    expect(f.faults).toEqual(["enable-no-physical"]);
    expect(replay(f).reproduced).toBe(true);
    // without it the run takes another course: its schedule no longer fits
    // (an input error naming the schedule) or the violation is gone
    const without = (): boolean => {
      try {
        return replay({ ...f, faults: [] }).reproduced;
      } catch (e) {
        if (e instanceof FindingError && /^schedule:/.test(e.message)) return false;
        throw e;
      }
    };
    expect(without()).toBe(false);
    // a file from before signatures is signed by its invariant
    const { signature: _s, repeats: _r, ...old } = f;
    expect(parseFinding(old).signature).toBe("lost");
    // the guest enabled an SPI, the device raised it: it waits in the distributor
    const described = f.ops.map((op) => vgicTarget.describeOp(f.config as never, op as never)).join("\n");
    expect(described).toMatch(/^v\d write GICD ISENABLER\+0x10[48]\/4 = 0x[0-9a-f]+$/m);
    expect(described).toMatch(/^device raises SPI \d+/m);
    // the same comparison read back from the campaign's directory
    const dir = loadBaseline(out, "vgic");
    expect(compareSignatures(sigs(base), Object.keys(dir.signatures))).toEqual({ new: [], gone: ["lost:pending-not-taken"], unchanged: sigs(base).sort(), recounted: [] });
  });

  it("reports a list race in another function as new where the design already has a list race", () => {
    const base = run(38);
    // (and a vCPU blocked in WFI that nothing wakes: README, "lost")
    const already = ["list-race:lr_queue-del@vgic_migrate_irq", "lost:blocked-not-woken"];
    expect(sigs(base).sort()).toEqual(already);
    const planted = run(38, ["inflight-resort"]);
    const c = compareSignatures(sigs(planted), sigs(base));
    expect(c).toEqual({
      new: ["list-race:inflight-del@gic_raise_inflight_irq"], gone: [], unchanged: already, recounted: [],
    });
    expect(formatComparison(c, "variant xen-4.9", planted.signatures, base.signatures)).toEqual([
      "against variant xen-4.9: 1 new, 0 gone, 2 unchanged",
      `  new:  list-race:inflight-del@gic_raise_inflight_irq (${planted.signatures["list-race:inflight-del@gic_raise_inflight_irq"]!.count} case${planted.signatures["list-race:inflight-del@gic_raise_inflight_irq"]!.count === 1 ? "" : "s"})`,
    ]);
  });

  it("reports nothing for the unchanged design against itself, with the same counts", () => {
    const a = run(17);
    const b = fresh(17);
    expect(sigs(a).length).toBeGreaterThan(0);
    expect(compareSignatures(sigs(b), sigs(a))).toEqual({ new: [], gone: [], unchanged: sigs(a).sort(), recounted: [] });
    expect(b.signatures).toEqual(a.signatures);
  });

  it("tells a second bug whose losses take a path the design already shows by the cases it shows in", () => {
    // the seed's v3 as posted drops an lr_pending interrupt in
    // vgic_migrate_irq; its loss is acknowledged and never handled, as one
    // xen-4.9 already shows from seed 8: the signatures alone are the same
    const base = run(8);
    const planted = fresh(8, ["migrate-drops-reinject"]);
    expect(sigs(planted).sort()).toEqual(sigs(base).sort());
    expect(base.signatures["lost:acked-not-handled"]!.count).toBe(1);
    expect(planted.signatures["lost:acked-not-handled"]!.count).toBe(3);
    const b: Baseline = {
      source: "variant xen-4.9", signatures: base.signatures,
      run: { seed: 8, cases: CASES, params: { variant: "xen-4.9" }, shard: "0/1", corpus: false, budgetCases: CASES },
    };
    const o = { target: "vgic", seed: 8, cases: CASES, params: { variant: "xen-4.9" } };
    expect(countsIncomparable(b, o, planted)).toBeNull();
    const c = compareRuns(planted.signatures, b, true);
    expect(c.new).toEqual([]);
    expect(c.gone).toEqual([]);
    expect(c.recounted).toEqual(["lost:acked-not-handled", "stuck-active"]);
    expect(changed(c)).toBe(true);
    expect(formatComparison(c, "variant xen-4.9", planted.signatures, base.signatures)).toEqual([
      `against variant xen-4.9: 0 new, 0 gone, ${sigs(base).length} unchanged (2 seen in another number of cases)`,
      "  more: lost:acked-not-handled (3 cases, baseline 1)",
      "  more: stuck-active (3 cases, baseline 1)",
    ]);
    // the unchanged design against itself: the same counts
    expect(changed(compareRuns(fresh(8).signatures, b, true))).toBe(false);
    // counts mean the same only over the same cases
    expect(compareRuns(planted.signatures, b, false).recounted).toEqual([]);
    expect(countsIncomparable(b, { ...o, params: { variant: "xen-4.8" } }, planted)).toBeNull(); // the same cases under another design
    const why = (bb: Baseline, oo: object, st: FuzzReport = planted) => countsIncomparable(bb, { ...o, ...oo }, st);
    expect(why(b, { seed: 2 })).toBe("the runs ran other cases");
    expect(why(b, {}, { ...planted, cases: CASES - 1 })).toBe("the runs ran other cases");
    expect(why(b, { shard: { index: 0, count: 2 } })).toBe("the runs ran other cases");
    expect(why(b, { params: { variant: "xen-4.9", lrs: "2" } })).toBe("the runs fixed other parameters");
    expect(why(b, { corpus: "corpus/" })).toMatch(/corpus/);
    expect(why({ ...b, run: { ...b.run!, corpus: true } }, {})).toMatch(/corpus/);
    expect(why({ ...b, run: undefined }, {})).toMatch(/^the baseline's finding files do not say which cases/); // a directory of finding files
    // without --variant each case draws its design first, from the variants loaded
    expect(why(b, { params: {} })).toMatch(/without --variant/);
    expect(why({ ...b, run: { ...b.run!, params: {} } }, {})).toMatch(/without --variant/);
    // a clock ends each worker at a case of its own
    expect(why({ ...b, run: { ...b.run!, budgetCases: null } }, {})).toMatch(/--seconds/);
    expect(why(b, { cases: undefined, seconds: 10 })).toMatch(/--seconds/);
    // the hw target steers its cases by coverage: a changed model runs other cases
    expect(why(b, { target: "hw" })).toMatch(/^the hw target steers/);
  });
});

describe("from the command line", () => {
  const bundle = "build/vgic.mjs";
  const cli = (...args: string[]) => spawnSync(process.execPath, [bundle, ...args], { encoding: "utf8" });

  it("fuzz --baseline-variant: new signatures on the console with their files' operations, --json, then --baseline DIR", () => {
    const out = mkdtempSync(join(tmpdir(), "vgic-baseline-cli-"));
    const r = cli("fuzz", "--target", "vgic", "--variant", "xen-4.8", "--cases", "40", "--baseline-variant", "xen-4.9", "--out", out, "--json");
    expect(r.status, r.stderr).toBe(1);
    const rep = JSON.parse(r.stdout) as {
      format: string; signatures: Array<{ signature: string; count: number; file: string }>;
      baseline: { source: string; new: Array<{ signature: string; file: string }>; gone: unknown[]; unchanged: unknown[] };
    };
    expect(rep.format).toBe("vgic-fuzz-report");
    expect(rep.baseline.source).toBe("variant xen-4.9");
    // xen-4.8's rank/vgic inversion is what xen-4.9 removed
    expect(rep.baseline.new.map((s) => s.signature)).toContain("lock-inversion-rank-vgic");
    expect(rep.baseline.gone).toEqual([]);
    // each new signature's last console block lists exactly its file's operations
    const blocks = r.stderr.split(/\n(?=finding |smaller case for )/);
    for (const n of rep.baseline.new) {
      const f = readFinding(n.file);
      const mine = blocks.filter((b) => b.startsWith(`finding ${n.signature}:`) || b.startsWith(`smaller case for ${n.signature}:`));
      expect(mine.length).toBeGreaterThan(0);
      const shown = mine[mine.length - 1]!.split("\n").filter((l) => /^ {2}#\d+ /.test(l)).map((l) => l.trim());
      expect(shown).toEqual(f.ops.map((op, i) => `#${i} ${vgicTarget.describeOp(f.config as never, op as never)}`));
    }
    // the campaign's directory as the baseline of the same run: nothing new, exit 0
    const again = cli("fuzz", "--target", "vgic", "--variant", "xen-4.8", "--cases", "40", "--seconds", "600", "--baseline", out);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`against ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: 0 new, 0 gone, ${rep.signatures.length} unchanged\\n$`));
    expect(again.stderr).not.toMatch(/^finding /m);
    // finding files do not say which cases ran: their counts are not compared, and it is said
    expect(again.stderr).toMatch(/^note: the cases each signature showed in were not compared: the baseline's finding files do not say which cases their run ran \(give a --json report\); a second bug whose findings share a signature with the baseline's goes unseen$/m);
    // the --json report is a baseline too
    const report = join(out, "..", `${out.split("/").pop()}-report.json`);
    writeFileSync(report, r.stdout);
    const fromReport = loadBaseline(report, "vgic");
    expect(fromReport.signatures).toEqual(Object.fromEntries(rep.signatures.map(({ signature, ...rest }) => [signature, rest])));
    // a report knows its seed and budget: another budget is pointed out
    expect(fromReport.run).toEqual({ seed: 0, cases: 40, params: { variant: "xen-4.8" }, shard: "0/1", corpus: false, budgetCases: 40 });
    // a report of the same cases with another count for one signature: the
    // run fails and says which (an earlier --baseline passed it)
    const recount = rep.signatures[0]!;
    const edited = join(out, "..", `${out.split("/").pop()}-recount.json`);
    writeFileSync(edited, JSON.stringify({ ...JSON.parse(r.stdout), signatures: rep.signatures.map((s) => (s === recount ? { ...s, count: s.count + 1 } : s)) }));
    const more = cli("fuzz", "--target", "vgic", "--variant", "xen-4.8", "--cases", "40", "--seconds", "600", "--out", out, "--baseline", edited, "--json");
    expect(more.status, more.stderr).toBe(1);
    const mj = JSON.parse(more.stdout) as { baseline: { new: unknown[]; gone: unknown[]; recounted: Array<{ signature: string; count: number; baselineCount: number }> } };
    expect(mj.baseline.new).toEqual([]);
    expect(mj.baseline.gone).toEqual([]);
    expect(mj.baseline.recounted.map((x) => [x.signature, x.count, x.baselineCount])).toEqual([[recount.signature, recount.count, recount.count + 1]]);
    const o = { target: "vgic", seed: 0 };
    const stats = (cases: number) => ({ cases, ops: 0, findings: 0, duplicates: 0, corpusAdded: 0, coverage: 0, elapsedMs: 0, signatures: {}, violating: [] });
    expect(budgetWarning(fromReport, o, stats(40))).toBeNull();
    expect(budgetWarning(fromReport, o, stats(35))).toMatch(/^note: the baseline ran 40 cases from seed 0, this run 35 from seed 0: /);
    // a shard runs other cases than the whole run: pointed out too (it was not)
    expect(budgetWarning(fromReport, { ...o, shard: { index: 1, count: 2 } }, stats(40)))
      .toMatch(/^note: the baseline ran 40 cases from seed 0, this run 40 from seed 0 \(shard 1\/2\): .*--shard\)$/);
    expect(budgetWarning({ ...fromReport, run: { ...fromReport.run!, shard: "1/2" } }, { ...o, shard: { index: 1, count: 2 } }, stats(40))).toBeNull();
  });

  it("fuzz refuses bad baselines and combinations before running", () => {
    const bad = (args: string[], msg: RegExp) => {
      const r = cli("fuzz", "--target", "vgic", ...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(msg);
    };
    bad(["--variant", "xen-4.8", "--baseline-variant", "xen-4.9"], /--baseline-variant: needs --cases N/);
    bad(["--baseline-variant", "xen-4.9", "--cases", "5"], /--baseline-variant: needs --variant/);
    bad(["--variant", "xen-4.8", "--cases", "5", "--baseline-variant", "xen-5"], /--baseline-variant: unknown variant 'xen-5'/);
    bad(["--variant", "xen-4.8", "--cases", "5", "--baseline", "/nonexistent/dir"], /--baseline: got "\/nonexistent\/dir", expected an existing file or directory/);
    const dir = mkdtempSync(join(tmpdir(), "vgic-baseline-bad-"));
    const file = join(dir, "x.json");
    writeFileSync(file, JSON.stringify({ format: "vgic-fuzz-report", version: 1, target: "vgic", signatures: [{ signature: "", invariant: "lost" }] }));
    bad(["--cases", "5", "--baseline", file], /x\.json: signatures\[0\]\.signature: got "", expected a non-empty string/);
    writeFileSync(file, "{}");
    bad(["--cases", "5", "--baseline", file], /x\.json: format: got undefined, expected "vgic-fuzz-finding"/);
  });

  it("explore --matrix: against its own --json nothing is new; xen-4.9 against xen-4.8 has lost 4.8's deadlocks", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-matrix-baseline-"));
    const m = (...args: string[]) => cli("explore", "--matrix", "--budget", "20", ...args);
    const a = m("--variant", "xen-4.8", "--json");
    expect(a.status, a.stderr).toBe(1); // xen-4.8 fails cells of the matrix

    const file = join(dir, "m.json");
    writeFileSync(file, a.stdout);
    const base = loadMatrixBaseline(file);
    expect(base).toContainEqual({ scenario: "rank-abba", variant: "xen-4.8", signature: "deadlock:rank-vgic" });
    const same = m("--variant", "xen-4.8", "--baseline", file);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toMatch(new RegExp(`against .*m\\.json: 0 new, 0 gone, ${base.length} unchanged\n$`));
    const vs = m("--variant", "xen-4.9", "--baseline-variant", "xen-4.8", "--json");
    expect(vs.status, vs.stderr).toBe(1);
    const j = JSON.parse(vs.stdout) as { baseline: { source: string; gone: unknown[] } };
    expect(j.baseline.source).toBe("variant xen-4.8");
    // the rank/vgic ABBA of the seed thread is gone in 4.9
    expect(j.baseline.gone).toContainEqual({ scenario: "rank-abba", variant: "xen-4.9", signature: "deadlock:rank-vgic" });
    expect(cli("explore", "rank-abba", "--baseline", file).status).toBe(2);
  });

  it("compares matrix cells by scenario, variant and signature", () => {
    const c = (scenario: string, signature: string) => ({ scenario, variant: "v", signature });
    const ran = [{ scenario: "a", variant: "v" }, { scenario: "b", variant: "v" }];
    expect(compareCells([c("a", "lost:queued-on-no-list"), c("b", "deadlock:rank")], [c("a", "lost:queued-on-no-list"), c("a", "deadlock:rank")], ran))
      .toEqual({ new: [c("b", "deadlock:rank")], gone: [c("a", "deadlock:rank")], unchanged: [c("a", "lost:queued-on-no-list")] });
    // a baseline cell not explored this time is neither gone nor unchanged
    expect(compareCells([c("a", "lost:queued-on-no-list")], [c("a", "lost:queued-on-no-list"), c("z", "deadlock:rank")], ran.slice(0, 1)))
      .toEqual({ new: [], gone: [], unchanged: [c("a", "lost:queued-on-no-list")] });
  });

  it("explore --matrix SCENARIO against a whole matrix's baseline compares that row only", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-row-"));
    const whole = join(dir, "whole.json");
    const full = cli("explore", "--matrix", "--variant", "xen-4.8", "--budget", "300", "--bound", "1", "--json");
    writeFileSync(whole, full.stdout);
    // rank-abba's row against the matrix: its cell is unchanged, and the
    // other scenarios' cells, not explored, are not "gone" (they were, and
    // exit 1: with a baseline only a change fails the run)
    const row = cli("explore", "--matrix", "rank-abba", "--variant", "xen-4.8", "--budget", "300", "--bound", "1", "--baseline", whole);
    expect(row.stdout).toMatch(/against .*whole\.json: 0 new, 0 gone, \d+ unchanged/);
    expect(row.status, row.stdout).toBe(0);
    // and the other way round: the whole matrix against one row's JSON
    // compares that row (the other rows' findings were called new, exit 1)
    const rowJson = join(dir, "row.json");
    writeFileSync(rowJson, cli("explore", "--matrix", "rank-abba", "--variant", "xen-4.8", "--budget", "300", "--bound", "1", "--json").stdout);
    const back = cli("explore", "--matrix", "--variant", "xen-4.8", "--budget", "300", "--bound", "1", "--baseline", rowJson);
    expect(back.stdout).toMatch(/against .*row\.json: 0 new, 0 gone, \d+ unchanged/);
    expect(back.status, back.stdout).toBe(0);
    expect(back.stderr).not.toMatch(/^note:/m);
    // a baseline searched otherwise (bound 1, this run 0) is pointed out
    const narrower = cli("explore", "--matrix", "rank-abba", "--variant", "xen-4.8", "--budget", "300", "--bound", "0", "--baseline", rowJson);
    expect(narrower.stderr).toMatch(/^note: the baseline was explored with bound 1, this run with bound 0: what is new or gone may come from the search, not the design$/m);
    // a merge of shards takes what it ran from them: a baseline is refused
    const m = cli("explore", "--merge", dir, "--baseline", whole);
    expect(m.status).toBe(2);
    expect(m.stderr).toBe("vgic explore: --merge: --baseline not expected: the shards' documents say what the campaign ran\n");
  });
});
