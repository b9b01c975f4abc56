/**
 * The gateway's own policy (stacks/policies.ts gatewayPolicy), evaluated by @cloud-copilot/iam-simulate as AWS would:
 * what the store does on each bucket in each mode is allowed, nothing more (no version deletes, no bucket
 * configuration, no other bucket, legacy writes only where the mode writes legacy, only the named secrets).
 */
import { gatewayPolicy } from '../../stacks/policies';
import { decide } from '../helpers/iam';

const PRIMARY = '111111111111';
const LEGACY = '222222222222';
const NEW = 'arn:aws:s3:::chat-photos-prod';
const OLD = 'arn:aws:s3:::chatapp-legacy-photos';
const SECRET = `arn:aws:secretsmanager:eu-west-1:${PRIMARY}:secret:bucketmove/prod/gateway-app-keys-AbCdEf`;
const role = `arn:aws:iam::${PRIMARY}:role/bucketmove-gateway`;

/**
 * Cross-account, the legacy bucket's policy must grant the gateway's role too: here one that grants it everything, so
 * that what is decided is what the gateway's own policy lets through.
 */
const legacyBucketPolicy = {
  Version: '2012-10-17' as const,
  Statement: [
    {
      Sid: 'TestOnlyGrantAll',
      Effect: 'Allow' as const,
      Principal: { AWS: role },
      Action: ['s3:*'],
      Resource: [OLD, `${OLD}/*`],
    },
  ],
};

async function decision(
  policy: ReturnType<typeof gatewayPolicy>,
  action: string,
  resource: string,
  account: string,
): Promise<string> {
  const out = await decide({
    principal: `arn:aws:sts::${PRIMARY}:assumed-role/bucketmove-gateway/s`,
    principalArn: role,
    identityPolicies: [policy],
    action,
    resource,
    resourceAccount: account,
    ...(account === LEGACY ? { resourcePolicy: legacyBucketPolicy as never } : {}),
  });
  return out.decision;
}

test('dual-read: the new bucket as the app has it; on legacy read, list and delete, never write', async () => {
  const p = gatewayPolicy({ newBucketArn: NEW, legacy: { bucketArn: OLD, writesLegacy: false }, secretArns: [SECRET] });
  const cases: [string, string, string, string][] = [
    ['s3:GetObject', `${NEW}/chats/p.jpg`, PRIMARY, 'Allowed'],
    ['s3:PutObject', `${NEW}/chats/p.jpg`, PRIMARY, 'Allowed'],
    ['s3:PutObjectTagging', `${NEW}/chats/p.jpg`, PRIMARY, 'Allowed'],
    ['s3:DeleteObject', `${NEW}/chats/p.jpg`, PRIMARY, 'Allowed'],
    ['s3:AbortMultipartUpload', `${NEW}/chats/p.jpg`, PRIMARY, 'Allowed'],
    ['s3:ListBucket', NEW, PRIMARY, 'Allowed'],
    ['s3:GetObject', `${OLD}/chats/p.jpg`, LEGACY, 'Allowed'],
    ['s3:DeleteObject', `${OLD}/chats/p.jpg`, LEGACY, 'Allowed'],
    ['s3:ListBucket', OLD, LEGACY, 'Allowed'],
    ['s3:PutObject', `${OLD}/chats/p.jpg`, LEGACY, 'ImplicitlyDenied'],
    ['s3:DeleteObjectVersion', `${NEW}/chats/p.jpg`, PRIMARY, 'ImplicitlyDenied'],
    ['s3:DeleteObjectVersion', `${OLD}/chats/p.jpg`, LEGACY, 'ImplicitlyDenied'],
    ['s3:PutBucketPolicy', NEW, PRIMARY, 'ImplicitlyDenied'],
    ['s3:GetObject', 'arn:aws:s3:::someone-else/p.jpg', PRIMARY, 'ImplicitlyDenied'],
    ['secretsmanager:GetSecretValue', SECRET, PRIMARY, 'Allowed'],
    [
      'secretsmanager:GetSecretValue',
      `arn:aws:secretsmanager:eu-west-1:${PRIMARY}:secret:other-XyZ123`,
      PRIMARY,
      'ImplicitlyDenied',
    ],
  ];
  for (const [action, resource, account, expected] of cases) {
    expect({ action, resource, decision: await decision(p, action, resource, account) }).toEqual({
      action,
      resource,
      decision: expected,
    });
  }
});

test('read-both-write-legacy adds legacy PutObject; new-only has no legacy statement at all', async () => {
  const writes = gatewayPolicy({ newBucketArn: NEW, legacy: { bucketArn: OLD, writesLegacy: true } });
  expect(await decision(writes, 's3:PutObject', `${OLD}/chats/p.jpg`, LEGACY)).toBe('Allowed');
  const newOnly = gatewayPolicy({ newBucketArn: NEW });
  expect(JSON.stringify(newOnly)).not.toContain(OLD);
  expect(await decision(newOnly, 's3:GetObject', `${OLD}/chats/p.jpg`, LEGACY)).toBe('ImplicitlyDenied');
  expect(newOnly.Statement.map((s) => s.Sid)).toEqual(['ListTheNewBucket', 'ReadWriteDeleteNewObjects']);
});
