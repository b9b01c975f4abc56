/**
 * Finds secrets in a `terraform show -json` plan: what each resource (and output) will hold after apply, which is what
 * its state will hold. A planned attribute holds a secret when:
 * - Terraform marks it sensitive (after_sensitive) and it has a value or will have one (after_unknown), or
 * - its name is one of SECRET_ATTRIBUTES, at any depth, and it has a value or will have one.
 * Deleted and forgotten resources plan nothing (after is null); their old values are the state's, not the plan's.
 */
import type { TfJson } from './synth';

/**
 * Attribute names that hold secrets in the AWS provider's resources: aws_iam_access_key (secret,
 * ses_smtp_password_v4, encrypted_secret, encrypted_ses_smtp_password_v4 is covered by its sensitivity),
 * aws_secretsmanager_secret_version (secret_string, secret_binary), aws_iam_user_login_profile (password,
 * encrypted_password), aws_db_instance and friends (password), tls-style private keys (private_key), and tokens.
 */
export const SECRET_ATTRIBUTES = [
  'secret',
  'ses_smtp_password_v4',
  'secret_string',
  'secret_binary',
  'password',
  'encrypted_secret',
  'encrypted_password',
  'private_key',
  'token',
];

const hasValue = (v: unknown) => v !== null && v !== undefined && v !== '' && !(Array.isArray(v) && v.length === 0);

/** "address: path (why)" for every secret the plan would store; [] when none. */
export function secretsInPlan(plan: TfJson): string[] {
  const found = new Set<string>();
  const walk = (address: string, after: unknown, sensitive: unknown, unknown: unknown, at: string[]) => {
    const name = at[at.length - 1];
    const here = at.join('.');
    const isUnknown = unknown === true;
    const present = hasValue(after) || isUnknown;
    if (sensitive === true && present) {
      found.add(`${address}: ${here} (sensitive)`);
      return;
    }
    if (name !== undefined && SECRET_ATTRIBUTES.includes(name) && present) {
      found.add(`${address}: ${here} (secret attribute${isUnknown ? ', known after apply' : ''})`);
      return;
    }
    const keys = new Set<string>();
    for (const o of [after, sensitive, unknown])
      if (o && typeof o === 'object') Object.keys(o).forEach((k) => keys.add(k));
    for (const k of keys) {
      const child = (o: unknown) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined);
      walk(address, child(after), child(sensitive), child(unknown), [...at, k]);
    }
  };
  for (const rc of (plan.resource_changes ?? []) as TfJson[]) {
    const c = rc.change;
    if (!c || c.after === null || c.after === undefined) continue;
    walk(rc.address, c.after, c.after_sensitive, c.after_unknown, []);
  }
  for (const [name, oc] of Object.entries((plan.output_changes ?? {}) as Record<string, TfJson>)) {
    if (oc.after_sensitive === true && (hasValue(oc.after) || oc.after_unknown === true))
      found.add(`output.${name} (sensitive)`);
  }
  return [...found].sort();
}
