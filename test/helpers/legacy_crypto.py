#!/usr/bin/env python3
"""The legacy app's encryption, with Python's `cryptography` (the reference implementation), for tests.

usage: legacy_crypto.py fernet-encrypt|fernet-decrypt|gcm-encrypt|gcm-decrypt
  stdin: the input bytes; stdout: the output bytes.
  env:   LEGACY_KEYS   keys, comma-separated (Fernet: base64url; GCM: base64), newest first
         LEGACY_AAD    optional AAD for AES-GCM (UTF-8)
Exit status 3 on InvalidToken / InvalidTag.
"""
import base64
import os
import sys

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def main() -> int:
    op = sys.argv[1]
    keys = [k for k in os.environ["LEGACY_KEYS"].split(",") if k]
    aad = os.environ.get("LEGACY_AAD")
    aad_bytes = aad.encode("utf-8") if aad is not None else None
    data = sys.stdin.buffer.read()
    try:
        if op == "fernet-encrypt":
            out = Fernet(keys[0]).encrypt(data)
        elif op == "fernet-decrypt":
            out = MultiFernet([Fernet(k) for k in keys]).decrypt(data)
        elif op == "gcm-encrypt":
            nonce = os.urandom(12)
            out = nonce + AESGCM(base64.b64decode(keys[0])).encrypt(nonce, data, aad_bytes)
        elif op == "gcm-decrypt":
            out = None
            for k in keys:
                try:
                    out = AESGCM(base64.b64decode(k)).decrypt(data[:12], data[12:], aad_bytes)
                    break
                except InvalidTag:
                    continue
            if out is None:
                raise InvalidTag()
        else:
            print(f"unknown op {op}", file=sys.stderr)
            return 2
    except (InvalidToken, InvalidTag):
        print("invalid token or tag", file=sys.stderr)
        return 3
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
