// Headless Chromium for the web page tests: Debian's `chromium`, installed
// with apt-get when absent and we are root; null (with the reason printed)
// where it cannot be had, so the browser tests are skipped, not failed.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** The browser's path, or the reason there is none. */
export function ensureChromium(): { path: string } | { skip: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  if (process.platform !== "linux" || process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
    return { skip: `${CHROMIUM} is missing and cannot be installed here (needs root and apt-get): browser tests skipped` };
  }
  process.stderr.write(`${CHROMIUM} missing: apt-get update && apt-get install -y chromium ...\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const up = spawnSync("apt-get", ["update"], { encoding: "utf8", env, timeout: 300_000 });
  const inst = up.status === 0 ? spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { encoding: "utf8", env, timeout: 600_000 }) : up;
  if (inst.status !== 0 || !existsSync(CHROMIUM)) {
    return { skip: `installing chromium failed (${(inst.stderr || inst.error?.message || "").trim().split("\n").pop()}): browser tests skipped` };
  }
  return { path: CHROMIUM };
}

/** A fresh headless browser with its own profile directory. */
export async function launch(path: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "vgic-chromium-")), {
    executablePath: path, headless: true, viewport: { width: 1500, height: 1000 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}
