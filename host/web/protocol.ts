// Messages between the page (host/web/page.ts) and its worker
// (host/web/worker.ts), where every simulation runs so the page stays
// responsive. Plain data only (structured clone).

import type { ExploreResult, Strategy } from "../explore/engine.ts";
import type { Timeline } from "../explore/timeline.ts";
import type { MemoryOptions } from "../sim/memory.ts";

export type Request =
  | ({ id: number; kind: "explore"; scenario: string; variant: string; strategy: Strategy; budget?: number; bound?: number; seed?: number; depth?: number } & MemoryOptions)
  /** replay a schedule of a scenario without searching (a shared URL) */
  | ({ id: number; kind: "schedule"; scenario: string; variant: string; schedule: string } & MemoryOptions)
  /** a counterexample file (`vgic explore` output) or a fuzz finding file */
  | { id: number; kind: "replay"; name: string; text: string }
  | { id: number; kind: "workload"; name: string; text: string; variant: string; seed?: number }
  | { id: number; kind: "mmio"; script: string; cpus: number; lrs: number };

/** An explore result without its Chrome trace (the page shows the timeline). */
export type ExploreSummary = Omit<ExploreResult, "counterexample"> & { schedule: string | null; findings: string[] };

export interface Named { name: string; summary: string }

export type Reply =
  /** sent once the worker has loaded and compiled the model */
  | { id: 0; kind: "hello"; scenarios: Named[]; variants: Named[] }
  | { id: number; kind: "progress"; text: string; fraction?: number }
  | { id: number; kind: "explored"; summary: ExploreSummary; timeline: Timeline | null }
  | { id: number; kind: "replayed"; reproduced: boolean; reason: string | null; timeline: Timeline }
  /** a fuzz finding file (`vgic fuzz --out`): a timeline for the vgic
   *  target; the hw target's story (its last operations) has no states */
  | { id: number; kind: "finding"; reproduced: boolean; reason: string | null; title: string; lines: string[]; timeline: Timeline | null }
  | { id: number; kind: "workload"; text: string; reportHtml: string; failed: boolean }
  | { id: number; kind: "mmio"; lines: string[] }
  | { id: number; kind: "error"; message: string };
