// Browser replacement of host/sim/profile-source.ts: the profiles bundled at
// build time (profiles/*.json), addressed as profiles/NAME.json.

export function bundledProfileNames(): string[] {
  return Object.keys(__VGIC_PROFILES__);
}

export function bundledProfileFile(name: string): string | null {
  return name in __VGIC_PROFILES__ ? `profiles/${name}.json` : null;
}

export function readProfileFile(path: string): string {
  const m = /^profiles\/([^/]+)\.json$/.exec(path);
  const text = m === null ? undefined : __VGIC_PROFILES__[m[1]!];
  if (text === undefined) throw new Error(`${path}: the page has only the bundled profiles (${Object.keys(__VGIC_PROFILES__).join(", ")})`);
  return text;
}
