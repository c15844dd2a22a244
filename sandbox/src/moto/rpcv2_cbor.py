"""Smithy RPC v2 CBOR in front of moto, which speaks only AWS JSON for it.

AWS SDKs of 2025 and later call CloudWatch over `rpc-v2-cbor`:
`POST /service/<Service>/operation/<Operation>` with a CBOR body, header
`smithy-protocol: rpc-v2-cbor`, answered in CBOR. moto 5.2.5 has no CBOR
parser (PutMetricData fails with "unexpected type 0x3c: expected map": the
SDK reads moto's XML as CBOR), but it serves CloudWatch over `awsJson1_0`,
which carries the same shapes. This bridge turns such a request into the
JSON request moto understands (timestamps, CBOR tag 1, become epoch seconds;
blobs base64) and moto's JSON answer back into CBOR, typed by the botocore
model moto ships (timestamps as tag 1, doubles as floats). Errors keep their
status and `__type`.
"""

import base64
import datetime
import gzip
import io
import json

import botocore.session
import cbor2

# Smithy service shape name → botocore service name.
SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}

_models = {}


def _model(service):
    if service not in _models:
        _models[service] = botocore.session.get_session().get_service_model(service)
    return _models[service]


def _to_json(value):
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return value.value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _to_cbor(value, shape):
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {k: _to_cbor(v, shape.members.get(k)) for k, v in value.items()}
    if kind == "list":
        return [_to_cbor(v, shape.member) for v in value]
    if kind == "map":
        return {k: _to_cbor(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return cbor2.CBORTag(1, float(value))
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "blob":
        return base64.b64decode(value)
    return value


def target(environ):
    """(service, operation) of an RPC v2 CBOR request this bridge serves, else None."""
    if environ.get("HTTP_SMITHY_PROTOCOL") != "rpc-v2-cbor":
        return None
    parts = environ.get("PATH_INFO", "").split("/")
    if len(parts) != 5 or parts[1] != "service" or parts[3] != "operation" or parts[2] not in SERVICES:
        return None
    return parts[2], parts[4]


def serve(app, environ, start_response, service, operation):
    """Answers the CBOR request through `app` (moto's WSGI app) spoken to in JSON."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
        raw = gzip.decompress(raw)
    body = json.dumps(_to_json(cbor2.loads(raw)) if raw else {}).encode()
    inner = dict(environ)
    inner.pop("HTTP_CONTENT_ENCODING", None)
    inner.update(
        {
            "PATH_INFO": "/",
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_X_AMZ_TARGET": f"{service}.{operation}",
            "wsgi.input": io.BytesIO(body),
        }
    )
    answered = {}

    def capture(status, headers, exc_info=None):
        answered["status"], answered["headers"] = status, headers
        return lambda _data: None

    result = app(inner, capture)
    try:
        text = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status = answered["status"]
    decoded = json.loads(text) if text.strip() else {}
    if status.startswith("2"):
        shape = _model(SERVICES[service]).operation_model(operation).output_shape
        out = cbor2.dumps(_to_cbor(decoded, shape))
    else:
        out = cbor2.dumps(decoded)
    keep = [(k, v) for k, v in answered["headers"] if k.lower() not in ("content-type", "content-length")]
    start_response(
        status,
        keep
        + [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(out))),
        ],
    )
    return [out]
