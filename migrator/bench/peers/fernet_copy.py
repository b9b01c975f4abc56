#!/usr/bin/python3
"""The afternoon script the migrator must beat, written the way a team would write it (a peer in the migrator bench).

Lists the legacy bucket under a prefix, and with 16 threads: GET each object, decrypt it with MultiFernet, PUT the
plaintext into the new bucket with SSE-S3. No checkpoint, no conditional write, no provenance, no report: the bare copy.

Run with Debian's python3 (boto3 + cryptography). Everything comes from the environment (the bench sets it):
  PEER_ENDPOINT, PEER_REGION, PEER_SRC_BUCKET, PEER_SRC_KEY_ID, PEER_SRC_SECRET, PEER_DST_BUCKET, PEER_DST_KEY_ID,
  PEER_DST_SECRET, PEER_PREFIX, PEER_FERNET_KEYS (comma-separated, newest first), PEER_THREADS (16).
Prints "copied <n>" on stdout; any failure raises (non-zero exit).
"""
import os
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from cryptography.fernet import Fernet, MultiFernet

env = os.environ
threads = int(env.get("PEER_THREADS", "16"))
config = Config(max_pool_connections=threads, s3={"addressing_style": "path"}, retries={"mode": "standard"})


def client(key_id, secret):
    return boto3.client(
        "s3",
        endpoint_url=env["PEER_ENDPOINT"],
        region_name=env["PEER_REGION"],
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=config,
    )


src = client(env["PEER_SRC_KEY_ID"], env["PEER_SRC_SECRET"])
dst = client(env["PEER_DST_KEY_ID"], env["PEER_DST_SECRET"])
fernet = MultiFernet([Fernet(k) for k in env["PEER_FERNET_KEYS"].split(",")])
src_bucket, dst_bucket = env["PEER_SRC_BUCKET"], env["PEER_DST_BUCKET"]


def keys():
    for page in src.get_paginator("list_objects_v2").paginate(Bucket=src_bucket, Prefix=env.get("PEER_PREFIX", "")):
        for obj in page.get("Contents", []):
            yield obj["Key"]


def copy(key):
    got = src.get_object(Bucket=src_bucket, Key=key)
    plain = fernet.decrypt(got["Body"].read())
    dst.put_object(Bucket=dst_bucket, Key=key, Body=plain, ContentType=got.get("ContentType", "application/octet-stream"), ServerSideEncryption="AES256")
    return 1


with ThreadPoolExecutor(threads) as pool:
    print(f"copied {sum(pool.map(copy, keys()))}")
