/**
 * Who accessed the bucket of photos (the workspace's `primary.accessLogs`, workspaces/schema.ts accessLogsOf), in the
 * primary stack:
 *
 * - A log bucket in the primary account, hardened as the photos' bucket: public access blocked, ACLs disabled
 *   (BucketOwnerEnforced), SSE-S3 default encryption (S3 User Guide, "Enabling Amazon S3 server access logging": "You
 *   can use default bucket encryption on the destination bucket only if you use SSE-S3 ... SSE-KMS is not supported"),
 *   a lifecycle that expires the logs after `expirationDays` and aborts incomplete uploads, `prevent_destroy`, and a
 *   bucket policy (policies.logBucketPolicy) that admits only the delivering service, on behalf of this bucket (or
 *   trail) in this account, over TLS 1.2+.
 * - Either S3 server access logging of the photos' bucket into it (Security Hub S3.9), or a CloudTrail trail named by
 *   the workspace that records the S3 data events (object reads and writes) of the photos' bucket into it.
 *
 * The photos' bucket's own policy is untouched: log delivery writes only to the log bucket.
 */
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { Cloudtrail } from '@cdktf/provider-aws/lib/cloudtrail';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketLoggingA } from '@cdktf/provider-aws/lib/s3-bucket-logging';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import type { AccessLogs as AccessLogsConfig } from '../workspaces/schema';
import { bucketArn, cloudTrailArn, logBucketPolicy, type Partition, renderPolicy } from './policies';

export interface AccessLogsProps {
  readonly logs: AccessLogsConfig;
  readonly partition: Partition;
  readonly region: string;
  readonly accountId: string;
  /** The photos' bucket. */
  readonly source: S3Bucket;
  readonly sourceBucketName: string;
}

export class AccessLogs extends Construct {
  readonly logBucket: S3Bucket;

  constructor(scope: Construct, id: string, props: AccessLogsProps) {
    super(scope, id);
    const { logs } = props;
    const logBucketArn = bucketArn(props.partition, logs.bucket);
    const named = <T extends { overrideLogicalId(id: string): void }>(resource: T, logicalId: string): T => {
      resource.overrideLogicalId(logicalId);
      return resource;
    };

    this.logBucket = named(
      new S3Bucket(this, 'bucket', { bucket: logs.bucket, forceDestroy: false, lifecycle: { preventDestroy: true } }),
      'access-log-bucket',
    );
    const publicAccessBlock = named(
      new S3BucketPublicAccessBlock(this, 'public-access-block', {
        bucket: this.logBucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      }),
      'access-log-public-access-block',
    );
    named(
      new S3BucketOwnershipControls(this, 'ownership', {
        bucket: this.logBucket.id,
        rule: { objectOwnership: 'BucketOwnerEnforced' },
      }),
      'access-log-ownership',
    );
    named(
      new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
        bucket: this.logBucket.id,
        rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
      }),
      'access-log-encryption',
    );
    named(
      new S3BucketLifecycleConfiguration(this, 'lifecycle', {
        bucket: this.logBucket.id,
        rule: [
          {
            id: 'expire-access-logs',
            status: 'Enabled',
            filter: [{ prefix: '' }],
            expiration: [{ days: logs.expirationDays }],
          },
          {
            id: 'abort-incomplete-multipart-uploads',
            status: 'Enabled',
            filter: [{ prefix: '' }],
            abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
          },
        ],
      }),
      'access-log-lifecycle',
    );

    const trailArn =
      logs.type === 'cloudtrail'
        ? cloudTrailArn(props.partition, props.region, props.accountId, logs.trailName)
        : undefined;
    const policy = named(
      new S3BucketPolicy(this, 'policy', {
        bucket: this.logBucket.id,
        policy: renderPolicy(
          logBucketPolicy({
            logBucketArn,
            prefix: logs.prefix,
            sourceAccount: props.accountId,
            delivery: trailArn
              ? { kind: 'cloudtrail', trailArn }
              : { kind: 'server-access-logs', sourceBucketArn: bucketArn(props.partition, props.sourceBucketName) },
          }),
        ),
        dependsOn: [publicAccessBlock],
      }),
      'access-log-bucket-policy',
    );

    if (logs.type === 'server-access-logs') {
      named(
        new S3BucketLoggingA(this, 'logging', {
          bucket: props.source.id,
          targetBucket: this.logBucket.id,
          targetPrefix: logs.prefix,
          // Log objects under <prefix><account>/<region>/<bucket>/<yyyy>/<mm>/<dd>/: partitioned for queries.
          targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: 'EventTime' } },
          // The service must be allowed to deliver before logging is switched on.
          dependsOn: [policy],
        }),
        'access-logging',
      );
    } else {
      named(
        new Cloudtrail(this, 'trail', {
          name: logs.trailName,
          s3BucketName: this.logBucket.id,
          s3KeyPrefix: logs.prefix.replace(/\/$/, ''),
          enableLogging: true,
          enableLogFileValidation: true,
          includeGlobalServiceEvents: false,
          isMultiRegionTrail: false,
          // Data events only, of the photos' bucket's objects (reads and writes); no management events.
          advancedEventSelector: [
            {
              name: `S3 data events of ${props.sourceBucketName}`,
              fieldSelector: [
                { field: 'eventCategory', equalTo: ['Data'] },
                { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
                { field: 'resources.ARN', startsWith: [`${bucketArn(props.partition, props.sourceBucketName)}/`] },
              ],
            },
          ],
          dependsOn: [policy],
        }),
        'access-trail',
      );
    }

    new TerraformOutput(scope, 'access_log_bucket', {
      value: this.logBucket.bucket,
      description: 'Where the access logs of the bucket go',
    });
  }
}
