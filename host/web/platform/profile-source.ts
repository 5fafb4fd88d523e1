// Browser replacement of host/sim/profile-source.ts: the profiles bundled at
// build time (profiles/*.json), addressed as profiles/NAME.json.

export function profilePath(name: string): string {
  if (!(name in __VGIC_PROFILES__)) throw new Error(`profile ${name} not found in profiles/ (bundled: ${Object.keys(__VGIC_PROFILES__).join(", ")})`);
  return `profiles/${name}.json`;
}

export function readProfileFile(path: string): string {
  const m = /^profiles\/([^/]+)\.json$/.exec(path);
  const text = m === null ? undefined : __VGIC_PROFILES__[m[1]!];
  if (text === undefined) throw new Error(`${path}: the page has only the bundled profiles (${Object.keys(__VGIC_PROFILES__).join(", ")})`);
  return text;
}
