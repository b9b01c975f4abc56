/**
 * Top-level Terraform blocks about state that CDKTF 0.21 has no construct for, emitted as stack elements (each
 * element's `toTerraform()` fragment is merged into the stack's JSON; arrays are concatenated, so every element adds
 * its own block):
 *
 * - `removed` with `lifecycle { destroy = false }` (Terraform 1.7+): the plan forgets the resource's objects without
 *   destroying them ("will no longer be managed by Terraform, but will not be destroyed"). `from` names a resource,
 *   never one instance, and releases all its instances; a `removed` block for a resource with nothing in state plans
 *   nothing (measured with Terraform 1.11: no error, no warning from validate).
 * - `import` of one instance of a `for_each` resource (`to = type.name["key"]`): CDKTF's `importFrom` can only
 *   address a whole resource.
 */
import { TerraformElement } from 'cdktf';
import type { Construct } from 'constructs';

/** `removed { from = <address>; lifecycle { destroy = false } }`: release from management, never destroy. */
export class ReleasedFromState extends TerraformElement {
  constructor(
    scope: Construct,
    id: string,
    readonly from: string,
  ) {
    super(scope, id);
  }

  override toTerraform(): Record<string, unknown> {
    return { removed: [{ from: this.from, lifecycle: { destroy: false } }] };
  }
}

/** `import { to = <type>.<name>["<key>"]; id = <id> }`: brings an existing object under one for_each instance. */
export class ImportedInstance extends TerraformElement {
  readonly to: string;

  constructor(
    scope: Construct,
    id: string,
    resource: { type: string; name: string; key: string },
    readonly importId: string,
  ) {
    super(scope, id);
    this.to = `${resource.type}.${resource.name}[${JSON.stringify(resource.key)}]`;
  }

  override toTerraform(): Record<string, unknown> {
    return { import: [{ to: this.to, id: this.importId }] };
  }
}
