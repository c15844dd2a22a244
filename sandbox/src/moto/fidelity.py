"""moto's server, with what the sandbox needs of AWS that moto 5.2.5 leaves out.

Run instead of `python -m moto.server` (same arguments):
- EC2 reports an instance's `InstanceLifecycle` (`spot`): moto keeps it on the
  instance but never puts it in DescribeInstances.
- An Auto Scaling group with a MixedInstancesPolicy launches the share of its
  instances above the on-demand base that the policy makes spot as spot
  instances, spread over the overrides' instance types in order (moto launches
  every instance alike, on-demand, of the launch template's type).
- DescribeSpotPriceHistory answers a spot market: per instance type and zone,
  a fixed share (28-42 %, by type and zone) of the type's on-demand price in
  eu-west-1, stamped now (moto answers 0.00001 of 2006 for every type).
  Types the market does not list are not offered, as in AWS.
- A new load balancer gets a new DNS name, `<name>-<random digits>.<region>.elb.amazonaws.com`
  as in AWS (moto names every one `<name>-1`, so one re-created under the same name
  would keep its hostname: a wake would never need DNS to follow it).
- CloudWatch is also answered over Smithy RPC v2 CBOR, which AWS SDKs of 2025
  and later speak to it (see rpcv2_cbor.py, written next to this file).
"""

import datetime
import random
import zlib

import rpcv2_cbor

from moto import server
from moto.autoscaling.models import FakeAutoScalingGroup
from moto.core.responses import ActionResult
from moto.ec2.models.instances import Instance
from moto.ec2.responses.spot_instances import SpotInstances
from moto.elbv2.models import ELBv2Backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

Instance.instance_lifecycle = property(lambda self: getattr(self, "lifecycle", None))

_launch = FakeAutoScalingGroup.replace_autoscaling_group_instances


def _launch_mixed(self, count_needed, propagated_tags):
    before = {s.instance.id for s in self.instance_states}
    _launch(self, count_needed, propagated_tags)
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

_dispatch = DomainDispatcherApplication.__call__


def _dispatch_cbor_too(self, environ, start_response):
    rpc = rpcv2_cbor.target(environ)
    if rpc is None:
        return _dispatch(self, environ, start_response)
    return rpcv2_cbor.serve(lambda e, s: _dispatch(self, e, s), environ, start_response, *rpc)


DomainDispatcherApplication.__call__ = _dispatch_cbor_too

if __name__ == "__main__":
    server.main()
