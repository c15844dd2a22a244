"""moto's server, with what the sandbox needs of AWS that moto 5.2.5 leaves out.

Run instead of `python -m moto.server` (same arguments):
- EC2 reports an instance's `InstanceLifecycle` (`spot`): moto keeps it on the
  instance but never puts it in DescribeInstances.
- An Auto Scaling group with a MixedInstancesPolicy launches the share of its
  instances above the on-demand base that the policy makes spot as spot
  instances, spread over the overrides' instance types in order (moto launches
  every instance alike, on-demand, of the launch template's type).
- An Auto Scaling group launches each instance in the least used of its
  subnets, so across its zones as AWS balances them (moto launches every one in
  the first subnet listed: one zone).
- DescribeSpotPriceHistory answers a spot market: per instance type and zone,
  a fixed share (28-42 %, by type and zone) of the type's on-demand price in
  eu-west-1, stamped now (moto answers 0.00001 of 2006 for every type).
  Types the market does not list are not offered, as in AWS.
- A new load balancer gets a new DNS name, `<name>-<random digits>.<region>.elb.amazonaws.com`
  as in AWS (moto names every one `<name>-1`, so one re-created under the same name
  would keep its hostname: a wake would never need DNS to follow it).
- Route 53 refuses a CREATE only when a record set of that name and type
  exists, as AWS does (moto refused a CREATE it had seen before whenever any
  record sorted after it — external-dns re-creating its TXT ownership record
  after deleting it was refused for ever).
- CloudWatch is also answered over Smithy RPC v2 CBOR, which AWS SDKs of 2025
  and later speak to it (see rpcv2_cbor.py, written next to this file).
- IAM enforcement (moto's, turned on by `POST /moto-api/reset-auth` with `0`)
  leaves out the sandbox's own machinery — the emulated controllers, signed
  with the access key `sandbox` (SANDBOX_KEY) — so the cluster keeps following
  AWS while everyone else's calls are checked against their IAM policies. Its
  refusals are answered in the service's own protocol (moto answers every one
  in one XML shape, which an SDK cannot read for EKS's JSON, for instance), and
  a signature is checked over the body as sent (moto checked it over what it
  parsed: for a GET, its headers; for a form POST, its parsed parameters —
  every call failed with SignatureDoesNotMatch).
"""

import collections
import datetime
import io
import random
import uuid
from xml.sax.saxutils import escape
import zlib

import rpcv2_cbor

from moto import server
from botocore.awsrequest import AWSRequest
from moto.autoscaling.models import FakeAutoScalingGroup
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.core.responses import ActionResult
from moto.ec2.models.instances import Instance
from moto.iam.access_control import IAMRequestBase
from moto.ec2.responses.spot_instances import SpotInstances
from moto.elbv2.models import ELBv2Backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.route53.exceptions import ResourceRecordAlreadyExists
from moto.route53.models import Route53Backend

Instance.instance_lifecycle = property(lambda self: getattr(self, "lifecycle", None))

_launch = FakeAutoScalingGroup.replace_autoscaling_group_instances


def _launch_spread(self, count_needed, propagated_tags):
    subnets = [s for s in (self.vpc_zone_identifier or "").split(",") if s]
    if len(subnets) < 2:
        return _launch(self, count_needed, propagated_tags)
    given = self.vpc_zone_identifier
    try:
        for _ in range(count_needed):
            # moto launches in the first subnet listed: list the least used first.
            used = collections.Counter(s.instance.subnet_id for s in self.instance_states)
            first = min(subnets, key=lambda s: (used[s], subnets.index(s)))
            self.vpc_zone_identifier = ",".join([first] + [s for s in subnets if s != first])
            _launch(self, 1, dict(propagated_tags))
    finally:
        self.vpc_zone_identifier = given


def _launch_mixed(self, count_needed, propagated_tags):
    before = {s.instance.id for s in self.instance_states}
    _launch_spread(self, count_needed, propagated_tags)
    policy = self.mixed_instances_policy or {}
    if not policy:
        return
    dist = policy.get("InstancesDistribution") or {}
    base = int(dist.get("OnDemandBaseCapacity", 0))
    pct = int(dist.get("OnDemandPercentageAboveBaseCapacity", 100))
    overrides = [o["InstanceType"] for o in (policy.get("LaunchTemplate") or {}).get("Overrides", []) if o.get("InstanceType")]
    above = max(len(self.instance_states) - base, 0)
    spot_wanted = above - (above * pct + 99) // 100
    spot = sum(1 for s in self.instance_states if s.instance.lifecycle == "spot")
    for n, s in enumerate(x for x in self.instance_states if x.instance.id not in before):
        if spot < spot_wanted:
            s.instance.lifecycle = "spot"
            spot += 1
        if overrides:
            s.instance.instance_type = s.instance_type = overrides[(len(before) + n) % len(overrides)]


FakeAutoScalingGroup.replace_autoscaling_group_instances = _launch_mixed

# eu-west-1 on-demand, Linux, USD per hour: the sandbox's market's reference.
ON_DEMAND = {
    "t3.small": 0.0228,
    "t3.medium": 0.0456,
    "t3.large": 0.0912,
    "t3a.large": 0.0816,
    "t3.xlarge": 0.1824,
    "m5.large": 0.107,
    "m5a.large": 0.096,
    "m5.xlarge": 0.214,
    "m6i.large": 0.107,
}


def spot_price(instance_type, zone):
    share = 0.28 + (zlib.crc32(f"{instance_type}/{zone}".encode()) % 15) / 100
    return round(ON_DEMAND[instance_type] * share, 6)


def _describe_spot_price_history(self):
    types = self._get_param("InstanceTypes", [])
    offered = self.ec2_backend.describe_spot_price_history(types, self._filters_from_querystring())
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    history = [
        {
            "InstanceType": o["InstanceType"],
            "ProductDescription": "Linux/UNIX",
            "SpotPrice": f"{spot_price(o['InstanceType'], o['Location']):.6f}",
            "AvailabilityZone": o["Location"],
            "Timestamp": now,
        }
        for o in offered
        if o["InstanceType"] in ON_DEMAND
    ]
    return ActionResult({"SpotPriceHistory": history})


SpotInstances.describe_spot_price_history = _describe_spot_price_history


_create_lb = ELBv2Backend.create_load_balancer


def _create_lb_with_new_name(self, *args, **kwargs):
    lb = _create_lb(self, *args, **kwargs)
    lb.dns_name = f"{lb.name}-{random.randrange(10**9, 10**10)}.{self.region_name}.elb.amazonaws.com"
    return lb


ELBv2Backend.create_load_balancer = _create_lb_with_new_name

_change_rrsets = Route53Backend.change_resource_record_sets


def _change_rrsets_exact(self, zoneid, change_list):
    zone = self.get_hosted_zone(zoneid)
    for change in change_list:
        if change["Action"] != "CREATE":
            continue
        rrset = change["ResourceRecordSet"]
        name, kind, set_id = rrset["Name"].rstrip(".") + ".", rrset["Type"], rrset.get("SetIdentifier")
        if any(r.name == name and r.type == kind and r.set_identifier == set_id for r in zone.rrsets):
            raise ResourceRecordAlreadyExists(name=name, _type=kind)
    # moto's own check lists the zone from that name on; it sees only the exact one now.
    zone.get_record_sets = lambda start_type, start_name: [r for r in zone.rrsets if r.name == start_name and r.type == start_type]
    try:
        return _change_rrsets(self, zoneid, change_list)
    finally:
        del zone.get_record_sets


Route53Backend.change_resource_record_sets = _change_rrsets_exact

_dispatch = DomainDispatcherApplication.__call__
# Where the dispatcher keeps a request's body as sent (for its signature).
RAW_BODY = "mezame.raw_body"


def _dispatch_cbor_too(self, environ, start_response):
    rpc = rpcv2_cbor.target(environ)
    if rpc is None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            environ[RAW_BODY] = body
        return _dispatch(self, environ, start_response)
    return rpcv2_cbor.serve(lambda e, s: _dispatch(self, e, s), environ, start_response, *rpc)


DomainDispatcherApplication.__call__ = _dispatch_cbor_too

SANDBOX_KEY = "sandbox"
_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


# Error shapes by the signing name of the services mezame calls.
_PROTOCOL = {"eks": "json", "ec2": "ec2", "autoscaling": "query", "elasticloadbalancing": "query", "rds": "query",
             "route53": "query", "sts": "query", "iam": "query"}
_XML = {
    "query": "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
             "<RequestId>{id}</RequestId></ErrorResponse>",
    "ec2": "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
           "<RequestID>{id}</RequestID></Response>",
}


def _in_protocol(error, authorization):
    scope = authorization.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    protocol = _PROTOCOL.get(scope[3] if len(scope) > 3 else "")
    if protocol == "json":
        code = "AccessDeniedException" if error.error_type == "AccessDenied" else error.error_type
        json_error = JsonRESTError(code, error.message)
        json_error.code = error.code
        return json_error
    if protocol in _XML:
        error.description = _XML[protocol].format(code=escape(error.error_type), message=escape(error.message), id=uuid.uuid4())
    return error




def _request_as_signed(self):
    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    request = AWSRequest(method=self._method, url=self._path, data=self._body or b"", headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


IAMRequestBase._create_aws_request = _request_as_signed


def _authorize_all_but_the_sandbox(self, iam_request_cls, resource="*"):
    authorization = self.headers.get("Authorization") or ""
    if f"Credential={SANDBOX_KEY}/" in authorization:
        return
    parsed = self.raw_body
    # The body as sent (a form's was consumed by parsing it), for the signature.
    self.raw_body = self.normalized_request.environ.get(RAW_BODY, parsed)
    try:
        _authorize(self, iam_request_cls, resource)
    except _RESTError as error:
        raise _in_protocol(error, authorization) from None
    finally:
        self.raw_body = parsed


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize_all_but_the_sandbox

if __name__ == "__main__":
    server.main()
