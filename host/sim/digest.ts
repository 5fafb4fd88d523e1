// sha256 for trace hashes, under Node: node:crypto. The browser bundle
// replaces this module with host/web/platform/digest.ts (scripts/bundle.mjs).

import { createHash } from "node:crypto";

export interface Sha256 {
  update(text: string): void;
  /** the digest of everything updated, as 64 hex digits */
  hex(): string;
}

export function sha256(): Sha256 {
  const h = createHash("sha256");
  return { update: (t) => { h.update(t); }, hex: () => h.digest("hex") };
}
