"""moto's server, with what the sandbox needs of AWS that moto 5.2.5 leaves out.

Run instead of `python -m moto.server` (same arguments):
- EC2 reports an instance's `InstanceLifecycle` (`spot`): moto keeps it on the
  instance but never puts it in DescribeInstances.
- An Auto Scaling group with a MixedInstancesPolicy launches the share of its
  instances above the on-demand base that the policy makes spot as spot
  instances, spread over the overrides' instance types in order (moto launches
  every instance alike, on-demand, of the launch template's type).
"""

from moto import server
from moto.autoscaling.models import FakeAutoScalingGroup
from moto.ec2.models.instances import Instance

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

if __name__ == "__main__":
    server.main()
