"""The gateway scenario from boto3 (Debian's python3-boto3): run by test/integration/gateway.test.ts.

Reads its settings as JSON from the BM_GATEWAY_SCENARIO variable and prints one JSON object of what it saw: the
SHA-256 of each body read, the keys listed, the status of a HEAD after the delete.
"""
import hashlib
import json
import os
import sys
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

s = json.loads(os.environ["BM_GATEWAY_SCENARIO"])
client = boto3.client(
    "s3",
    endpoint_url=s["endpoint"],
    region_name=s["region"],
    aws_access_key_id=s["accessKeyId"],
    aws_secret_access_key=s["secretAccessKey"],
    config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
sha = lambda b: hashlib.sha256(b).hexdigest()
bucket = s["bucket"]
out = {}
body = bytes.fromhex(s["uploadHex"])
client.put_object(Bucket=bucket, Key=s["uploadKey"], Body=body, ContentType="image/jpeg", Metadata={"owner": "boto3"})
got = client.get_object(Bucket=bucket, Key=s["uploadKey"])
out["upload"] = sha(got["Body"].read())
out["uploadMeta"] = got["Metadata"].get("owner")
out["migrated"] = sha(client.get_object(Bucket=bucket, Key=s["migratedKey"])["Body"].read())
out["legacy"] = sha(client.get_object(Bucket=bucket, Key=s["legacyKey"])["Body"].read())
ranged = client.get_object(Bucket=bucket, Key=s["legacyKey"], Range="bytes=10-99")
out["range"] = sha(ranged["Body"].read())
out["rangeStatus"] = ranged["ResponseMetadata"]["HTTPStatusCode"]
keys = []
for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=s["listPrefix"], PaginationConfig={"PageSize": 2}):
    keys += [o["Key"] for o in page.get("Contents", [])]
out["list"] = keys
url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": s["legacyKey"]}, ExpiresIn=300)
out["presigned"] = sha(urllib.request.urlopen(url).read())
client.delete_object(Bucket=bucket, Key=s["uploadKey"])
try:
    client.head_object(Bucket=bucket, Key=s["uploadKey"])
    out["afterDelete"] = 200
except botocore.exceptions.ClientError as e:
    out["afterDelete"] = int(e.response["ResponseMetadata"]["HTTPStatusCode"])
try:
    client.get_object(Bucket=bucket, Key=s["uploadKey"])
except botocore.exceptions.ClientError as e:
    out["getAfterDelete"] = e.response["Error"]["Code"]
json.dump(out, sys.stdout)
