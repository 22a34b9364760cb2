"""Schemathesis hooks for .ci/api-fuzz: how to send the import route's
JSON Lines body (application/x-ndjson), which schemathesis has no
serializer for."""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return (json.dumps(value) + "\n").encode()
