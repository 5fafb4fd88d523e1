// Finding signatures: what tells one bug from another. A signature is the
// finding's kind (the invariant) plus where it happened: the path of the
// interrupt for losses (QUEUED on no list, acknowledged but never handled,
// left pending, stuck active after a design drop), the Xen function and the
// list operation for exceptions and list races, the lock classes for lock
// findings (already part of their invariant names). It holds no interrupt
// number, vCPU, seed or schedule, so the same bug has the same signature in
// every run, and a new bug of a kind the design already shows gets a new one.
//
//   lost:queued-on-no-list
//   stuck-active:dropped-by-design
//   list-race:lr_queue-del@vgic_migrate_irq
//   lock-inversion-rank-vgic

import type { Finding as CheckFinding } from "../check/vgic.ts";
import type { Violation } from "./target.ts";

/** kind, then `:path`, then `@where`, each when known. */
export function makeSignature(kind: string, path?: string, where?: string): string {
  return kind + (path ? `:${path}` : "") + (where ? `@${where}` : "");
}

/** A violation's signature: the one its target gave it, else its invariant. */
export function signatureOf(v: Violation): string {
  return v.signature ?? v.invariant;
}

/** Every distinct signature of a violation and those reported with it. */
export function signaturesOf(v: Violation | null): string[] {
  if (v === null) return [];
  return [...new Set([v, ...(v.others ?? [])].map(signatureOf))];
}

/** The violation among `v` and its companions that has signature `sig`,
 *  with the others as its companions; null when none has it. */
export function withSignature(v: Violation | null, sig: string): Violation | null {
  if (v === null) return null;
  const all = [v, ...(v.others ?? [])];
  const hit = all.find((x) => signatureOf(x) === sig);
  if (hit === undefined) return null;
  if (hit === v) return v;
  // fields of the case rather than of one violation (a schedule) stay
  const { others: _o, ...lead } = v;
  const { others: _h, ...found } = hit;
  return { ...lead, ...found, others: all.filter((x) => x !== hit).map(({ others: _x, ...r }) => r) };
}

/** The signature of a finding of the shared vGIC checks (explorer, scenarios). */
export function checkSignature(f: CheckFinding): string {
  return makeSignature(f.kind === "error" ? "crash" : f.kind, f.path, f.where);
}

/** A signature as part of a file name. */
export function signatureSlug(sig: string): string {
  return sig.replace(/[^A-Za-z0-9_]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 100) || "finding";
}
