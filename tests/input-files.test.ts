// Input files, whatever command reads them: JSON with a UTF-8 byte order
// mark is read (RFC 8259 section 8.1 lets a parser ignore it); a syntax
// error names the line and column and what was expected there, never the
// text; a field a format does not define is refused, naming the file, the
// field's path and the fields the object has, while every field vgic-lab
// writes (and wrote, and `$schema`) is accepted; an empty file, a
// directory, a top-level array and a field of the wrong type are each
// refused with what was expected. The command-line side (exit status 2,
// one line) is in hostile.test.ts.

import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJson, jsonSyntaxError, JsonSyntaxError } from "../host/io/text.ts";
import { InputError, readJsonFile } from "../host/io/input.ts";
import { FindingError } from "../host/fuzz/target.ts";
import { loadBaseline, loadCorpus, parseFinding, readFinding, hwTarget } from "../host/fuzz/index.ts";
import { parseReplayFile, ReplayFileError } from "../host/explore/replay.ts";
import { readMatrixBaseline } from "../host/explore/baseline.ts";
import { parseWorkload, WorkloadError } from "../host/workload/schema.ts";
import { parseBenchResult } from "../host/bench/result.ts";
import { checkAgainst } from "../host/io/issues.ts";
import { FuzzOutput } from "../host/fuzz/output.ts";

const root = new URL("..", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "vgic-input-"));
const text = (p: string) => readFileSync(join(root, p), "utf8");
const obj = (p: string) => JSON.parse(text(p)) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const BOM = "\ufeff";
let n = 0;
/** a file in the temporary directory holding `content` */
function file(content: string, name = `f${n++}.json`): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}
/** the error `f` throws */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

describe("JSON syntax: a byte order mark is ignored, every error has its line and column", () => {
  it("a UTF-8 byte order mark at the start is not part of the document", () => {
    expect(parseJson(`${BOM}{"a": [1, 2]}`)).toEqual({ a: [1, 2] });
    // only at the start: elsewhere it is a character like any other
    expect(parseJson(`["${BOM}"]`)).toEqual([BOM]);
    const e = thrown(() => parseJson(`{"a": ${BOM}1}`));
    expect(e.message).toBe("not valid JSON: expected a value (an object, array, string, number, true, false or null), got '\\ufeff' (at line 1, column 7)");
    // columns after a mark count from the first character an editor shows
    expect(thrown(() => parseJson(`${BOM}{"a" 1}`)).message).toMatch(/\(at line 1, column 6\)$/);
  });

  // text, what was expected, line, column: worked out by hand
  const CASES: Array<[string, string, number, number]> = [
    ["", "the text is empty, expected a JSON value", 1, 1],
    ["  \n\n ", "the text is empty, expected a JSON value", 3, 2],
    ['{"a": 1', "expected ',' or '}' after a property value, got the end of the text", 1, 8],
    ['{\n  "a": [1, 2\n  "b": 3\n}', "expected ',' or ']' after an array element, got '\"'", 3, 3],
    ['{"a": }', "expected a value (an object, array, string, number, true, false or null), got '}'", 1, 7],
    ['{"a" 1}', "expected ':' after a property name, got '1'", 1, 6],
    ["{'a': 1}", "expected a property name in double quotes or '}', got '''", 1, 2],
    ['{"a": 1,}', "expected a property name in double quotes, got '}'", 1, 9],
    ["[1, 2,]", "expected a value (an object, array, string, number, true, false or null), got ']'", 1, 7],
    ['{"a": tru}', "expected a value (an object, array, string, number, true, false or null), got 't'", 1, 7],
    ['"abc', 'expected the closing " of a string, got the end of the text', 1, 5],
    ['{"a":\n"x\ty"}', "a control character in a string, expected it escaped (\\n, \\t, \\u0000) or the string closed", 2, 3],
    ['["\\q"]', "expected an escape of \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX", 1, 3],
    ['["\\u12"]', "expected \\u and four hexadecimal digits", 1, 3],
    ["01", "expected the end of the text after the JSON value, got '1'", 1, 2],
    ["[-]", "expected a digit, got ']'", 1, 3],
    ["[1.]", "expected a digit after the decimal point, got ']'", 1, 4],
    ["[1e+]", "expected a digit of the exponent, got ']'", 1, 5],
    ["{} {}", "expected the end of the text after the JSON value, got '{'", 1, 4],
    ["[[1], [2]", "expected ',' or ']' after an array element, got the end of the text", 1, 10],
    ["\u001b[31m", "expected a value (an object, array, string, number, true, false or null), got '\\x1b'", 1, 1],
  ];
  for (const [t, reason, line, column] of CASES) {
    it(`${JSON.stringify(t)}: ${reason}`, () => {
      const e = thrown(() => parseJson(t));
      expect(e).toBeInstanceOf(JsonSyntaxError);
      expect(e.message).toBe(`not valid JSON: ${reason} (at line ${line}, column ${column})`);
      expect(() => JSON.parse(t)).toThrow(); // the cases are invalid for JSON.parse too
    });
  }

  it("the scan agrees with JSON.parse on every cut and on single-character changes of real files", () => {
    const files = ["workloads/seed-migrate.json", "tests/hostile/finding-vgic.json", "tests/hostile/counterexample.json", "schemas/fuzz.schema.json"];
    const valid = (t: string) => {
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    };
    let checked = 0;
    for (const f of files) {
      const t = text(f);
      expect(jsonSyntaxError(t), f).toBeNull();
      const step = Math.max(1, Math.floor(t.length / 300));
      for (let i = 0; i < t.length; i += step) {
        for (const m of [t.slice(0, i), t.slice(0, i) + t.slice(i + 1), t.slice(0, i) + "}" + t.slice(i), t.slice(0, i) + "\"" + t.slice(i + 1)]) {
          const err = jsonSyntaxError(m);
          expect(err === null, `${f}, change at ${i}`).toBe(valid(m));
          if (err !== null) {
            expect(err.offset).toBeGreaterThanOrEqual(0);
            expect(err.offset).toBeLessThanOrEqual(m.length);
          }
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(4000);
  });

  it("every reader reads a file with a byte order mark", () => {
    const bom = (p: string) => file(BOM + text(p));
    expect(readJsonFile(bom("tests/hostile/finding-hw.json"))).toEqual(obj("tests/hostile/finding-hw.json"));
    expect(readFinding(bom("tests/hostile/finding-vgic.json")).signature).toBe("lock-inversion-rank-vgic");
    expect(parseReplayFile(BOM + text("tests/hostile/counterexample.json"), "c.json").scenario).toBe("rank-abba");
    expect(parseWorkload(BOM + text("workloads/idle-timer.json"), "w.json").name).toBe(obj("workloads/idle-timer.json").name);
    expect(readMatrixBaseline(bom("tests/hostile/counterexample.json")).signatures.length).toBeGreaterThan(0);
    expect(Object.keys(loadBaseline(bom("tests/hostile/finding-vgic.json"), "vgic").signatures)).toEqual(["lock-inversion-rank-vgic"]);
  });
});

describe("files that are not a document", () => {
  const dir = join(tmp, "a-directory.json");
  mkdirSync(dir);
  const empty = file("", "empty.json");
  const cut = file(text("tests/hostile/finding-vgic.json").slice(0, 200), "cut.json");
  const list = file("[1, 2]", "list.json");

  it("an empty file, a directory, a missing file, a truncated one: the file and what is wrong, with line and column", () => {
    expect(thrown(() => readJsonFile(empty)).message).toBe(`${empty}: not valid JSON: the text is empty, expected a JSON value (at line 1, column 1)`);
    expect(thrown(() => readJsonFile(dir)).message).toBe(`${dir}: a directory, expected a file`);
    expect(thrown(() => readJsonFile(join(tmp, "nothing.json"))).message).toBe(`${join(tmp, "nothing.json")}: no such file`);
    expect(thrown(() => readJsonFile(join(empty, "x.json"))).message).toBe(`${join(empty, "x.json")}: no such file (a part of the path is a file, not a directory)`);
    // the first 200 characters end in the indentation of line 14, after `"placement": [0, 1],`
    expect(thrown(() => readJsonFile(cut)).message).toBe(`${cut}: not valid JSON: expected a property name in double quotes, got the end of the text (at line 14, column 5)`);
    for (const f of [empty, dir, cut]) expect(thrown(() => readJsonFile(f))).toBeInstanceOf(InputError);
  });

  it("a top-level array: each reader says it expected an object", () => {
    expect(thrown(() => readFinding(list)).message).toBe(`${list}: (root): got [1,2], expected a JSON object (a finding file)`);
    expect(thrown(() => parseReplayFile("[1, 2]", "c.json")).message).toBe("c.json: expected a JSON object (a counterexample), got an array");
    expect(thrown(() => parseWorkload("[1, 2]", "w.json")).message).toBe("w.json: (root): got [1,2], expected a value of type object");
    expect(thrown(() => loadBaseline(list, "vgic")).message).toBe(`${list}: (root): got [1,2], expected a JSON object: a finding file or a report of vgic fuzz --json`);
    expect(thrown(() => parseBenchResult([1, 2], "b.json")).message).toBe("b.json: (root): got [1,2], expected a value of type object");
    expect(thrown(() => readMatrixBaseline(list)).message).toBe(`${list}: expected a counterexample file (format "vgic-lab-counterexample") or the output of vgic explore --matrix --json (an object with 'cells'), got an array`);
  });
});

describe("finding files: no field the format does not define", () => {
  const hw = () => obj("tests/hostile/finding-hw.json");
  const vgic = () => obj("tests/hostile/finding-vgic.json");
  const err = (f: unknown) => thrown(() => parseFinding(f)) as FindingError;

  it("a misspelt field anywhere is refused, naming its path and the fields there", () => {
    const top = err({ ...hw(), seeed: 5 });
    expect(top).toBeInstanceOf(FindingError);
    expect(top.message).toBe('seeed: got 5, expected no field "seeed": a finding has the fields $schema, format, version, vgicLab, target, seed, case, ' +
      "config, faults, ops, violation, signature, repeats, trace, originalOps, schedule, narrative");
    const cases: Array<[(f: Record<string, any>) => void, RegExp]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      [(f) => { f.violation.opp = 2; }, /^violation\.opp: got 2, expected no field "opp": a violation has the fields invariant, message, op$/],
      [(f) => { f.config.cpuz = 2; }, /^config\.cpuz: got 2, expected no field "cpuz": an hw configuration has the fields cpus, irqs, /],
      [(f) => { f.ops[0].valeu = 3; }, /^ops\[0\]\.valeu: got 3, expected no field "valeu": a write has the fields t, cpu, addr, value, size$/],
      [(f) => { f.ops[2].value = 3; }, /^ops\[2\]\.value: got 3, expected no field "value": a read has the fields t, cpu, addr, size$/],
      [(f) => { f.ops[1].cpus = 1; }, /^ops\[1\]\.cpus: got 1, expected no field "cpus": a line operation has the fields t, irq, level, cpu$/],
    ];
    for (const [change, says] of cases) {
      const f = hw();
      change(f);
      expect(err(f).message).toMatch(says);
    }
    const vcases: Array<[(f: Record<string, any>) => void, RegExp]> = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      [(f) => { f.config.maxStep = 9; }, /^config\.maxStep: got 9, expected no field "maxStep": a vgic configuration has the fields variant, pcpus, placement, listRegisters, spis, sched, maxSteps, timeSlice, gicLatency$/],
      [(f) => { f.config.spis[1].prio = 9; }, /^config\.spis\[1\]\.prio: got 9, expected no field "prio": an SPI has the fields irq, target, priority, enabled$/],
      [(f) => { f.config.sched.sed = 9; }, /^config\.sched\.sed: got 9, expected no field "sed": a scheduler has the fields kind, seed, depth$/],
      [(f) => { f.ops[1].gaps = 9; }, /^ops\[1\]\.gaps: got 9, expected no field "gaps": a "raise" operation has the fields v, t, irq, gap$/],
      [(f) => { f.ops[0].offset = 9; }, /^ops\[0\]\.offset: got 9, expected no field "offset": a "w" operation has the fields v, t, off, size, value$/],
      [(f) => { f.schedule.pick = f.schedule.picks; delete f.schedule.picks; }, /^schedule\.pick: got \[2,2,1,.*\(117 characters\), expected no field "pick": a schedule has the fields v, picks$/],
    ];
    for (const [change, says] of vcases) {
      const f = vgic();
      change(f);
      expect(err(f).message).toMatch(says);
    }
  });

  it("every field vgic-lab writes is read: $schema, and files written before signatures, repeats and vgicLab existed", () => {
    // finding-hw.json has none of vgicLab, signature, repeats, schedule, narrative
    for (const k of ["vgicLab", "signature", "repeats", "schedule", "narrative"]) expect(hw()).not.toHaveProperty(k);
    expect(parseFinding(hw()).signature).toBe("iar-not-routed");
    const all = { ...vgic(), $schema: "https://example.org/finding.json", vgicLab: "0.1.0", signature: "lock-inversion-rank-vgic", repeats: 3 };
    const f = parseFinding(all);
    expect(f.repeats).toBe(3);
    expect(f.narrative).toEqual(vgic().narrative);
  });

  it("informational fields of the wrong type are refused rather than dropped", () => {
    expect(err({ ...hw(), trace: 5 }).message).toBe("trace: got 5, expected an array of strings");
    expect(err({ ...hw(), narrative: ["a", 1] }).message).toBe('narrative: got ["a",1], expected an array of strings');
    expect(err({ ...hw(), originalOps: "3" }).message).toBe('originalOps: got "3", expected a non-negative integer');
    expect(err({ ...hw(), vgicLab: 1 }).message).toBe("vgicLab: got 1, expected a version string");
  });

  it("read from a file, the error names the file; a corpus entry is held to its fields too", () => {
    const p = file(JSON.stringify({ ...hw(), seeed: 5 }));
    expect(thrown(() => readFinding(p)).message).toMatch(new RegExp(`^${p}: seeed: got 5, expected no field "seeed"`));
    const corpus = join(tmp, "corpus");
    mkdirSync(corpus);
    const h = hw();
    writeFileSync(join(corpus, "hw-1.json"), JSON.stringify({ target: "hw", config: h.config, ops: h.ops, seed: 1 }));
    expect(thrown(() => loadCorpus(hwTarget, corpus)).message).toMatch(/^--corpus .*hw-1\.json: seed: got 1, expected no field "seed": a corpus entry has the fields target, config, ops$/);
    writeFileSync(join(corpus, "hw-1.json"), JSON.stringify({ target: "hw", config: h.config, ops: h.ops }));
    expect(loadCorpus(hwTarget, corpus)).toHaveLength(1);
  });
});

describe("counterexample files: no field the format does not define", () => {
  const good = () => obj("tests/hostile/counterexample.json");
  const err = (o: unknown) => thrown(() => parseReplayFile(JSON.stringify(o), "c.json"));

  it("a misspelt field at the top or in a finding is refused, naming the fields", () => {
    const e = err({ ...good(), sceanrio: "rank-abba" });
    expect(e).toBeInstanceOf(ReplayFileError);
    expect(e.message).toBe(`c.json: field 'sceanrio': expected no field "sceanrio": a counterexample has the fields $schema, format, version, vgicLab, ` +
      `scenario, variant, schedule, preemptions, steps, findings, traceHash, memory, lockBarrier, gicLatency, got "rank-abba"`);
    const f = good();
    f.findings[1].kindd = "x";
    expect(err(f).message).toBe(`c.json: field 'findings[1].kindd': expected no field "kindd": a finding has the fields kind, message, path, where, got "x"`);
    expect(err({ ...good(), vgicLab: 7 }).message).toBe("c.json: field 'vgicLab': expected a version string, if present, got 7");
  });

  it("every field vgic-lab writes is read, and $schema", () => {
    const f = good();
    f.findings[0] = { ...f.findings[0], path: "p", where: "w" };
    const all = { ...f, $schema: "x", vgicLab: "0.1.0", memory: "weak", lockBarrier: "acq-rel", gicLatency: 300 };
    expect(parseReplayFile(JSON.stringify(all), "c.json").lockBarrier).toBe("acq-rel");
    expect(parseReplayFile(JSON.stringify(all), "c.json").gicLatency).toBe(300);
    // a latency is cycles, at least 1 (none: no field)
    for (const bad of [0, -1, 2.5, "300", 2_000_000]) {
      expect(() => parseReplayFile(JSON.stringify({ ...f, gicLatency: bad }), "c.json")).toThrow(/^c\.json: field 'gicLatency': expected cycles, an integer from 1 to 1000000, or no field \(none\), got /);
    }
  });
});

/** a report of vgic fuzz --json, made by hand */
const REPORT = {
  format: "vgic-fuzz-report", version: 1, vgicLab: "0.1.0", target: "vgic", seed: 1, params: { variant: "xen-4.9" }, cases: 10, ops: 100,
  elapsedMs: 5, execsPerSec: 2, opsPerSec: 20, duplicates: 0,
  signatures: [{ signature: "lost:x", invariant: "lost", count: 2, file: null }],
  findings: [], coverage: { total: 0, families: {}, features: [] },
};

describe("--baseline documents: the fields of their published schema, no other", () => {
  const report = REPORT;

  it("a fuzz report (schemas/fuzz.schema.json): read, and a stray field at the top or in a signature refused", () => {
    // the hand-made report is one the published schema accepts
    const schema = JSON.parse(text("schemas/fuzz.schema.json")) as { required: string[]; properties: Record<string, unknown>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    for (const k of schema.required) expect(report).toHaveProperty(k);
    expect(loadBaseline(file(JSON.stringify(report)), "vgic").signatures["lost:x"]).toEqual({ invariant: "lost", count: 2, file: null });
    const top = file(JSON.stringify({ ...report, sed: 1 }));
    expect(thrown(() => loadBaseline(top, "vgic")).message).toBe(`${top}: sed: got 1, expected no field "sed": a vgic fuzz --json report has the fields ${Object.keys(schema.properties).join(", ")}`);
    const sig = file(JSON.stringify({ ...report, signatures: [{ ...report.signatures[0], cnt: 1 }] }));
    expect(thrown(() => loadBaseline(sig, "vgic")).message).toBe(`${sig}: signatures[0].cnt: got 1, expected no field "cnt": a signature entry has the fields signature, invariant, count, file`);
    const count = file(JSON.stringify({ ...report, signatures: [{ ...report.signatures[0], count: "2" }] }));
    expect(thrown(() => loadBaseline(count, "vgic")).message).toBe(`${count}: signatures[0].count: got "2", expected a non-negative integer`);
  });

  it("an explore matrix (schemas/explore-matrix.schema.json): a stray field at the top or in a finding refused; a cell may hold more", () => {
    const schema = JSON.parse(text("schemas/explore-matrix.schema.json")) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    const cell = {
      scenario: "rank-abba", variant: "xen-4.8", strategy: "dfs", schedules: 3, exhausted: false, elapsedMs: 1, schedulesPerSecond: 3, signatures: ["deadlock"],
      counterexample: { schedule: "0", preemptions: 0, picks: 1, steps: 1, findings: [{ kind: "deadlock", message: "m" }], traceHash: "h" },
    };
    const doc = { format: "vgic-explore-matrix/1", vgicLab: "0.1.0", wallMs: 1, workers: 1, cells: [cell] };
    expect(readMatrixBaseline(file(JSON.stringify(doc))).signatures).toEqual([{ scenario: "rank-abba", variant: "xen-4.8", signature: "deadlock" }]);
    // cells are open objects in the schema (additionalProperties not false): the reader agrees
    expect(readMatrixBaseline(file(JSON.stringify({ ...doc, cells: [{ ...cell, note: 1 }] }))).signatures).toHaveLength(1);
    const top = file(JSON.stringify({ ...doc, cellz: [] }));
    expect(thrown(() => readMatrixBaseline(top)).message).toBe(`${top}: field 'cellz': expected no field "cellz": a vgic explore --matrix --json document has the fields ${Object.keys(schema.properties).join(", ")}`);
    const kind = file(JSON.stringify({ ...doc, cells: [{ ...cell, counterexample: { ...cell.counterexample, findings: [{ kind: "deadlock", message: "m", knd: 1 }] } }] }));
    expect(thrown(() => readMatrixBaseline(kind)).message).toMatch(/field 'cells\[0\]\.counterexample\.findings\[0\]\.knd': expected no field "knd": a finding has the fields kind, message, path, where, irq, vcpu, got 1$/);
  });
});

describe("zod-checked files (workload, bench --compare, report, --merge): a stray field names the fields there", () => {
  it("a key or value with control or direction characters is shown escaped, never raw on the terminal", () => {
    const w = obj("workloads/idle-timer.json");
    const key = "\u009b2J\u202e";
    const e = thrown(() => parseWorkload(JSON.stringify({ ...w, [key]: 1 }), "w.json"));
    expect(e.message).toBe('w.json: \\u009b2J\\u202e: got 1, expected no field "\\u009b2J\\u202e": the fields here are $schema, name, description, machine, variant, guest, devices, affinity, migrations, duration, seed');
    const v = thrown(() => parseWorkload(JSON.stringify({ ...w, name: 7, description: "x" }), "w.json"));
    expect(v.message).toMatch(/^w\.json: name: got 7, expected/);
    const bad = thrown(() => parseWorkload(JSON.stringify({ ...w, machine: { ...w.machine, pcpus: "\u009b\u202e" } }), "w.json"));
    expect(bad.message).toMatch(/^w\.json: machine\.pcpus: got "\\u009b\\u202e", expected /);
    expect(bad.message).not.toMatch(/[\u0080-\u009f\u202a-\u202e]/);
  });

  it("the fields of the object the stray field is in, a union's by the option the value is", () => {
    const w = obj("workloads/idle-timer.json");
    const e = thrown(() => parseWorkload(JSON.stringify({ ...w, seeed: 1 }), "w.json"));
    expect(e).toBeInstanceOf(WorkloadError);
    expect(e.message).toBe('w.json: seeed: got 1, expected no field "seeed": the fields here are $schema, name, description, machine, variant, guest, devices, affinity, migrations, duration, seed');
    // a misspelt required field is named as the typo, not as the field missing
    const { name, ...unnamed } = w;
    expect(thrown(() => parseWorkload(JSON.stringify({ ...unnamed, nmae: name }), "w.json")).message).toMatch(/^w\.json: nmae: got ".*", expected no field "nmae": the fields here are \$schema, name, /);
    const d = { ...w, devices: [{ ...w.devices[0], perod: 5 }] };
    expect(w.devices[0].type).toBe("timer");
    expect(thrown(() => parseWorkload(JSON.stringify(d), "w.json")).message).toBe('w.json: devices[0].perod: got 5, expected no field "perod": the fields here are type, name, period, vcpus, handlerCycles');
    // a --merge shard: a fuzz report with a stray field in a signature
    const shard = { ...REPORT, signatures: [{ ...REPORT.signatures[0], cnt: 1 }] };
    expect(checkAgainst(FuzzOutput, shard)).toEqual({
      message: 'signatures[0].cnt: got 1, expected no field "cnt": the fields here are signature, invariant, count, file',
      issue: { field: "signatures[0].cnt", value: 1, expected: 'no field "cnt": the fields here are signature, invariant, count, file' },
    });
    expect(checkAgainst(FuzzOutput, REPORT)).toHaveProperty("data");
  });
});
