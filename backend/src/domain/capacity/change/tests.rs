use mezame_shared::capacity::{GroupChange, MixChange, Sizes};
use mezame_shared::power::GroupKind;

use super::check;

fn mix(pct: i32, strategy: &str, types: &[&str]) -> MixChange {
    MixChange {
        on_demand_base: 0,
        on_demand_percent_above_base: pct,
        spot_allocation_strategy: strategy.into(),
        instance_types: types.iter().map(|t| t.to_string()).collect(),
    }
}

fn sizes(min: i32, desired: i32, max: i32) -> GroupChange {
    GroupChange { sizes: Some(Sizes { min, desired, max }), ..Default::default() }
}

#[test]
fn sizes_need_min_desired_max_in_order_and_a_managed_max_of_one() {
    assert_eq!(check(GroupKind::Nodegroup, false, &sizes(1, 2, 3)), (vec![], vec![]));
    let (refused, _) = check(GroupKind::Asg, true, &sizes(3, 2, 5));
    assert!(refused[0].contains("min ≤ desired ≤ max"), "{refused:?}");
    let (refused, _) = check(GroupKind::Nodegroup, false, &sizes(0, 0, 0));
    assert!(refused.iter().any(|r| r.contains("max ≥ 1")), "{refused:?}");
    assert!(check(GroupKind::Asg, true, &sizes(0, 0, 0)).0.is_empty(), "an Auto Scaling group may be 0/0/0");
    assert!(check(GroupKind::Asg, true, &sizes(-1, 0, 1)).0.iter().any(|r| r.contains("≥ 0")));
    assert!(check(GroupKind::Asg, true, &GroupChange::default()).0[0].contains("nothing to change"));
}

#[test]
fn spot_needs_two_types_warns_below_three_and_a_known_strategy() {
    let with = |m: MixChange| GroupChange { mix: Some(m), ..Default::default() };
    let (refused, _) = check(GroupKind::Asg, true, &with(mix(0, "price-capacity-optimized", &["m6i.large"])));
    assert!(refused.iter().any(|r| r.contains("at least 2")), "{refused:?}");
    let (refused, warned) = check(GroupKind::Asg, true, &with(mix(0, "price-capacity-optimized", &["m6i.large", "m5.large"])));
    assert!(refused.is_empty(), "{refused:?}");
    assert!(warned.iter().any(|w| w.contains("3 or more")), "{warned:?}");
    let (refused, warned) = check(GroupKind::Asg, true, &with(mix(20, "capacity-optimized", &["m6i.large", "m5.large", "m5a.large"])));
    assert!(refused.is_empty(), "{refused:?}");
    assert!(warned.iter().any(|w| w.contains("recommended")), "{warned:?}");
    // All on-demand: one type is fine, but say there is no spot.
    let (refused, warned) = check(GroupKind::Asg, true, &with(mix(100, "price-capacity-optimized", &["m6i.large"])));
    assert!(refused.is_empty(), "{refused:?}");
    assert!(warned.iter().any(|w| w.contains("no spot")), "{warned:?}");
    let (refused, _) = check(GroupKind::Asg, true, &with(mix(101, "cheapest", &["m6i.large", "M5", "m6i.large"])));
    assert_eq!(refused.len(), 4, "percent, strategy, bad type, duplicate: {refused:?}");
}

#[test]
fn a_mix_needs_a_mixed_auto_scaling_group() {
    let m = GroupChange { mix: Some(mix(0, "price-capacity-optimized", &["m6i.large", "m5.large", "m5a.large"])), ..Default::default() };
    assert!(check(GroupKind::Nodegroup, false, &m).0[0].contains("managed node group has no spot mix"));
    assert!(check(GroupKind::Asg, false, &m).0[0].contains("no MixedInstancesPolicy"));
    assert!(check(GroupKind::Asg, true, &m).0.is_empty());
}
