// sha256 for trace hashes, under Node: node:crypto. The browser bundle
// replaces this module with host/web/platform/digest.ts (scripts/bundle.mjs).

import { createHash, type Hash } from "node:crypto";

export interface Sha256 {
  update(text: string): void;
  /** the digest of everything updated, as 64 hex digits (once: the hash is finished) */
  hex(): string;
  /** an independent hash of what was updated so far (a running hash's digest without ending it) */
  copy(): Sha256;
}

export function sha256(): Sha256 {
  return wrap(createHash("sha256"));
}

function wrap(h: Hash): Sha256 {
  return { update: (t) => { h.update(t); }, hex: () => h.digest("hex"), copy: () => wrap(h.copy()) };
}
