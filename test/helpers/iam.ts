/**
 * Reads the IAM policy documents out of a synthesized stack (cdk.tf.json) exactly as Terraform will send them, and
 * evaluates requests against them with @cloud-copilot/iam-simulate (a devDependency, used by tests only).
 */
import { runSimulation, runUnsafeSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { PolicyDocument } from '../../stacks/policies';
import type { TfJson } from './synth';

export interface RoleDocs {
  trust: PolicyDocument;
  policies: PolicyDocument[];
}

export interface RenderedPolicies {
  /** The bucket policy of the stack's bucket (aws_s3_bucket.bucket), if it has one. */
  bucketPolicy?: PolicyDocument;
  /** The policy of the access log bucket (aws_s3_bucket.access-log-bucket), when the stack has one. */
  logBucketPolicy?: PolicyDocument;
  /**
   * The legacy bucket's policy (aws_s3_bucket.legacy-bucket): the gateway role's grant, when the gateway is enabled.
   */
  legacyBucketPolicy?: PolicyDocument;
  /** IAM user name -> its inline policies */
  users: Map<string, PolicyDocument[]>;
  /** IAM role name -> its trust policy and inline policies */
  roles: Map<string, RoleDocs>;
}

/** Resolves "${aws_iam_user.app-user.name}" to the referenced resource's literal attribute. */
function resolveRef(json: TfJson, value: string): string {
  const m = /^\$\{(aws_[a-z0-9_]+)\.([\w-]+)\.(\w+)\}$/.exec(value);
  if (!m) return value;
  const target = json.resource?.[m[1]]?.[m[2]];
  if (!target || typeof target[m[3]] !== 'string') throw new Error(`cannot resolve ${value}`);
  return target[m[3]];
}

function entries(json: TfJson, type: string): [string, TfJson][] {
  return Object.entries((json.resource?.[type] ?? {}) as Record<string, TfJson>);
}

export function renderedPolicies(json: TfJson): RenderedPolicies {
  const users = new Map<string, PolicyDocument[]>();
  const roles = new Map<string, RoleDocs>();
  for (const [, user] of entries(json, 'aws_iam_user')) users.set(user.name, []);
  for (const [, role] of entries(json, 'aws_iam_role'))
    roles.set(role.name, { trust: JSON.parse(role.assume_role_policy), policies: [] });
  for (const [id, p] of entries(json, 'aws_iam_user_policy')) {
    const name = resolveRef(json, p.user);
    const list = users.get(name);
    if (!list) throw new Error(`aws_iam_user_policy.${id} names an unknown user ${name}`);
    list.push(JSON.parse(p.policy));
  }
  for (const [id, p] of entries(json, 'aws_iam_role_policy')) {
    const name = resolveRef(json, p.role);
    const role = roles.get(name);
    if (!role) throw new Error(`aws_iam_role_policy.${id} names an unknown role ${name}`);
    role.policies.push(JSON.parse(p.policy));
  }
  const policyOf = (bucketRef: string): PolicyDocument | undefined => {
    const found = entries(json, 'aws_s3_bucket_policy').filter(([, p]) => p.bucket === bucketRef);
    return found.length ? JSON.parse(found[0][1].policy) : undefined;
  };
  const known = [
    '${aws_s3_bucket.bucket.id}',
    '${aws_s3_bucket.access-log-bucket.id}',
    '${aws_s3_bucket.legacy-bucket.id}',
  ];
  const other = entries(json, 'aws_s3_bucket_policy').find(([, p]) => !known.includes(p.bucket));
  if (other)
    throw new Error(`aws_s3_bucket_policy.${other[0]} is on a bucket the tests do not know: ${other[1].bucket}`);
  return {
    bucketPolicy: policyOf(known[0]),
    logBucketPolicy: policyOf(known[1]),
    legacyBucketPolicy: policyOf(known[2]),
    users,
    roles,
  };
}

/** Every policy document of a stack, named by where it came from. */
export function allPolicyDocuments(json: TfJson): { where: string; doc: PolicyDocument }[] {
  const docs: { where: string; doc: PolicyDocument }[] = [];
  const r = renderedPolicies(json);
  if (r.bucketPolicy) docs.push({ where: 'bucket policy', doc: r.bucketPolicy });
  if (r.logBucketPolicy) docs.push({ where: 'log bucket policy', doc: r.logBucketPolicy });
  if (r.legacyBucketPolicy) docs.push({ where: 'legacy bucket policy', doc: r.legacyBucketPolicy });
  for (const [name, list] of r.users) list.forEach((doc, i) => docs.push({ where: `user ${name} policy ${i}`, doc }));
  for (const [name, role] of r.roles) {
    docs.push({ where: `role ${name} trust`, doc: role.trust });
    role.policies.forEach((doc, i) => docs.push({ where: `role ${name} policy ${i}`, doc }));
  }
  return docs;
}

export function must<K, V>(map: Map<K, V>, key: K): V {
  const v = map.get(key);
  if (v === undefined) throw new Error(`missing ${String(key)}`);
  return v;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export interface Request {
  /** The principal making the request (a user ARN, or an assumed-role session ARN). */
  principal: string;
  /** aws:PrincipalArn of that principal (the user ARN, or the role ARN for a session). */
  principalArn: string;
  identityPolicies: PolicyDocument[];
  action: string;
  resource: string;
  resourceAccount: string;
  resourcePolicy?: PolicyDocument;
  /** Extra request context (condition keys); TLS 1.3 over HTTPS is the default. */
  context?: Record<string, string>;
}

/** The request context a real call carries: HTTPS, TLS 1.3 for S3 calls, the principal's ARN. */
export function requestContext(req: Request): Record<string, string> {
  const base: Record<string, string> = { 'aws:SecureTransport': 'true', 'aws:PrincipalArn': req.principalArn };
  if (req.action.startsWith('s3:')) base['s3:TlsVersion'] = '1.3';
  return { ...base, ...req.context };
}

export async function decide(req: Request): Promise<{ decision: Decision; ignoredContextKeys: string[] }> {
  const simulation: Simulation = {
    request: {
      principal: req.principal,
      action: req.action,
      resource: { resource: req.resource, accountId: req.resourceAccount },
      contextVariables: requestContext(req),
    },
    identityPolicies: req.identityPolicies.map((policy, i) => ({ name: `policy-${i}`, policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: req.resourcePolicy,
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`simulation rejected: ${JSON.stringify(result.errors)}`);
  if (result.resultType !== 'single')
    throw new Error(`expected a single-resource simulation, got ${result.resultType}`);
  const ignored = result.result.ignoredContextKeys ?? [];
  // iam-simulate lists KMS's kms:EncryptionContext:${EncryptionContextKey} among the keys of every KMS action, but
  // matches such "variable" keys only after a "/" (aws:PrincipalTag/x), so it drops kms:EncryptionContext:aws:s3:arn
  // before evaluating. When that key is all it dropped, the same simulation runs unfiltered (runUnsafeSimulation skips
  // only that input check), so the stacks' encryption-context conditions are evaluated as AWS would. (Its resource
  // policy goes in as iam-policy's ValidatedPolicy, a plain object, because that engine reads the policy's name from
  // the metadata it is loaded with.)
  if (req.action.startsWith('kms:') && ignored.length && ignored.every((k) => KMS_CONTEXT_KEY.test(k))) {
    const resourcePolicy = req.resourcePolicy && {
      __validated: true,
      policyDocument: req.resourcePolicy,
      metadata: { name: 'resource-policy' },
      errors: [],
    };
    return { decision: runUnsafeSimulation({ ...simulation, resourcePolicy }, {}) as Decision, ignoredContextKeys: [] };
  }
  return { decision: result.overallResult as Decision, ignoredContextKeys: ignored };
}

const KMS_CONTEXT_KEY = /^kms:EncryptionContext:[^:]+(:[^:]+)*$/i;
