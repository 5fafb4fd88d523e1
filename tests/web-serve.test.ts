// `vgic serve`: the page's files on 127.0.0.1, nothing outside build/web/,
// and clear errors for a bad or busy port.

import { spawnSync } from "node:child_process";
import { request, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, webRoot } from "../host/web/serve.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

function get(port: number, path: string, method = "GET"): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
      let body = "";
      res.on("data", (c) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("vgic serve", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = await serve(webRoot(), 0);
    const a = server.address();
    port = typeof a === "object" && a !== null ? a.port : 0;
  });
  afterAll(() => { server.close(); });

  it("listens on 127.0.0.1 only", () => {
    expect(server.address()).toMatchObject({ address: "127.0.0.1" });
  });

  it("serves the page, its scripts and style with their types", async () => {
    const index = await get(port, "/");
    expect(index.status).toBe(200);
    expect(index.type).toMatch(/^text\/html/);
    expect(index.body).toContain('<script type="module" src="page.js">');
    for (const [p, t] of [["/page.js", /^text\/javascript/], ["/worker.js", /^text\/javascript/], ["/page.css", /^text\/css/]] as const) {
      const r = await get(port, p);
      expect(r.status).toBe(200);
      expect(r.type).toMatch(t);
    }
  });

  it("nothing outside build/web/, and only GET and HEAD", async () => {
    for (const p of ["/../package.json", "/%2e%2e/package.json", "/..%2fpackage.json", "/nope.js", "/%ff"]) {
      expect([400, 404]).toContain((await get(port, p)).status);
    }
    expect((await get(port, "/", "POST")).status).toBe(405);
    const head = await get(port, "/", "HEAD");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  it("a bad or busy --port is a usage error naming the option (exit 2)", () => {
    const vgic = (args: string[]) => spawnSync(process.execPath, ["build/vgic.mjs", "serve", ...args], { cwd: root, encoding: "utf8", timeout: 10_000 });
    const bad = vgic(["--port", "http"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("vgic serve: --port: expected an integer from 0 to 65535, got 'http'");
    // a negative number, or any value given with '=', is the option's
    // value and refused as one (it was an internal error)
    for (const [v, args] of [["-1", ["--port", "-1"]], ["-x", ["--port=-x"]]] as const) {
      const neg = vgic([...args]);
      expect(neg.status, neg.stderr).toBe(2);
      expect(neg.stderr).toBe(`vgic serve: --port: expected an integer from 0 to 65535, got '${v}'\n`);
    }
    const busy = vgic(["--port", String(port)]);
    expect(busy.status).toBe(2);
    expect(busy.stderr).toContain(`vgic serve: --port: ${port} is in use on 127.0.0.1`);
    const extra = vgic(["now"]);
    expect(extra.status).toBe(2);
    expect(extra.stderr).toContain("vgic serve: unexpected argument 'now'");
  });
});
