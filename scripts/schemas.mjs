// Writes schemas/*.schema.json from the zod schemas listed in host/schemas.ts.
import { build } from "esbuild";
import { writeFileSync } from "node:fs";

const r = await build({
  entryPoints: ["host/schemas.ts"], bundle: true, platform: "node", format: "esm", write: false, logLevel: "warning",
});
const mod = await import(`data:text/javascript;base64,${Buffer.from(r.outputFiles[0].text).toString("base64")}`);
for (const o of mod.OUTPUT_SCHEMAS) {
  writeFileSync(`schemas/${o.file}`, mod.jsonSchemaText(o));
  console.log(`schemas/${o.file}`);
}
