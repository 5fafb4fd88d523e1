// `vgic serve`: the web page (build/web/, written by `npm run build`) over
// HTTP on 127.0.0.1 only. The page is static: any static host serves the
// same directory.

import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCliArgs } from "../io/args.ts";

export const SERVE_USAGE = `usage: vgic serve [--port N]
  serves the web page (build/web/) on http://127.0.0.1:N/ (default 8080; 0 picks a free port)
`;

export class ServeUsageError extends Error {}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".wasm": "application/wasm", ".png": "image/png",
};

/** build/web next to the bundle (build/vgic.mjs) or from source (host/web). */
export function webRoot(): string {
  const candidates = [new URL("./web/", import.meta.url), new URL("../../build/web/", import.meta.url)];
  const url = candidates.find((u) => existsSync(fileURLToPath(new URL("index.html", u))));
  if (url === undefined) throw new ServeUsageError("build/web/index.html not found: run `npm run build` first");
  return fileURLToPath(url);
}

/** Serve `root` on 127.0.0.1:port; resolves once listening. */
export function serve(root: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      res.writeHead(400).end("bad request");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") { res.writeHead(405).end(); return; }
    const file = normalize(join(root, path.endsWith("/") ? path + "index.html" : path));
    if (!file.startsWith(normalize(root + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** Parse the arguments and start serving; resolves to the server. */
export async function serveCommand(args: string[], out: (s: string) => void): Promise<Server> {
  let parsed;
  try {
    parsed = parseCliArgs({ args, options: { port: { type: "string" }, help: { type: "boolean", short: "h" } }, allowPositionals: true });
  } catch (e) {
    throw new ServeUsageError((e as Error).message.replace(/\. To specify .*$/s, ""));
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new ServeUsageError(`unexpected argument '${positionals[0]}'`);
  const p = values.port ?? "8080";
  if (!/^[0-9]+$/.test(p) || Number(p) > 65535) throw new ServeUsageError(`--port: expected an integer from 0 to 65535, got '${p}'`);
  const root = webRoot();
  let server: Server;
  try {
    server = await serve(root, Number(p));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ServeUsageError(code === "EADDRINUSE" ? `--port: ${p} is in use on 127.0.0.1 (try another, or 0 for a free one)` : (e as Error).message);
  }
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : Number(p);
  out(`serving ${root} on http://127.0.0.1:${port}/ (Ctrl-C stops)\n`);
  out(`open http://127.0.0.1:${port}/#scenario=rank-abba&variant=xen-4.8&run=1 to see the seed's deadlock\n`);
  return server;
}
