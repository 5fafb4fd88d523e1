// The workload file: what machine, which vGIC design, what guest, which
// devices raise which interrupts when, an optional irqbalance-like agent,
// and how long to run from which seed. One zod schema is the single source:
// it validates files (parseWorkload) and generates the JSON Schema published
// as workloads/schema.json (workloadJsonSchema; a test keeps the two equal).
// All times are in cycles of the cost profile's clock.

import * as z from "zod";
import { GIC_LATENCY_MAX } from "../hw/gic.ts";
import { allVariants } from "../xen/variants.ts";
import { JsonSyntaxError, parseJson } from "../io/text.ts";
import { checkAgainst, shownValue } from "../io/issues.ts";

/** Longest simulated time a workload may ask for (about 7 minutes at the
 *  default profile's 2.4 GHz). */
export const MAX_DURATION = 1e12;
/** Most interrupt events (raises, ticks, IPIs, balancing moves) a workload
 *  may expect over its duration: about a minute of host time per variant. */
export const MAX_EVENTS = 1_000_000;
/** Most devices: each is a thread of the machine, which has at most 255. */
export const MAX_DEVICES = 64;

const cycles = (what: string) => z.number().positive().max(MAX_DURATION).int().describe(`${what}, in cycles (at most 1e12)`);
const cyclesOrZero = (what: string) => z.number().nonnegative().max(MAX_DURATION).int().describe(`${what}, in cycles (at most 1e12)`);
// printed as a table row and a CSV field: no control characters (a newline
// or an escape sequence would forge rows or reach the terminal)
const label = z.string().min(1).max(64).regex(/^[^\x00-\x1f\x7f-\x9f]*$/, { message: "printable text (no control characters)" });

const Periodic = z.strictObject({
  kind: z.literal("periodic"),
  period: cycles("time between two events"),
  phase: cyclesOrZero("delay of the first event after the guest has booted").optional(),
}).describe("one event every `period` cycles");

const Poisson = z.strictObject({
  kind: z.literal("poisson"),
  mean: cycles("mean time between two events (exponential gaps)"),
}).describe("a Poisson process: independent events, exponentially distributed gaps");

const Burst = z.strictObject({
  kind: z.literal("burst"),
  period: cycles("time between the starts of two bursts"),
  count: z.number().int().min(1).max(100000).describe("events per burst"),
  gap: cyclesOrZero("time between two events of one burst").optional(),
  phase: cyclesOrZero("delay of the first burst after the guest has booted").optional(),
}).describe("`count` events `gap` cycles apart, every `period` cycles");

export const Arrival = z.discriminatedUnion("kind", [Periodic, Poisson, Burst])
  .describe("when events happen: periodic, poisson or burst");
export type Arrival = z.infer<typeof Arrival>;

const handlerCycles = cyclesOrZero("guest handler cost between acknowledge and EOI").optional();
const vcpuId = z.number().int().min(0).max(7);

const Timer = z.strictObject({
  type: z.literal("timer"),
  name: label.optional(),
  period: cycles("tick period of each vCPU's virtual timer (PPI 27)"),
  vcpus: z.array(vcpuId).min(1).max(8).optional().describe("vCPUs that run a periodic tick (default: all)"),
  handlerCycles,
}).describe("the virtual timer PPI 27 as a periodic tick per vCPU");

const Spi = z.strictObject({
  type: z.literal("spi"),
  name: label.optional(),
  irq: z.number().int().min(32).max(1019).describe("physical SPI, routed to the guest with the same ID"),
  trigger: z.enum(["edge", "level"]).describe("level: the device holds its line until the guest's handler acknowledges it"),
  priority: z.number().int().min(0).max(255).optional().describe("GICD_IPRIORITYR byte the guest programs (default 0xa0)"),
  group: z.union([z.literal(0), z.literal(1)]).optional().describe("GICD_IGROUPR bit the guest programs (Xen's vGIC ignores it)"),
  target: vcpuId.optional().describe("vCPU the guest first targets through ITARGETSR (default 0)"),
  arrival: Arrival,
  handlerCycles,
}).describe("a device raising a shared peripheral interrupt");

const Ipi = z.strictObject({
  type: z.literal("ipi"),
  name: label.optional(),
  sgi: z.number().int().min(0).max(15).describe("SGI number"),
  from: vcpuId.describe("sending vCPU (it writes GICD_SGIR, a trapped access)"),
  to: z.union([z.array(vcpuId).min(1).max(8), z.literal("others")]).describe("target vCPUs, or every vCPU but the sender"),
  arrival: Arrival,
  handlerCycles,
}).describe("inter-processor interrupts one vCPU sends to others");

export const Device = z.discriminatedUnion("type", [Timer, Spi, Ipi]);
export type Device = z.infer<typeof Device>;

const Affinity = z.strictObject({
  vcpu: vcpuId.describe("vCPU the agent runs on (its ITARGETSR writes trap there)"),
  irqs: z.array(z.number().int().min(32).max(1019)).min(1).max(988).describe("SPIs it moves; each must be an spi device"),
  arrival: Arrival.describe("when it runs a balancing pass"),
  policy: z.enum(["rotate", "random"]).optional().describe("rotate: next vCPU in order; random: a random other vCPU (default rotate)"),
  perPass: z.number().int().min(1).max(988).optional().describe("interrupts moved per pass, taken in turn from irqs (default 1)"),
}).describe("an irqbalance-like agent rewriting ITARGETSR");

export const Workload = z.strictObject({
  $schema: z.string().max(1024).optional(),
  name: label.describe("short name, used in reports"),
  description: z.string().max(4096).optional(),
  machine: z.strictObject({
    pcpus: z.number().int().min(1).max(8).describe("physical CPUs"),
    irqs: z.number().int().min(64).max(1020).optional().describe("interrupts of the physical GIC, a multiple of 32 or 1020 (default 128)"),
    listRegisters: z.number().int().min(1).max(64).optional().describe("list registers per CPU (default 4)"),
    gicLatency: z.number().int().min(0).max(GIC_LATENCY_MAX).optional()
      .describe("cycles before a change of the GIC's state reaches a CPU's IRQ and FIQ inputs, maintenance and virtual lines included (default 0: at once)"),
    profile: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: "the name of a profile bundled in profiles/ (lower-case letters, digits, - and _), not a path: a profile file is given with `vgic run --profile FILE`" }).optional()
      .describe("name of a cost profile bundled in profiles/ (default xgene-xen); a profile file is given with `vgic run --profile FILE`"),
  }),
  variant: z.string().max(64).optional().describe(`vGIC design: ${allVariants().map((v) => v.name).join(", ")} or all (default all)`),
  guest: z.strictObject({
    vcpus: z.number().int().min(1).max(8).describe("vCPUs of the guest"),
    placement: z.array(z.number().int().min(0).max(7)).max(8).optional().describe("pCPU of each vCPU (default vCPU i on pCPU i mod pcpus)"),
    load: z.union([z.number().min(0).max(1), z.array(z.number().min(0).max(1)).max(8)]).optional()
      .describe("fraction of time each vCPU computes instead of idling in WFI (default 0)"),
    eoiMode: z.enum(["eoi", "split"]).optional().describe("split: EOImode=1, EOIR drops priority and DIR deactivates (default eoi)"),
  }),
  devices: z.array(Device).max(MAX_DEVICES).describe(`interrupt sources (at most ${MAX_DEVICES})`),
  affinity: Affinity.optional(),
  migrations: z.array(z.strictObject({
    at: cyclesOrZero("when, after the guest has booted"),
    vcpu: vcpuId.describe("the vCPU to move"),
    pcpu: z.number().int().min(0).max(7).describe("the pCPU it moves to"),
  })).max(1000).optional().describe("placement changes: the hypervisor's scheduler moves a vCPU to another pCPU (Xen's vcpu_migrate, with arch_move_irqs)"),
  duration: cycles("simulated time after the guest has booted")
    .describe(`simulated time after the guest has booted, in cycles (at most 1e12); the devices and the affinity agent may expect at most ${MAX_EVENTS} events in it`),
  seed: z.number().int().min(0).max(0xffffffff).optional().describe("seed of the devices' random numbers (default 1)"),
}).superRefine((w, ctx) => {
  const bad = (path: (string | number)[], input: unknown, message: string) => ctx.addIssue({ code: "custom", path, input, message });
  const irqs = w.machine.irqs ?? 128;
  if (irqs !== 1020 && irqs % 32 !== 0) bad(["machine", "irqs"], irqs, "a multiple of 32, or 1020");
  if (w.variant !== undefined && w.variant !== "all" && !allVariants().some((v) => v.name === w.variant)) {
    bad(["variant"], w.variant, `one of ${allVariants().map((v) => v.name).join(", ")}, all`);
  }
  const nv = w.guest.vcpus;
  if (w.guest.placement !== undefined) {
    if (w.guest.placement.length !== nv) bad(["guest", "placement"], w.guest.placement, `${nv} entries, one per vCPU`);
    w.guest.placement.forEach((p, i) => { if (p >= w.machine.pcpus) bad(["guest", "placement", i], p, `a pCPU below ${w.machine.pcpus}`); });
  }
  if (Array.isArray(w.guest.load) && w.guest.load.length !== nv) bad(["guest", "load"], w.guest.load, `${nv} entries, one per vCPU`);
  const vc = (path: (string | number)[], v: number) => { if (v >= nv) bad(path, v, `a vCPU below ${nv}`); };
  const spiIrqs = new Map<number, number>();
  const sgis = new Map<number, number>();
  let timers = 0;
  // each source is a row of the report, by name (the runner's defaults)
  const names = new Map<string, number>();
  w.devices.forEach((d, i) => {
    const name = sourceName(d);
    if (names.has(name)) bad(["devices", i, "name"], name, `a name no other device has (devices[${names.get(name)}] is ${JSON.stringify(name)})`);
    else names.set(name, i);
  });
  // without a timer device the virtual timer's row is still there
  const vt = names.get("vtimer");
  if (vt !== undefined && !w.devices.some((d) => d.type === "timer")) bad(["devices", vt, "name"], "vtimer", "a name other than \"vtimer\", the virtual timer's row");
  w.devices.forEach((d, i) => {
    if (d.type === "spi") {
      if (d.irq >= irqs) bad(["devices", i, "irq"], d.irq, `an SPI below machine.irqs (${irqs})`);
      if (spiIrqs.has(d.irq)) bad(["devices", i, "irq"], d.irq, `an interrupt no other device uses (devices[${spiIrqs.get(d.irq)}] has it)`);
      spiIrqs.set(d.irq, i);
      if (d.target !== undefined) vc(["devices", i, "target"], d.target);
    } else if (d.type === "ipi") {
      if (sgis.has(d.sgi)) bad(["devices", i, "sgi"], d.sgi, `an SGI no other device uses (devices[${sgis.get(d.sgi)}] has it)`);
      sgis.set(d.sgi, i);
      vc(["devices", i, "from"], d.from);
      if (d.to !== "others") d.to.forEach((t, k) => vc(["devices", i, "to", k], t));
      if (d.to === "others" && nv < 2) bad(["devices", i, "to"], d.to, "at least two vCPUs for \"others\"");
    } else {
      if (++timers > 1) bad(["devices", i], d.type, "at most one timer device");
      d.vcpus?.forEach((t, k) => vc(["devices", i, "vcpus", k], t));
    }
  });
  if (w.affinity !== undefined) {
    vc(["affinity", "vcpu"], w.affinity.vcpu);
    w.affinity.irqs.forEach((q, k) => { if (!spiIrqs.has(q)) bad(["affinity", "irqs", k], q, "an irq of an spi device"); });
    if (nv < 2) bad(["guest", "vcpus"], nv, "at least 2 vCPUs when an affinity agent moves interrupts");
  }
  w.migrations?.forEach((m, k) => {
    vc(["migrations", k, "vcpu"], m.vcpu);
    if (m.pcpu >= w.machine.pcpus) bad(["migrations", k, "pcpu"], m.pcpu, `a pCPU below ${w.machine.pcpus}`);
  });
  const budget = eventBudget(w, w.duration);
  if (budget !== null) bad(budget.path, budget.value, budget.expected);
});

/** A device's name in reports: its own, else spiN, sgiN or vtimer. */
export function sourceName(d: Workload["devices"][number]): string {
  return d.name ?? (d.type === "spi" ? `spi${d.irq}` : d.type === "ipi" ? `sgi${d.sgi}` : "vtimer");
}

/** Expected events of one arrival process over `duration` cycles. */
function arrivalEvents(a: Arrival, duration: number): number {
  switch (a.kind) {
    case "periodic": return duration / a.period;
    case "poisson": return duration / a.mean;
    case "burst": return Math.ceil(duration / a.period) * a.count;
  }
}

/**
 * The first device (or the agent) with which the workload's expected event
 * count over `duration` exceeds MAX_EVENTS, or null when it fits: a run
 * whose length the command cannot bound is refused before it starts.
 */
export function eventBudget(w: Pick<Workload, "devices" | "affinity" | "guest">, duration: number):
  { path: (string | number)[]; value: unknown; expected: string } | null {
  let total = 0;
  const over = (path: (string | number)[], value: unknown) => ({
    path, value,
    expected: `at most ${MAX_EVENTS} events in ${duration} cycles in total (this source brings the expected count to ${Math.round(total)}): a longer period or a shorter duration`,
  });
  for (let i = 0; i < w.devices.length; i++) {
    const d = w.devices[i]!;
    const vcpus = w.guest.vcpus;
    if (d.type === "timer") total += (duration / d.period) * (d.vcpus?.length ?? vcpus);
    else if (d.type === "spi") total += arrivalEvents(d.arrival, duration);
    else total += arrivalEvents(d.arrival, duration) * (d.to === "others" ? vcpus - 1 : d.to.length);
    if (total > MAX_EVENTS) return over(["devices", i, d.type === "timer" ? "period" : "arrival"], d.type === "timer" ? d.period : d.arrival);
  }
  if (w.affinity !== undefined) {
    total += arrivalEvents(w.affinity.arrival, duration) * (w.affinity.perPass ?? 1);
    if (total > MAX_EVENTS) return over(["affinity", "arrival"], w.affinity.arrival);
  }
  return null;
}
export type Workload = z.infer<typeof Workload>;

export class WorkloadError extends Error {
  constructor(readonly origin: string, readonly field: string, readonly value: unknown, readonly expected: string) {
    super(`${origin}: ${field}: got ${shownValue(value)}, expected ${expected}`);
    this.name = "WorkloadError";
  }
}

/** Validate a parsed workload; throws WorkloadError naming the first bad field. */
export function validateWorkload(value: unknown, origin = "workload"): Workload {
  const r = checkAgainst(Workload, value);
  if ("data" in r) return r.data;
  throw new WorkloadError(origin, r.issue.field, r.issue.value, r.issue.expected);
}

/** Parse and validate workload JSON text. */
export function parseWorkload(text: string, origin = "workload"): Workload {
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    // the text itself is never echoed: it may be any file the user named
    const err = new WorkloadError(origin, "(json)", undefined, "valid JSON");
    err.message = `${origin}: (json): expected valid JSON, ${e instanceof JsonSyntaxError ? `${e.reason} (at line ${e.line}, column ${e.column})` : (e as Error).message}`;
    throw err;
  }
  return validateWorkload(v, origin);
}

/** The JSON Schema of workload files (workloads/schema.json). */
export function workloadJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(Workload, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return { ...s, $id: "https://vgic-lab/workloads/schema.json", title: "vgic-lab workload" };
}

export function workloadJsonSchemaText(): string {
  return JSON.stringify(workloadJsonSchema(), null, 2) + "\n";
}
