// A design of one's own for `--variants examples/my-variant.mjs`: Xen 4.9
// without 91ef736493 ("vgic: refuse irq migration when one is already in
// progress"), to see what that refusal protects. A variant is a name, its
// parent, a one-line summary and create(machine, opts) returning a Vgic:
// here a subclass that overrides only the function the patch touched.
// Build first (`npm run build`: build/lib.mjs is the library; a project
// that installed the package imports "vgic-lab" instead).
//
//   node build/vgic.mjs variants --variants examples/my-variant.mjs
//   node build/vgic.mjs explore --matrix --variants examples/my-variant.mjs --variant xen-4.9-no-refuse

import { Vgic, Xen49 } from "../build/lib.mjs";

class Xen49NoRefuse extends Xen49 {
  variant = "xen-4.9-no-refuse";

  /** 4.8's vgic_migrate_irq: a second migration while MIGRATING is set goes ahead. */
  *vgic_migrate_irq(ctx, old, nw, irq) {
    return yield* Vgic.prototype.vgic_migrate_irq.call(this, ctx, old, nw, irq);
  }
}

export const variants = [
  {
    name: "xen-4.9-no-refuse",
    parent: "xen-4.9",
    summary: "xen-4.9 without 91ef736493: a migration while one is in progress is not refused",
    create: (machine, opts) => new Xen49NoRefuse(machine, opts),
  },
];
