// Messages between the page (host/web/page.ts) and its worker
// (host/web/worker.ts, answering with host/web/handle.ts), where every
// simulation runs so the page stays responsive. Plain data only
// (structured clone).

import type { ExploreResult } from "../explore/engine.ts";
import type { Timeline } from "../explore/timeline.ts";
import type { ReplayVerdict } from "../explore/search.ts";

/** Search and memory settings as the command line spells them (`vgic
 *  explore --strategy pct --budget 200 --memory weak --lock-barrier acq-rel`),
 *  checked by the worker with the command line's own checks: an option
 *  name without its dashes, its text as typed. */
export type CliOptions = Record<string, string>;

export type Request =
  | { id: number; kind: "explore"; scenario: string; variant: string; options: CliOptions }
  /** replay a schedule of a scenario without searching (a shared URL);
   *  options: memory, lock-barrier and gic-latency */
  | { id: number; kind: "schedule"; scenario: string; variant: string; schedule: string; options: CliOptions }
  /** a counterexample file (`vgic explore` output) or a fuzz finding file */
  | { id: number; kind: "replay"; name: string; text: string }
  | { id: number; kind: "workload"; name: string; text: string; variant: string }
  /** cpus and lrs as typed, checked as `vgic mmio --cpus --lrs` checks them */
  | { id: number; kind: "mmio"; script: string; cpus: string; lrs: string };

export const REQUEST_KINDS = ["explore", "schedule", "replay", "workload", "mmio"] as const;

/** An explore result without its Chrome trace (the page shows the timeline);
 *  `verdictText` in the command line's words (`vgic explore --matrix`). */
export type ExploreSummary = Omit<ExploreResult, "counterexample"> & { schedule: string | null; findings: string[]; verdictText: string };

export interface Named { name: string; summary: string }

export type Reply =
  /** sent once the worker has loaded and compiled the model */
  | { id: 0; kind: "hello"; scenarios: Named[]; variants: Named[] }
  | { id: number; kind: "progress"; text: string; fraction?: number }
  | { id: number; kind: "explored"; summary: ExploreSummary; timeline: Timeline | null }
  /** verdict: `vgic explore --replay`'s (replayVerdict): fails where it
   *  exits 1, passes where it exits 0, broke where it exits 3 (an exception
   *  the file does not record: not judged); a schedule link: fails for a
   *  finding of a kind that fails a search by default, else passes;
   *  options: what the run was built with besides its design and schedule
   *  (memory, lock-barrier, gic-latency), as a link to it must say */
  | { id: number; kind: "replayed"; reproduced: boolean; verdict: ReplayVerdict; reason: string | null; timeline: Timeline; options: CliOptions }
  /** a fuzz finding file (`vgic fuzz --out`): a timeline for the vgic
   *  target; the hw target's story (its last operations) has no states;
   *  verdict: fails for a violation now, where `vgic fuzz --replay` exits 1,
   *  else passes (it has no third outcome) */
  | { id: number; kind: "finding"; reproduced: boolean; verdict: Exclude<ReplayVerdict, "broke">; reason: string | null; title: string; lines: string[]; timeline: Timeline | null }
  | { id: number; kind: "workload"; text: string; reportHtml: string; failed: boolean }
  /** the reads made, and the error that stopped the script part-way, if one did */
  | { id: number; kind: "mmio"; lines: string[]; error: string | null }
  /** id 0 when the request had no usable id */
  | { id: number; kind: "error"; message: string };
