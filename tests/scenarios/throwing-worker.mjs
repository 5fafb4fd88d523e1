// The page's worker with tests/scenarios/throwing-variant.mjs registered,
// bundled by tests/web-page.test.ts with the page's own options
// (scripts/web-build.mjs) and build/lib.mjs resolved to the page's copy of
// the library's modules.
import { registerVariant } from "../../host/xen/variants.ts";
import { variants } from "./throwing-variant.mjs";
import "../../host/web/worker.ts";

for (const v of variants) registerVariant(v);
