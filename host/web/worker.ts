// The page's Web Worker: answers host/web/protocol.ts messages with
// host/web/handle.ts.

import { SCENARIOS } from "../xen/scenarios.ts";
import { VARIANTS } from "../xen/variants.ts";
import { Gic } from "../hw/gic.ts";
import { handle } from "./handle.ts";
import type { Reply } from "./protocol.ts";

const scope = self as unknown as { postMessage(m: Reply): void; onmessage: ((e: MessageEvent<unknown>) => void) | null };
const post = (m: Reply) => scope.postMessage(m);

scope.onmessage = (e) => handle(e.data, post);

// compile the model now, so the first request does not wait for it
Gic.create();
post({
  id: 0, kind: "hello", scenarios: SCENARIOS.map((s) => ({ name: s.name, summary: s.summary })),
  variants: VARIANTS.map((v) => ({ name: v.name, summary: v.summary })),
});
