// The workload format: the published JSON Schema is the zod schema's, every
// bundled file is valid, and a bad file is an error naming the field, the
// value and what was expected.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { parseWorkload, validateWorkload, WorkloadError, workloadJsonSchemaText } from "../host/workload/schema.ts";
import { bundled, WORKLOAD_DIR } from "./workload-helpers.ts";

const good = () => JSON.parse(readFileSync(new URL("seed-migrate.json", WORKLOAD_DIR), "utf8"));

function errorOf(mutate: (w: any) => void): WorkloadError {
  const w = good();
  mutate(w);
  try {
    validateWorkload(w, "test.json");
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError);
    return e as WorkloadError;
  }
  throw new Error("expected a WorkloadError");
}

describe("workload schema", () => {
  it("workloads/schema.json is the JSON Schema generated from the zod schema (regenerate: vgic run --schema)", () => {
    expect(readFileSync(new URL("schema.json", WORKLOAD_DIR), "utf8")).toBe(workloadJsonSchemaText());
  });

  it("bundles the six workloads, all valid", () => {
    expect(bundled().map((b) => b.w.name).sort()).toEqual(["idle-timer", "ipi-heavy", "lr-overflow", "net-storm", "seed-migrate", "vcpu-shuffle"]);
  });

  it("a migration to a pCPU or of a vCPU that does not exist names the field", () => {
    const w = JSON.parse(readFileSync(new URL("vcpu-shuffle.json", WORKLOAD_DIR), "utf8")) as { migrations: Array<{ pcpu: number; vcpu: number }> };
    w.migrations[1]!.pcpu = 3;
    expect(() => parseWorkload(JSON.stringify(w), "w.json")).toThrow("w.json: migrations[1].pcpu: got 3, expected a pCPU below 3");
    w.migrations[1]!.pcpu = 0;
    w.migrations[2]!.vcpu = 2;
    expect(() => parseWorkload(JSON.stringify(w), "w.json")).toThrow("w.json: migrations[2].vcpu: got 2, expected a vCPU below 2");
  });

  const cases: Array<[string, (w: any) => void, string, RegExp]> = [
    ["a wrong type", (w) => { w.machine.pcpus = "two"; }, "machine.pcpus", /got "two", expected .*number/],
    ["a number out of range", (w) => { w.machine.pcpus = 9; }, "machine.pcpus", /got 9, expected a number <= 8/],
    ["a negative GIC latency", (w) => { w.machine.gicLatency = -5; }, "machine.gicLatency", /got -5, expected a number >= 0/],
    ["a fractional GIC latency", (w) => { w.machine.gicLatency = 2.5; }, "machine.gicLatency", /got 2\.5, expected .*integer/],
    ["a missing field", (w) => { delete w.duration; }, "duration", /got nothing \(the field is missing\), expected .*number/],
    ["an unknown field", (w) => { w.guest.vcpu = 2; }, "guest.vcpu", /got 2, expected no field "vcpu": the fields here are vcpus, placement, load, eoiMode$/],
    ["an unknown arrival kind", (w) => { w.devices[1].arrival.kind = "gaussian"; }, "devices[1].arrival.kind", /got "gaussian", expected one of "periodic", "poisson", "burst"/],
    ["a bad trigger", (w) => { w.devices[2].trigger = "rising"; }, "devices[2].trigger", /got "rising", expected one of "edge", "level"/],
    ["an SPI beyond the GIC", (w) => { w.devices[1].irq = 200; }, "devices[1].irq", /got 200, expected an SPI below machine.irqs \(128\)/],
    ["two devices on one SPI", (w) => { w.devices[2].irq = 40; }, "devices[2].irq", /got 40, expected an interrupt no other device uses/],
    ["an unknown variant", (w) => { w.variant = "xen-5.0"; }, "variant", /got "xen-5.0", expected one of xen-4.8, v3-posted, v3-fixed, xen-4.9, xen-4.9-no-wmb, new-vgic, all/],
    ["a vCPU that does not exist", (w) => { w.devices[1].target = 5; }, "devices[1].target", /got 5, expected a vCPU below 2/],
    // a source is a row of the report, named: two rows of one name could not be told apart
    ["two devices of one name", (w) => { w.devices[3].name = "eth0-rx"; }, "devices[3].name", /got "eth0-rx", expected a name no other device has \(devices\[1\] is "eth0-rx"\)/],
    ["a device named as another's default", (w) => { w.devices[2].name = "spi33"; w.devices[3].irq = 33; delete w.devices[3].name; }, "devices[3].name", /got "spi33", expected a name no other device has/],
    ["the virtual timer's row taken", (w) => { w.devices.shift(); w.devices[0].name = "vtimer"; }, "devices[0].name", /got "vtimer", expected a name other than "vtimer"/],
    // a newline or an escape in a name would forge table rows or reach the terminal
    ["a control character in a name", (w) => { w.devices[1].name = "eth0\nrx"; }, "devices[1].name", /expected printable text \(no control characters\)/],
    ["an escape in a name", (w) => { w.devices[1].name = "\u001b[31meth0"; }, "devices[1].name", /expected printable text/],
    ["a C1 control (CSI) in a name", (w) => { w.devices[1].name = "\u009b31meth0"; }, "devices[1].name", /expected printable text/],
    ["a name too long", (w) => { w.devices[1].name = "x".repeat(65); }, "devices[1].name", /expected at most 64 characters/],
    ["an agent moving a non-device interrupt", (w) => { w.affinity.irqs = [40, 99]; }, "affinity.irqs[1]", /got 99, expected an irq of an spi device/],
  ];
  for (const [what, mutate, field, msg] of cases) {
    it(`names the field, the value and the expectation: ${what}`, () => {
      const e = errorOf(mutate);
      expect(e.field).toBe(field);
      expect(e.message.startsWith(`test.json: ${field}: `)).toBe(true);
      expect(e.message).toMatch(msg);
    });
  }

  it("bad JSON is an error naming the file", () => {
    expect(() => parseWorkload("{ nope", "x.json")).toThrow(/^x\.json: \(json\): .*expected valid JSON/);
  });
});
