/**
 * The schema of a workspace file (`workspaces/<env>.json`): everything that differs between dev, staging, prod and
 * the local S3 rig. One file serves both halves: main.ts synthesizes the stacks from it, the migrator runs from it.
 *
 * No secret ever lives in a workspace file: the codec's keys are named by the environment variable or Secrets
 * Manager secret that holds them.
 */
import { z } from 'zod';
import { MIB } from './units';

export const ENV_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** A 12-digit AWS account id. On an S3-compatible target (the RGW rig) an "account" is a tenant name instead. */
const AWS_ACCOUNT_ID = /^\d{12}$/;
const TENANT_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** The rules of S3 general purpose bucket names (docs: "Bucket naming rules"). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may hold only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not hold two adjacent dots';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return 'must not begin with "xn--" or "sthree-"';
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return 'must not end with "-s3alias" or "--ol-s3"';
  return undefined;
}

const bucketName = z.string().superRefine((name, ctx) => {
  const problem = bucketNameProblem(name);
  if (problem) ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid bucket name: it ${problem}` });
});

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const region = z.string().regex(REGION, 'must be an AWS region such as "eu-west-1"');

const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const iamName = z.string().regex(IAM_NAME, 'must be an IAM name: 1-64 of letters, digits and +=,.@_-');

const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[a-z0-9_-]*:.+$/;
const arn = z.string().regex(ARN, 'must be an ARN such as "arn:aws:iam::111122223333:role/name"');
const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
    'must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/UUID), not an alias or a bare key id',
  );

/** An S3-compatible endpoint: a URL, or "rig" for the local RGW rig (its state file names the port). */
const endpoint = z.union([z.literal('rig'), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL or "rig"' })]);

/** Where a secret comes from: the NAME of an environment variable or of a Secrets Manager secret, never its value. */
export const keySourceSchema = z.union(
  [
    z.strictObject({
      env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable (A-Z, 0-9, _)'),
    }),
    z.strictObject({ secretsManager: z.string().min(1, 'must name a Secrets Manager secret (its name or ARN)') }),
  ],
  {
    error:
      'must be {"env": "VAR_NAME"} or {"secretsManager": "secret-name"}: the NAME of where the keys are, never a key',
  },
);

const encryptionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('SSE-S3') }),
  z.strictObject({ type: z.literal('SSE-KMS'), kmsKeyArn, bucketKey: z.boolean().default(true) }),
]);

const userSchema = z.strictObject({ name: iamName });

const logPrefix = z
  .string()
  .regex(/^[a-z0-9][\w.-]*(\/[\w.-]+)*\/$/, 'must be a key prefix ending in "/", such as "s3-access-logs/"');
const logExpirationDays = z.number().int().min(1).max(3650).default(365);

/**
 * Who accessed the bucket of photos, kept in a log bucket of the primary account (created by the primary stack,
 * hardened like the photos' bucket, SSE-S3: server access logs cannot be delivered to an SSE-KMS bucket):
 * - server-access-logs: S3 server access logging of the bucket (S3.9);
 * - cloudtrail: a CloudTrail trail named `trailName`, recording the S3 data events of the bucket's objects;
 * - none.
 * Default: server-access-logs, except in the dev workspace (none; set it to log dev too). See accessLogsOf.
 */
export const accessLogsSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('server-access-logs'),
    /** The log bucket (default: `<primary.bucket>-access-logs`). */
    bucket: bucketName.optional(),
    prefix: logPrefix.default('s3-access-logs/'),
    /** Log objects expire after this many days. */
    expirationDays: logExpirationDays,
  }),
  z.strictObject({
    type: z.literal('cloudtrail'),
    trailName: z
      .string()
      .regex(
        /^[A-Za-z0-9][\w.-]{2,127}$/,
        'must be a CloudTrail trail name: 3-128 of letters, digits, ., _ and -, starting with a letter or digit',
      ),
    bucket: bucketName.optional(),
    prefix: logPrefix.default('cloudtrail/'),
    expirationDays: logExpirationDays,
  }),
  z.strictObject({ type: z.literal('none') }),
]);

/**
 * The rotation of the access keys of the app user (and dev's local-development user). `npm run keys -- rotate` rotates
 * on demand in every workspace: the old key is deactivated when the new one becomes current and deleted `graceDays`
 * later. With `schedule` (default: on, except in dev, whose key developers share and rotate by hand), the primary stack
 * also deploys a Secrets Manager rotation function that rotates every `afterDays`: the key it replaces stays usable
 * until the next rotation deletes it (an app that reads its key when it starts has a whole period to restart), so a
 * key lives two periods at most: `afterDays` is at most 45, for keys no older than 90 days (Security Hub IAM.3).
 */
export const keyRotationSchema = z.strictObject({
  schedule: z.boolean().optional(),
  afterDays: z
    .number()
    .int()
    .min(1)
    .max(
      45,
      'must be at most 45: a key lives two rotation periods (current, then previous until the next rotation), and Security Hub IAM.3 flags keys older than 90 days',
    )
    .default(45),
  graceDays: z.number().int().min(1).max(30).default(7),
  functionName: z
    .string()
    .regex(/^[\w-]{1,64}$/, 'must be a Lambda function name: 1-64 of letters, digits, - and _')
    .optional(),
  functionRoleName: iamName.optional(),
});

const primarySchema = z.strictObject({
  accountId: z.string(),
  bucket: bucketName,
  endpoint: endpoint.optional(),
  encryption: encryptionSchema,
  lifecycle: z
    .strictObject({
      noncurrentVersionExpirationDays: z.number().int().min(1).max(3650).default(30),
      abortIncompleteMultipartUploadDays: z.number().int().min(1).max(365).default(7),
      /** The store's tombstones (photos deleted during the migration) expire after this many days. */
      tombstoneExpirationDays: z.number().int().min(1).max(365).default(7),
    })
    .prefault({}),
  appUser: userSchema,
  /** Only in the dev workspace: a user for local development with the app's rights on the dev bucket. */
  devUser: userSchema.optional(),
  writerRoleName: iamName.default('bucketmove-migration-writer'),
  /** Access logs of the bucket (accessLogsSchema); default: server access logging, except in dev. */
  accessLogs: accessLogsSchema.optional(),
  /** The rotation of the users' access keys (keyRotationSchema); default: scheduled, except in dev. */
  keyRotation: keyRotationSchema.optional(),
});

const legacySchema = z.strictObject({
  accountId: z.string(),
  bucket: bucketName,
  region: region.optional(),
  endpoint: endpoint.optional(),
  /** Set when the legacy bucket's objects are SSE-KMS encrypted: the reader role then gets kms:Decrypt on it. */
  kmsKeyArn: kmsKeyArn.optional(),
  /**
   * The legacy app's IAM user (imported, so destroy removes it) and its access key ids, which only the approved
   * teardown stack brings under management, by key id, to destroy them (stacks/legacy-stack.ts). At most two: IAM's
   * quota.
   */
  appUser: z.strictObject({
    name: iamName,
    accessKeyIds: z
      .array(z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{12,124}$/, 'must be an access key id (AKIA...)'))
      .max(2, 'an IAM user has at most two access keys (IAM quota): list the ones the legacy app user has')
      .refine((ids) => new Set(ids).size === ids.length, 'names a key id twice')
      .default([]),
  }),
  readerRoleName: iamName.default('bucketmove-migration-reader'),
});

const migrationSchema = z.strictObject({
  /** Who may assume the migration roles (the principal the migrator runs as). */
  principals: z.array(arn).min(1, 'must name at least one principal ARN that may assume the migration roles'),
  /** The sts:ExternalId the roles require. AWS documents it as an identifier, not a secret. */
  externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/, 'must be 2-1224 of letters, digits and +=,.@:/-_'),
  /**
   * assume-role: STS AssumeRole into the reader and writer roles. static: keys from the environment (the seed's
   * pattern).
   */
  credentials: z.enum(['assume-role', 'static']).default('assume-role'),
});

/** The largest object a codec with several keys and no second read reads whole, unless `maxObjectBytes` says. */
const WHOLE_READ_DEFAULT_BYTES = 256 * MIB;

export const codecSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('fernet'),
    keys: keySourceSchema,
    /**
     * How tokens are stored: "auto" decides per object from its first byte (0x80: the raw bytes; "gAAAAA": base64url
     * text, what Fernet.encrypt returns), so a bucket holding both is read in one run; the other two accept one form
     * only.
     */
    storage: z.enum(['auto', 'base64url-text', 'raw']).default('auto'),
    /**
     * Fernet streams any size. Only with several keys (rotation) whose encryption halves differ, and no second read
     * possible, is an object read whole: those above this size are refused (codec/several-keys.ts).
     */
    maxObjectBytes: z
      .number()
      .int()
      .positive()
      .max(2048 * MIB)
      .default(WHOLE_READ_DEFAULT_BYTES),
  }),
  z.strictObject({
    type: z.literal('aes-256-gcm'),
    keys: keySourceSchema,
    /** Additional authenticated data: none, the object key (UTF-8), or a fixed string. */
    aad: z.union([z.enum(['none', 'object-key']), z.strictObject({ fixed: z.string() })]).default('none'),
    /**
     * AES-GCM streams any size; only with several keys and no second read possible is an object read whole, up to this
     * size.
     */
    maxObjectBytes: z
      .number()
      .int()
      .positive()
      .max(2048 * MIB)
      .default(WHOLE_READ_DEFAULT_BYTES),
  }),
  z.strictObject({
    type: z.literal('plugin'),
    /**
     * A module path (relative to the workspace file) whose `codec` export, or default export, implements the codec
     * interface.
     */
    module: z.string().min(1),
    keys: keySourceSchema.optional(),
    options: z.record(z.string(), z.unknown()).default({}),
  }),
]);

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy, retentionInDays). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A Lambda function name: 1-64 of letters, digits, hyphens and underscores. */
const lambdaName = z
  .string()
  .regex(/^[\w-]{1,64}$/, 'must be a Lambda function name: 1-64 of letters, digits, - and _');

/**
 * S3 Batch Operations as the engine of the backfill (past one machine): a Lambda function that runs the migrator's
 * per-object decrypt-copy, the role Batch Operations runs as, and a prefix of the new bucket for the job's manifests
 * and completion reports. Off unless enabled.
 */
export const batchOperationsSchema = z.strictObject({
  enabled: z.boolean().default(false),
  functionName: lambdaName.default('bucketmove-batch-copy'),
  /** The function's execution role. */
  functionRoleName: iamName.default('bucketmove-batch-copy'),
  /** The role S3 Batch Operations assumes to read the manifest, invoke the function and write the report. */
  operationsRoleName: iamName.default('bucketmove-batch-operations'),
  /** Where in the new bucket the jobs' manifests and completion reports go; the app and the audit leave it alone. */
  reportsPrefix: z
    .string()
    .regex(/^[a-z0-9][\w.-]*(\/[\w.-]+)*\/$/, 'must be a key prefix ending in "/", such as "bucketmove-batch/"')
    .default('bucketmove-batch/'),
  memoryMb: z.number().int().min(128).max(10240).default(1024),
  timeoutSeconds: z.number().int().min(10).max(900).default(900),
  /** Caps the function's concurrent executions (and so the job's request rate on both buckets). */
  reservedConcurrency: z.number().int().min(1).max(1000).optional(),
  /** The manifests and completion reports under reportsPrefix expire (a lifecycle rule) after this many days. */
  reportsExpirationDays: z.number().int().min(1).max(3650).default(30),
  /** How long the function's CloudWatch log group keeps its logs (they name object keys, never keys or contents). */
  logRetentionDays: z
    .number()
    .int()
    .refine(
      (d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d),
      `must be one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
    )
    .default(30),
});

/**
 * The S3-API gateway's own IAM role (migrator/src/gateway, docs/gateway.md), off unless enabled: the primary stack
 * creates the role with `stacks/policies.ts` gatewayPolicy (least privilege on the new bucket; on the legacy bucket
 * list, read and the store's deletes, PutObject only with `writesLegacy`), and the legacy stack grants the role the
 * same on the legacy bucket in that bucket's policy. `assumedBy` says who runs as it:
 * - ecs-task: the gateway's ECS task (its task role; trust ecs-tasks.amazonaws.com for this account only);
 * - ec2-instance: the gateway's EC2 instance (an instance profile of the same name is created);
 * - principals: these IAM principals (a role, a user, or an account's root) assume it with STS: the gateway's
 *   `--role-arn`.
 * The defaults are here only: the block is parsed with `prefault({})`, so an absent block gets them too.
 */
export const gatewaySchema = z.strictObject({
  enabled: z.boolean().default(false),
  roleName: iamName.default('bucketmove-gateway'),
  assumedBy: z
    .discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('ecs-task') }),
        z.strictObject({ type: z.literal('ec2-instance') }),
        z.strictObject({
          type: z.literal('principals'),
          principals: z.array(arn).min(1, 'must name at least one principal ARN that may assume the gateway role'),
        }),
      ],
      {
        error:
          'must be {"type": "ecs-task"}, {"type": "ec2-instance"} or {"type": "principals", "principals": [ARN, ...]}',
      },
    )
    .default({ type: 'ecs-task' }),
  /**
   * The gateway runs in a mode that writes the legacy bucket (legacy-only, read-both-write-legacy): PutObject there.
   */
  writesLegacy: z.boolean().default(false),
  /**
   * The Secrets Manager secret (name or ARN, primary account and region) holding the app's keys the gateway verifies
   * signatures against (its `--credentials-secret`): the role may read it, and nothing else of Secrets Manager but the
   * codec's keys.
   */
  appCredentialsSecret: z.string().min(1).optional(),
});

const TFC_VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Where the app's keys go in Terraform Cloud (keys/terraform-cloud.ts): sensitive variables of these workspaces of the
 * organization, written after every rotation of the app user's key.
 */
export const terraformCloudAppSchema = z.strictObject({
  workspaces: z
    .array(z.string().regex(/^[\w-]{1,90}$/, 'must be a Terraform Cloud workspace name'))
    .min(1, 'must name at least one workspace'),
  variables: z
    .strictObject({
      accessKeyId: z.string().regex(TFC_VARIABLE, 'must be a variable name').default('AWS_ACCESS_KEY_ID'),
      secretAccessKey: z.string().regex(TFC_VARIABLE, 'must be a variable name').default('AWS_SECRET_ACCESS_KEY'),
    })
    .prefault({}),
  /** env: environment variables of the runs (what the AWS provider reads); terraform: input variables. */
  category: z.enum(['env', 'terraform']).default('env'),
  /**
   * The Secrets Manager secret (name or ARN, in the primary account and region) holding a Terraform Cloud API token
   * allowed to write these workspaces' variables: the scheduled rotation function reads it. Required when the rotation
   * is scheduled; `npm run keys` uses the token of `terraform login` instead.
   */
  tokenSecret: z.string().min(1).optional(),
});

const tagsSchema = z.record(
  z.string().regex(/^[\w .:/=+@-]{1,128}$/, 'tag keys must be 1-128 characters'),
  z.string().max(256, 'tag values must be at most 256 characters'),
);

export const workspaceSchema = z
  .strictObject({
    $schema: z.string().optional(),
    env: z.string().regex(ENV_NAME, 'must be a lowercase env name such as "prod"'),
    /** aws: deployed by the CDKTF stacks. s3-compatible: a local or other S3 server; the stacks are not synthesized. */
    target: z.enum(['aws', 's3-compatible']).default('aws'),
    region,
    primary: primarySchema,
    legacy: legacySchema,
    migration: migrationSchema,
    codec: codecSchema,
    terraformCloud: z
      .strictObject({
        organization: z.string().regex(/^[\w-]{1,64}$/, 'must be a Terraform Cloud organization name'),
        workspaces: z.strictObject({
          primary: z.string().regex(/^[\w-]{1,90}$/, 'must be a Terraform Cloud workspace name'),
          legacy: z.string().regex(/^[\w-]{1,90}$/, 'must be a Terraform Cloud workspace name'),
        }),
        /** Terraform Enterprise's host name; default app.terraform.io (Terraform Cloud). */
        hostname: z
          .string()
          .regex(/^[a-z0-9.-]+(:\d+)?$/, 'must be a host name such as "app.terraform.io"')
          .optional(),
        /** The app's own Terraform Cloud workspaces, which get the app user's keys after each rotation. */
        app: terraformCloudAppSchema.optional(),
      })
      .optional(),
    /** Where the app logs the store's fallback-hit events (the audit counts them). */
    app: z
      .strictObject({ logGroup: z.string().min(1).optional(), localLogFile: z.string().min(1).optional() })
      .default({}),
    batchOperations: batchOperationsSchema.prefault({}),
    /** The S3-API gateway's IAM role (gatewaySchema); off unless enabled. */
    gateway: gatewaySchema.prefault({}),
    tags: tagsSchema.default({}),
  })
  .superRefine((ws, ctx) => {
    const accountRule = ws.target === 'aws' ? AWS_ACCOUNT_ID : TENANT_NAME;
    const accountHint = ws.target === 'aws' ? 'must be a 12-digit AWS account id' : 'must be a tenant name (lowercase)';
    for (const side of ['primary', 'legacy'] as const) {
      const id = ws[side].accountId;
      if (!accountRule.test(id)) {
        ctx.addIssue({ code: 'custom', path: [side, 'accountId'], message: `${accountHint} (got "${id}")` });
      }
      if (ws.target === 'aws' && ws[side].endpoint === 'rig') {
        ctx.addIssue({ code: 'custom', path: [side, 'endpoint'], message: '"rig" is only for target "s3-compatible"' });
      }
      if (ws.target === 's3-compatible' && !ws[side].endpoint) {
        ctx.addIssue({
          code: 'custom',
          path: [side, 'endpoint'],
          message: 'is required when target is "s3-compatible"',
        });
      }
    }
    if (ws.target === 'aws' && ws.primary.accountId === ws.legacy.accountId) {
      ctx.addIssue({ code: 'custom', path: ['legacy', 'accountId'], message: 'must differ from primary.accountId' });
    }
    if (ws.target === 'aws' && !ws.terraformCloud) {
      ctx.addIssue({
        code: 'custom',
        path: ['terraformCloud'],
        message: 'is required when target is "aws" (organization and workspace names)',
      });
    }
    if (ws.primary.devUser && ws.env !== 'dev') {
      ctx.addIssue({ code: 'custom', path: ['primary', 'devUser'], message: 'is allowed only in the dev workspace' });
    }
    if (ws.target === 'aws' && ws.batchOperations.enabled) {
      // The function runs on AWS Lambda: no environment variable of the operator's shell reaches it, and a plugin
      // module (a path beside the workspace file) is not in its bundle.
      if (ws.codec.keys && 'env' in ws.codec.keys) {
        ctx.addIssue({
          code: 'custom',
          path: ['codec', 'keys'],
          message: `must be {"secretsManager": "..."} when batchOperations is enabled: the Lambda function cannot read the environment variable ${ws.codec.keys.env}`,
        });
      }
      if (ws.codec.type === 'plugin') {
        ctx.addIssue({
          code: 'custom',
          path: ['codec', 'type'],
          message:
            'a "plugin" codec cannot run in the Batch Operations function (its module is not in the bundle); disable batchOperations',
        });
      }
    }
    const logs = accessLogsOf(ws);
    if (logs) {
      const problem = bucketNameProblem(logs.bucket);
      if (problem) {
        ctx.addIssue({
          code: 'custom',
          path: ['primary', 'accessLogs', 'bucket'],
          message: `the default log bucket "${logs.bucket}" ${problem}: name one in primary.accessLogs.bucket`,
        });
      }
      if (logs.bucket === ws.primary.bucket) {
        ctx.addIssue({
          code: 'custom',
          path: ['primary', 'accessLogs', 'bucket'],
          message: 'must differ from primary.bucket (a bucket cannot hold its own access logs)',
        });
      }
    }
    const rotation = keyRotationOf(ws);
    if (rotation.graceDays >= rotation.afterDays) {
      ctx.addIssue({
        code: 'custom',
        path: ['primary', 'keyRotation', 'graceDays'],
        message: `must be less than afterDays (${rotation.afterDays}): the retired key must be gone before the next rotation`,
      });
    }
    if (ws.target === 'aws' && rotation.schedule && ws.terraformCloud?.app && !ws.terraformCloud.app.tokenSecret) {
      ctx.addIssue({
        code: 'custom',
        path: ['terraformCloud', 'app', 'tokenSecret'],
        message:
          "is required when the key rotation is scheduled: the rotation function writes the new key into the app's Terraform Cloud workspaces with the token in that secret (or set primary.keyRotation.schedule to false and rotate with `npm run keys`)",
      });
    }
    if (ws.primary.bucket === ws.legacy.bucket && ws.primary.accountId === ws.legacy.accountId) {
      ctx.addIssue({ code: 'custom', path: ['primary', 'bucket'], message: 'must differ from legacy.bucket' });
    }
  });

/** A validated workspace, defaults filled in. */
export type Workspace = z.output<typeof workspaceSchema>;
export type KeySource = z.output<typeof keySourceSchema>;
export type CodecConfig = z.output<typeof codecSchema>;
export type Encryption = Workspace['primary']['encryption'];

/** A workspace's key rotation with the defaults applied. */
export interface KeyRotation {
  /** Whether the primary stack deploys the scheduled rotation function. */
  readonly schedule: boolean;
  readonly afterDays: number;
  readonly graceDays: number;
  readonly functionName: string;
  readonly functionRoleName: string;
}

/** The key rotation of a workspace: scheduled unless the workspace says otherwise, except in dev (not scheduled). */
export function keyRotationOf(ws: {
  env: string;
  primary: { keyRotation?: z.output<typeof keyRotationSchema> };
}): KeyRotation {
  const r = ws.primary.keyRotation;
  const name = `bucketmove-key-rotation-${ws.env}`;
  return {
    schedule: r?.schedule ?? ws.env !== 'dev',
    afterDays: r?.afterDays ?? 45,
    graceDays: r?.graceDays ?? 7,
    functionName: r?.functionName ?? name,
    functionRoleName: r?.functionRoleName ?? name,
  };
}

/** A workspace's access logs with the defaults applied: where they go, or undefined for none. */
export type AccessLogs = Exclude<z.output<typeof accessLogsSchema>, { type: 'none' }> & { readonly bucket: string };

/**
 * The access logs a workspace gets: as configured; when not configured, server access logging into
 * `<primary.bucket>-access-logs` (under s3-access-logs/, kept 365 days), except in the dev workspace, which has none.
 */
export function accessLogsOf(ws: {
  env: string;
  primary: { bucket: string; accessLogs?: z.output<typeof accessLogsSchema> };
}): AccessLogs | undefined {
  const given =
    ws.primary.accessLogs ??
    (ws.env === 'dev'
      ? { type: 'none' as const }
      : { type: 'server-access-logs' as const, prefix: 's3-access-logs/', expirationDays: 365 });
  if (given.type === 'none') return undefined;
  return { ...given, bucket: given.bucket ?? `${ws.primary.bucket}-access-logs` };
}
