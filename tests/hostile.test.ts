// Hostile inputs from the command line: every bad file and argument gets a
// message naming the file, the field or the option and what was expected,
// with exit status 2 (README: exit codes), and nothing crashes, hangs or runs
// out of memory. The files are the hostile-input corpus in tests/hostile/
// (tampered copies of a real finding and counterexample next to the valid
// originals, which show the tampering is what is refused); inputs too large
// to keep (deep nesting, huge scripts) are made here. counterexample.json is
// `vgic explore rank-abba --variant xen-4.8`'s file: a change of that run's
// trace changes its traceHash (and the tampered copies' only by inheritance).

import { describe, expect, it } from "vitest";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../host/workload/command.ts";

const root = new URL("..", import.meta.url).pathname;
const cli = join(root, "build", "vgic.mjs");
const H = "tests/hostile";
const tmp = mkdtempSync(join(tmpdir(), "vgic-hostile-"));

interface Out { status: number | null; stdout: string; stderr: string }

/** `vgic ARGS`: `run` in this process (its command takes an io), the other
 *  commands in a child process. */
function vgic(args: string[], nodeArgs: string[] = []): Promise<Out> {
  if (args[0] === "run" && nodeArgs.length === 0) {
    const o = { stdout: "", stderr: "" };
    return runCommand(args.slice(1), { out: (x) => { o.stdout += x; }, err: (x) => { o.stderr += x; }, tty: false })
      .then((status) => ({ status, ...o }));
  }
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  return new Promise((done) => {
    execFile(process.execPath, [...nodeArgs, cli, ...args], { cwd: root, encoding: "utf8", timeout: 60_000, maxBuffer: 1 << 26 },
      (err, stdout, stderr) => done({ status: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr }));
  });
}

// inputs made here
const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
const deepWorkload = join(tmp, "deep-workload.json");
writeFileSync(deepWorkload, `{"name": "deep", "machine": ${deep(100_000)}}`);
const deepFinding = join(tmp, "deep-finding.json");
writeFileSync(deepFinding, `{"format": "vgic-fuzz-finding", "version": 1, "target": "vgic", "config": ${deep(100_000)}}`);
const deepCounterexample = join(tmp, "deep-counterexample.json");
writeFileSync(deepCounterexample, `{"format": "vgic-lab-counterexample", "findings": ${deep(100_000)}}`);
const blank = join(tmp, "blank.gic");
writeFileSync(blank, Buffer.concat([Buffer.from("r32 0x08000004\n"), Buffer.alloc(16 << 20, 0x0a), Buffer.from("r32 0x08000004\n")]));
const longLine = join(tmp, "long.gic");
writeFileSync(longLine, `r32 ${"9".repeat(10 << 20)}\n`);
const huge = join(tmp, "huge.json");
writeFileSync(huge, Buffer.alloc(17 << 20, 0x20));
const aFile = join(tmp, "a-file");
writeFileSync(aFile, "not a directory\n");
const W = `${H}/workload-small.json`;
// the same readers for every kind of file: a byte order mark (accepted), a
// field the format does not define, an empty file, a directory, a list
const BOM = "\ufeff";
const hostile = (name: string) => readFileSync(join(root, H, name), "utf8");
const made = (name: string, content: string) => {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
};
const bomFinding = made("bom-finding.json", BOM + hostile("finding-vgic.json"));
const bomCounterexample = made("bom-counterexample.json", BOM + hostile("counterexample.json"));
const bomWorkload = made("bom-workload.json", BOM + hostile("workload-small.json"));
const bomBench = made("bom-bench.json", `${BOM}{"format": 5}`);
const strayFinding = made("stray-finding.json", JSON.stringify({ ...JSON.parse(hostile("finding-vgic.json")), seeed: 1 }));
const strayCounterexample = made("stray-counterexample.json", JSON.stringify({ ...JSON.parse(hostile("counterexample.json")), seeed: 1 }));
const emptyJson = made("empty.json", "");
const listJson = made("list.json", "[]\n");
const cutJson = made("cut.json", hostile("counterexample.json").slice(0, 120));
const aDir = join(tmp, "a-dir.json");
mkdirSync(aDir);
const EMPTY = "not valid JSON: the text is empty, expected a JSON value \\(at line 1, column 1\\)\n$";

interface Case {
  what: string;
  args: string[];
  status: number;
  /** stderr matches (or stdout, for a status other than 2) */
  says: RegExp;
  node?: string[];
}

const CASES: Case[] = [
  // a UTF-8 byte order mark is read past (RFC 8259 8.1); it was "not valid JSON" without a position
  { what: "finding with a byte order mark", args: ["fuzz", "--replay", bomFinding], status: 1, says: /^reproduced: lock-inversion-rank-vgic at operation 2/ },
  { what: "counterexample with a byte order mark", args: ["explore", "--replay", bomCounterexample], status: 1, says: /reproduced: same finding kinds/ },
  { what: "workload with a byte order mark", args: ["run", bomWorkload, "--variant", "xen-4.9", "--duration", "1000"], status: 0, says: /^== small on xen-4\.9 \(seed 1\): completed/ },
  { what: "bench --compare with a byte order mark", args: ["bench", "--latency", "--compare", bomBench], status: 2, says: /^vgic bench: --compare: .*bom-bench\.json: format: got 5, expected one of "vgic-bench\/1"\n$/ },
  // a field the format does not define (it was ignored, and its default used)
  { what: "finding with a misspelt field", args: ["fuzz", "--replay", strayFinding], status: 2, says: /^vgic fuzz: .*stray-finding\.json: seeed: got 1, expected no field "seeed": a finding has the fields \$schema, format, version, vgicLab, target, seed, case, config, faults, ops, violation, signature, repeats, trace, originalOps, schedule, narrative\n$/ },
  { what: "counterexample with a misspelt field", args: ["explore", "--replay", strayCounterexample], status: 2, says: /^vgic explore: .*stray-counterexample\.json: field 'seeed': expected no field "seeed": a counterexample has the fields \$schema, format, .*, lockBarrier, gicLatency, got 1\n$/ },
  { what: "fuzz --baseline, a misspelt field", args: ["fuzz", "--cases", "1", "--out", join(tmp, "fz1"), "--target", "vgic", "--baseline", strayFinding], status: 2, says: /^vgic fuzz: .*stray-finding\.json: seeed: got 1, expected no field "seeed"/ },
  { what: "explore --baseline, a misspelt field", args: ["explore", "--matrix", "--budget", "1", "--baseline", strayCounterexample], status: 2, says: /^vgic explore: .*stray-counterexample\.json: field 'seeed': expected no field "seeed"/ },
  // empty files, directories, lists, cut files: the file and what is wrong
  { what: "fuzz --replay an empty file", args: ["fuzz", "--replay", emptyJson], status: 2, says: new RegExp(`^vgic fuzz: .*empty\\.json: ${EMPTY}`) },
  { what: "explore --replay an empty file", args: ["explore", "--replay", emptyJson], status: 2, says: new RegExp(`^vgic explore: .*empty\\.json: ${EMPTY}`) },
  { what: "fuzz --baseline an empty file", args: ["fuzz", "--cases", "1", "--out", join(tmp, "fz2"), "--baseline", emptyJson], status: 2, says: new RegExp(`^vgic fuzz: .*empty\\.json: ${EMPTY}`) },
  { what: "explore --baseline an empty file", args: ["explore", "--matrix", "--budget", "1", "--baseline", emptyJson], status: 2, says: new RegExp(`^vgic explore: .*empty\\.json: ${EMPTY}`) },
  { what: "bench --compare an empty file", args: ["bench", "--latency", "--compare", emptyJson], status: 2, says: new RegExp(`^vgic bench: --compare: .*empty\\.json: ${EMPTY}`) },
  { what: "run an empty file", args: ["run", emptyJson], status: 2, says: /^vgic run: .*empty\.json: \(json\): expected valid JSON, the text is empty, expected a JSON value \(at line 1, column 1\)\n$/ },
  { what: "fuzz --replay a directory", args: ["fuzz", "--replay", aDir], status: 2, says: /^vgic fuzz: .*a-dir\.json: a directory, expected a file\n$/ },
  { what: "explore --replay a directory", args: ["explore", "--replay", aDir], status: 2, says: /^vgic explore: .*a-dir\.json: a directory, expected a file\n$/ },
  { what: "run a directory", args: ["run", aDir], status: 2, says: /^vgic run: .*a-dir\.json: a directory, expected a file\n$/ },
  { what: "report a directory", args: ["report", aDir, "--out", join(tmp, "rep.html")], status: 2, says: /^vgic report: .*a-dir\.json: a directory, expected a file\n$/ },
  { what: "bench --compare a directory", args: ["bench", "--latency", "--compare", aDir], status: 2, says: /^vgic bench: --compare: .*a-dir\.json: a directory, expected a file\n$/ },
  { what: "mmio a directory", args: ["mmio", aDir], status: 2, says: /^vgic mmio: .*a-dir\.json: a directory, expected a file\n$/ },
  { what: "--profile a directory", args: ["run", W, "--profile", aDir], status: 2, says: /^vgic run: --profile: .*a-dir\.json: \(file\): a directory, expected a file\n$/ },
  { what: "fuzz --replay a list", args: ["fuzz", "--replay", listJson], status: 2, says: /^vgic fuzz: .*list\.json: \(root\): got \[\], expected a JSON object \(a finding file\)\n$/ },
  { what: "report a list", args: ["report", listJson, "--out", join(tmp, "rep.html")], status: 2, says: /^vgic report: .*list\.json: line 1: \(root\): got \[\], expected a value of type object \(a vgic run --json document, vgic-run\/1\)\n$/ },
  { what: "explore --replay a cut file", args: ["explore", "--replay", cutJson], status: 2, says: /^vgic explore: .*cut\.json: not valid JSON: expected ':' after a property name, got the end of the text \(at line 6, column 13\)\n$/ },
  { what: "report a cut file", args: ["report", cutJson, "--out", join(tmp, "rep.html")], status: 2, says: /^vgic report: .*cut\.json: not valid JSON: expected a property name in double quotes or '}', got the end of the text \(at line 1, column 2; each line is one document\)\n$/ },
  // deeply nested JSON: refused by depth before any recursive code sees it
  { what: "deep workload", args: ["run", deepWorkload], status: 2, says: /deep-workload\.json: \(json\): expected valid JSON, nested deeper than 64 levels \(at line 1, column 92\)/ },
  { what: "deep finding", args: ["fuzz", "--replay", deepFinding], status: 2, says: /^vgic fuzz: .*deep-finding\.json: not valid JSON: nested deeper than 64 levels \(at line 1, column 138\)\n$/ },
  { what: "deep counterexample", args: ["explore", "--replay", deepCounterexample], status: 2, says: /^vgic explore: .*deep-counterexample\.json: not valid JSON: nested deeper than 64 levels \(at line 1, column 114\)\n$/ },
  { what: "a 17 MB workload", args: ["run", huge], status: 2, says: /^vgic run: .*huge\.json: 17825792 bytes, larger than the 16 MiB an input file may have\n$/ },
  { what: "a 17 MB finding", args: ["fuzz", "--replay", huge], status: 2, says: /^vgic fuzz: .*huge\.json: 17825792 bytes, larger than the 16 MiB an input file may have\n$/ },
  // schedules: repetition bounded, tampering is a bad file
  { what: "schedule 0*1000000000", args: ["explore", "--replay", `${H}/counterexample-repeat.json`], status: 2, says: /field 'schedule': expected a schedule string .*more than 200000 decisions\), got "0\*1000000000"/ },
  // a valid counterexample still fails: exit 1, as a reproduced fuzz finding (README: exit status)
  { what: "counterexample (valid)", args: ["explore", "--replay", `${H}/counterexample.json`], status: 1, says: /reproduced: same finding kinds/ },
  { what: "counterexample naming thread 7", args: ["explore", "--replay", `${H}/counterexample-no-thread.json`], status: 2, says: /counterexample-no-thread\.json: field 'schedule': .* does not fit \(schedule diverged at decision 0: thread 7 is not enabled/ },
  { what: "counterexample cut short", args: ["explore", "--replay", `${H}/counterexample-truncated.json`], status: 2, says: /does not fit \(schedule ended after 1 decisions/ },
  { what: "finding (valid)", args: ["fuzz", "--replay", `${H}/finding-vgic.json`], status: 1, says: /^reproduced: lock-inversion-rank-vgic at operation 2/ },
  { what: "finding, schedule cut short", args: ["fuzz", "--replay", `${H}/finding-schedule-truncated.json`], status: 2, says: /^vgic fuzz: tests\/hostile\/finding-schedule-truncated\.json: schedule: got "3 decisions", expected the decisions of this case's run \(schedule ended after 3 decisions/ },
  { what: "finding, empty schedule", args: ["fuzz", "--replay", `${H}/finding-schedule-empty.json`], status: 2, says: /schedule ended after 0 decisions/ },
  { what: "finding, thread 7", args: ["fuzz", "--replay", `${H}/finding-schedule-no-thread.json`], status: 2, says: /schedule diverged at decision 0: thread 7 is not enabled/ },
  { what: "finding, decisions left over", args: ["fuzz", "--replay", `${H}/finding-schedule-extra.json`], status: 2, says: /the run made 58 decisions, the schedule has 61/ },
  { what: "finding, maxSteps 1e9", args: ["fuzz", "--replay", `${H}/finding-max-steps.json`], status: 2, says: /config\.maxSteps: got 1000000000, expected an integer from 1 to 1000000/ },
  { what: "finding at the steps bound", args: ["fuzz", "--replay", `${H}/finding-livelock.json`], status: 1, says: /^different violation: no-quiescence at operation 1 .*within 1000000 steps/ },
  { what: "finding, target zz", args: ["fuzz", "--replay", `${H}/finding-target-unknown.json`], status: 2, says: /^vgic fuzz: tests\/hostile\/finding-target-unknown\.json: target: got "zz", expected one of hw, vgic\n$/ },
  { what: "finding, seed -1", args: ["fuzz", "--replay", `${H}/finding-seed-negative.json`], status: 2, says: /^vgic fuzz: tests\/hostile\/finding-seed-negative\.json: seed: got -1, expected an integer from 0 to 4294967295\n$/ },
  { what: "fuzz --seconds 0", args: ["fuzz", "--seconds", "0"], status: 2, says: /^vgic fuzz: --seconds: expected an integer from 1 to 10000000, got '0'\n$/ },
  { what: "finding, vCPU 5 of 2", args: ["fuzz", "--replay", `${H}/finding-no-vcpu.json`], status: 2, says: /ops\[0\]\.v: got 5, expected a vCPU of the configuration, 0 to 1/ },
  { what: "finding, unrouted SPI", args: ["fuzz", "--replay", `${H}/finding-unrouted-spi.json`], status: 2, says: /ops\[1\]\.irq: got 40, expected an SPI of config\.spis \(32, 33\)/ },
  { what: "hw finding (valid)", args: ["fuzz", "--replay", `${H}/finding-hw.json`], status: 0, says: /^not reproduced: no violation/ },
  { what: "hw finding, CPU 9", args: ["fuzz", "--replay", `${H}/finding-hw-cpu-9.json`], status: 2, says: /ops\[2\]\.cpu: got 9, expected an integer from 0 to 7/ },
  { what: "hw finding, CPU 3 of 2", args: ["fuzz", "--replay", `${H}/finding-hw-no-cpu.json`], status: 2, says: /ops\[2\]\.cpu: got 3, expected a CPU of the configuration, 0 to 1/ },
  { what: "hw finding, PPI 25", args: ["fuzz", "--replay", `${H}/finding-hw-ppi-25.json`], status: 2, says: /ops\[1\]\.irq: got 25, expected an input line: PPI 16-31 other than the maintenance PPI 25, or an SPI/ },
  // profiles: bundled names, or a file given as such and validated as data
  { what: "profile path", args: ["run", `${H}/workload-profile-path.json`], status: 2, says: /workload-profile-path\.json: machine\.profile: got "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd", expected the name of a profile bundled in profiles\// },
  { what: "profile unknown", args: ["run", `${H}/workload-profile-unknown.json`], status: 2, says: /machine\.profile: got "nope", expected one of the bundled profiles: xgene-xen/ },
  { what: "--profile not a profile", args: ["run", W, "--profile", `${H}/script-binary.gic`], status: 2, says: /--profile: tests\/hostile\/script-binary\.gic: \(json\): not valid JSON: expected a value \(an object, array, string, number, true, false or null\), got 'r' \(at line 1, column 1\)$/m },
  // bounds the schema states
  { what: "300 devices", args: ["run", `${H}/workload-300-devices.json`], status: 2, says: /devices: got \[.*, expected at most 64 entries/ },
  { what: "duration 2^52", args: ["run", `${H}/workload-burst-forever.json`], status: 2, says: /duration: got 4503599627370496, expected a number <= 1000000000000/ },
  { what: "burst storm", args: ["run", `${H}/workload-burst-storm.json`], status: 2, says: /devices\[0\]\.arrival: got \{"kind":"burst","period":1,"count":100000\}, expected at most 1000000 events in 48000000 cycles in total/ },
  { what: "--duration 1e21", args: ["run", W, "--duration", "1e21"], status: 2, says: /--duration: got "1e21", expected an integer from 1 to 1000000000000/ },
  { what: "--duration 10^20", args: ["run", W, "--duration", "100000000000000000000"], status: 2, says: /--duration: got "100000000000000000000", expected an integer from 1 to 1000000000000/ },
  { what: "--duration over the event budget", args: ["run", "workloads/net-storm.json", "--duration", "100000000000"], status: 2, says: /--duration: got 100000000000, expected at most 1000000 events in 100000000000 cycles/ },
  // register scripts
  { what: "16 MB of blank lines in a 24 MB heap", args: ["mmio", blank], node: ["--max-old-space-size=24"], status: 0, says: /^0x08000004 = 0x00000008\n0x08000004 = 0x00000008\n$/ },
  { what: "a 10 MB line", args: ["mmio", longLine], status: 2, says: /^vgic mmio: .*long\.gic:1: line longer than 4096 bytes \(is it a text file\?\)\n$/ },
  { what: "escape sequences", args: ["mmio", `${H}/script-binary.gic`], status: 2, says: /script-binary\.gic:2: unknown command '\\x1b\[31mEVIL\\x1b\]0;title\\x07'/ },
  { what: "line 25", args: ["mmio", `${H}/script-ppi-25.gic`], status: 2, says: /script-ppi-25\.gic:2: interrupt 25 is the maintenance PPI/ },
  // a bad configuration is named by the option given, not the field it sets
  { what: "mmio --prio-bits 3", args: ["mmio", "--prio-bits", "3", "examples/sgi-roundtrip.gic"], status: 2, says: /^vgic mmio: --prio-bits: got 3, expected an integer from 4 to 8\n$/ },
  { what: "mmio --gicc on --gicd", args: ["mmio", "--gicc", "0x08000000", "examples/sgi-roundtrip.gic"], status: 2, says: /^vgic mmio: --gicc: got 134217728, expected a frame base different from --gicd\n$/ },
  // arguments
  { what: "run --seed -1", args: ["run", W, "--seed", "-1"], status: 2, says: /--seed: got "-1", expected an integer from 0 to 4294967295/ },
  { what: "fuzz --seed -1", args: ["fuzz", "--seed", "-1"], status: 2, says: /--seed: expected an integer from 0 to 4294967295, got '-1'/ },
  { what: "explore --seed -1", args: ["explore", "rank-abba", "--seed", "-1"], status: 2, says: /--seed: expected an integer from 0 to 2147483648, got '-1'/ },
  { what: "explore --strategy random --bound 5", args: ["explore", "rank-abba", "--strategy", "random", "--bound", "5"], status: 2, says: /^vgic explore: --bound: only with --strategy dfs \(random bounds no preemptions\)\n$/ },
  { what: "explore --seed 9 (dfs)", args: ["explore", "rank-abba", "--seed", "9"], status: 2, says: /^vgic explore: --seed: only with --strategy pct or random/ },
  // an option that would do nothing here is refused rather than ignored
  { what: "run --schema with a WORKLOAD", args: ["run", "--schema", W], status: 2, says: /^vgic run: --schema prints the format and runs nothing: no WORKLOAD expected\n$/ },
  { what: "explore SCENARIO --shard", args: ["explore", "rank-abba", "--shard", "0/2"], status: 2, says: /^vgic explore: --shard: only with --matrix\n$/ },
  { what: "explore SCENARIO --markdown", args: ["explore", "rank-abba", "--markdown"], status: 2, says: /^vgic explore: --markdown: only with --matrix\n$/ },
  { what: "explore --depth 7 (random)", args: ["explore", "rank-abba", "--strategy", "random", "--depth", "7"], status: 2, says: /^vgic explore: --depth: only with --strategy pct\n$/ },
  // a latency path keeps its trace: 100,000 repetitions ran for minutes towards 10 GB
  { what: "bench --reps 100000", args: ["bench", "--latency", "--reps", "100000"], status: 2, says: /--reps: expected an integer from 1 to 5000, got '100000'/ },
  { what: "bench --runs 0", args: ["bench", "--hw", "--runs", "0"], status: 2, says: /--runs: expected an integer from 1 to 1000, got '0'/ },
  // a device that never ends (it hung every command that reads a file)
  { what: "run /dev/zero", args: ["run", "/dev/zero"], status: 2, says: /^vgic run: \/dev\/zero: more than the 16 MiB an input file may have\n$/ },
  { what: "fuzz --replay /dev/zero", args: ["fuzz", "--replay", "/dev/zero"], status: 2, says: /\/dev\/zero.*more than the 16 MiB an input file may have/ },
  { what: "explore --baseline /dev/zero", args: ["explore", "--matrix", "--budget", "1", "--baseline", "/dev/zero"], status: 2, says: /^vgic explore: \/dev\/zero: more than the 16 MiB an input file may have\n$/ },
  { what: "fuzz --baseline /dev/zero", args: ["fuzz", "--cases", "1", "--out", join(tmp, "fz0"), "--baseline", "/dev/zero"], status: 2, says: /\/dev\/zero.*more than the 16 MiB an input file may have/ },
  { what: "--variants /dev/zero", args: ["variants", "--variants", "/dev/zero"], status: 2, says: /^vgic variants: --variants \/dev\/zero: expected a regular file \(an ES module\), got a device or pipe\n$/ },
  // an empty path: with several variants `--trace ''` wrote .xen-4.8 and the rest into the working directory
  { what: "run --trace ''", args: ["run", W, "--variant", "all", "--trace", ""], status: 2, says: /^vgic run: --trace: got '', expected FILE, not empty\n$/ },
  { what: "fuzz --out ''", args: ["fuzz", "--out", "", "--cases", "1"], status: 2, says: /^vgic fuzz: --out: got '', expected DIR, not empty\n$/ },
  { what: "bench --iterations abc", args: ["bench", "--iterations", "abc"], status: 2, says: /--iterations: expected an integer from 1 to 1000000000, got 'abc'/ },
  { what: "fuzz --out under a file", args: ["fuzz", "--out", join(aFile, "x"), "--cases", "1"], status: 2, says: /--out: .*a-file is a file, not a directory/ },
  { what: "explore --out under a file", args: ["explore", "rank-abba", "--variant", "xen-4.8", "--out", join(aFile, "x")], status: 2, says: /--out: .*a-file is a file, not a directory/ },
  { what: "fuzz --out /proc/x", args: ["fuzz", "--out", "/proc/x", "--cases", "1"], status: 2, says: /--out: \/proc\/x is on a pseudo file system/ },
  { what: "explore --out /proc/x", args: ["explore", "rank-abba", "--variant", "xen-4.8", "--out", "/proc/x"], status: 2, says: /--out: \/proc\/x is on a pseudo file system/ },
  { what: "--report into a missing directory", args: ["run", W, "--report", join(tmp, "missing", "r.html")], status: 2, says: /--report: directory .*missing does not exist/ },
  { what: "--trace into a file", args: ["run", W, "--trace", join(aFile, "t.json")], status: 2, says: /--trace: .*a-file is not a directory/ },
  { what: "corrupted corpus", args: ["fuzz", "--corpus", `${H}/corpus-corrupt`, "--out", join(tmp, "findings"), "--cases", "1"], status: 2, says: /^vgic fuzz: --corpus tests\/hostile\/corpus-corrupt\/hw-0-1\.json: not valid JSON: expected a property name in double quotes, got the end of the text \(at line 2, column 1\)\n$/ },
];

describe.concurrent("hostile inputs from the command line", () => {
  for (const c of CASES) {
    it(`${c.what}: exit ${c.status}`, async () => {
      const r = await vgic(c.args, c.node);
      expect(r.status, r.stderr).toBe(c.status);
      expect(c.status === 2 ? r.stderr : r.stdout).toMatch(c.says);
      if (c.status === 2) {
        // one or two lines, no stack trace, nothing echoed raw
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.stderr.length).toBeLessThan(1000);
        expect(r.stderr).not.toContain("\x1b");
        // nothing ran: no variant's result was printed
        expect(r.stdout).toBe("");
      }
    });
  }
});

describe("a bad input file leaves what earlier runs wrote as it was", () => {
  it("report, trace and finding files are neither replaced nor removed", async () => {
    const report = made("kept-report.html", "<html>an earlier report</html>\n");
    const trace = made("kept-trace.json", "{\"traceEvents\": []}\n");
    const out = join(tmp, "kept-findings");
    mkdirSync(out);
    const finding = join(out, "hw-0-0.json");
    writeFileSync(finding, hostile("finding-hw.json"));
    const runs: Array<[string[], RegExp]> = [
      [["run", strayCounterexample, "--report", report, "--trace", trace], /stray-counterexample\.json: format: got "vgic-lab-counterexample", expected no field "format": the fields here are \$schema, name, /],
      [["explore", "--replay", emptyJson, "--trace", trace], /empty\.json: not valid JSON/],
      [["fuzz", "--out", out, "--cases", "1", "--baseline", strayFinding], /stray-finding\.json: seeed/],
      [["report", cutJson, "--out", report], /cut\.json: not valid JSON/],
    ];
    for (const [args, says] of runs) {
      const r = await vgic(args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(says);
    }
    expect(readFileSync(report, "utf8")).toBe("<html>an earlier report</html>\n");
    expect(readFileSync(trace, "utf8")).toBe("{\"traceEvents\": []}\n");
    expect(readdirSync(out)).toEqual(["hw-0-0.json"]);
    expect(readFileSync(finding, "utf8")).toBe(hostile("finding-hw.json"));
  });
});

describe("results survive an interruption", () => {
  it("run --json writes each variant as it finishes: SIGINT after the first loses none that finished", async () => {
    const w = join(tmp, "long.json");
    const base = JSON.parse(readFileSync(join(root, "workloads/net-storm.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(w, JSON.stringify({ ...base, duration: 24_000_000 }));
    const report = join(tmp, "r.html");
    const child = spawn(process.execPath, [cli, "run", w, "--json", "--report", report], { cwd: root });
    let out = "";
    const lines = await new Promise<string[]>((done) => {
      child.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n") && child.exitCode === null) child.kill("SIGINT");
      });
      child.on("close", () => done(out.split("\n").filter((l) => l !== "")));
    });
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThan(4); // it was interrupted
    const first = JSON.parse(lines[0]!) as { workload: string; results: Array<{ variant: string }>; perf: unknown[] };
    expect(first.workload).toBe("net-storm");
    expect(first.results.map((r) => r.variant)).toEqual(["xen-4.8"]);
    expect(first.perf).toHaveLength(1);
    // the report was replaced whole after the first variant, never half-written
    expect(readFileSync(report, "utf8")).toMatch(/<\/html>\s*$/);
  });
});
