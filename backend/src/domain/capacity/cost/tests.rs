//! Costs from the shipped table and given spot prices.

use std::collections::BTreeMap;

use chrono::Utc;
use mezame_shared::capacity::{Capacity, Group, Mix, NodeRow, Totals};
use mezame_shared::power::{CapacityGroup, GroupKind, PowerSettings, Schedule, WEEKDAYS};
use serde_json::json;

use super::*;
use crate::domain::capacity::fixtures::{group, instance, node_row};

const REGION: &str = "eu-west-1";
// The shipped table's eu-west-1 prices.
const T3_MEDIUM: f64 = 0.0456;
const T3_LARGE: f64 = 0.0912;
const M5_LARGE: f64 = 0.107;

/// Equal, as rounded: hourly prices to 1/10,000 of a dollar, monthly figures to the cent.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < if b.abs() < 10.0 { 2e-4 } else { 0.01 }
}

fn capacity(groups: Vec<Group>, other_nodes: Vec<NodeRow>) -> Capacity {
    Capacity {
        env: "dev".into(),
        cluster: "platform-dev".into(),
        described_at: Some(Utc::now()),
        aws_error: None,
        nodes_synced: true,
        groups,
        other_nodes,
        totals: Totals::default(),
        cost: Default::default(),
        spot_risk: vec![],
        spot_moves: vec![],
        interruptions: vec![],
    }
}

fn system() -> Group {
    let mut g = group(GroupKind::Nodegroup, "system");
    g.instance_types = vec!["t3.medium".into()];
    let node = |name: &str, zone: &str| NodeRow {
        instance_type: Some("t3.medium".into()),
        zone: Some(zone.into()),
        capacity_type: Some("on-demand".into()),
        ..node_row(name)
    };
    g.nodes = vec![node("sys-1", "eu-west-1a"), node("sys-2", "eu-west-1b")];
    g
}

/// Two running spot t3.large (1a, 1b), one running on-demand m5.large, one spot terminating.
fn spot_asg() -> Group {
    let mut g = group(GroupKind::Asg, "platform-dev-spot");
    g.instance_types = vec!["t3.large".into(), "m5.large".into()];
    g.mix = Some(Mix {
        on_demand_base: 1,
        on_demand_percent_above_base: 0,
        spot_allocation_strategy: Some("price-capacity-optimized".into()),
        instance_types: g.instance_types.clone(),
        capacity_rebalance: true,
        launch_template: None,
    });
    let mut b = instance("i-b", "spot");
    b.zone = "eu-west-1b".into();
    let mut od = instance("i-od", "on-demand");
    od.instance_type = "m5.large".into();
    let mut gone = instance("i-gone", "spot");
    gone.state = "Terminating".into();
    g.instances = vec![instance("i-a", "spot"), b, od, gone];
    g
}

fn spot_prices() -> SpotPrices {
    SpotPrices {
        by_type_zone: [(("t3.large", "eu-west-1a"), 0.03), (("t3.large", "eu-west-1b"), 0.035)]
            .into_iter()
            .map(|((t, z), p)| ((t.to_string(), z.to_string()), p))
            .collect(),
        at: Some(Utc::now()),
        ..SpotPrices::default()
    }
}

#[test]
fn a_group_costs_its_running_instances_or_its_nodes_at_the_table_and_ec2_spot_prices() {
    let table = PriceTable::new(BTreeMap::new()).unwrap();
    let spot = spot_prices();
    let mut c = capacity(vec![system(), spot_asg()], vec![]);
    apply(&mut c, &Pricing { table: &table, spot: &spot, region: REGION }, None);

    let sys = &c.groups[0].cost;
    assert!(close(sys.hourly, 2.0 * T3_MEDIUM) && !sys.estimated, "{sys:?}");
    assert!(close(sys.monthly, 2.0 * T3_MEDIUM * 730.0), "{sys:?}");
    assert_eq!(c.groups[0].nodes[0].hourly, Some(T3_MEDIUM));

    let asg = &c.groups[1];
    assert!(
        close(asg.cost.hourly, 0.03 + 0.035 + M5_LARGE) && !asg.cost.estimated,
        "the terminating instance is not billed: {:?}",
        asg.cost
    );
    assert_eq!(asg.instances.iter().map(|i| i.hourly).collect::<Vec<_>>(), vec![Some(0.03), Some(0.035), Some(M5_LARGE), Some(0.03)]);

    assert!(close(c.cost.total.hourly, 2.0 * T3_MEDIUM + 0.03 + 0.035 + M5_LARGE) && !c.cost.total.estimated, "{:?}", c.cost);
    assert!(close(c.cost.spot_saving_monthly, (2.0 * T3_LARGE - 0.065) * 730.0), "{:?}", c.cost);
    assert_eq!(c.cost.sleep_saving_monthly, None, "no schedule");
    assert_eq!(c.cost.prices.region, REGION);
    assert!(c.cost.prices.spot_described_at.is_some());
}

#[test]
fn spot_without_an_ec2_price_is_priced_at_on_demand_and_marked_estimated_and_saves_nothing() {
    let table = PriceTable::new(BTreeMap::new()).unwrap();
    let spot = SpotPrices { error: Some("UnauthorizedOperation".into()), ..SpotPrices::default() };
    let mut c = capacity(vec![spot_asg()], vec![NodeRow { instance_type: None, ..node_row("fargate-1") }]);
    apply(&mut c, &Pricing { table: &table, spot: &spot, region: REGION }, None);
    let cost = &c.groups[0].cost;
    assert!(close(cost.hourly, 2.0 * T3_LARGE + M5_LARGE), "{cost:?}");
    assert!(
        cost.estimated && cost.notes.iter().any(|n| n.contains("UnauthorizedOperation") && n.contains("priced at on-demand")),
        "{cost:?}"
    );
    assert_eq!(c.cost.spot_saving_monthly, 0.0, "an estimate at on-demand saves nothing");
    assert!(c.cost.total.estimated);
    assert!(c.cost.total.notes.iter().any(|n| n.contains("fargate-1") && n.contains("not counted")), "{:?}", c.cost.total.notes);
}

#[test]
fn the_sleep_schedule_saves_the_awake_groups_for_the_hours_asleep() {
    let table = PriceTable::new(BTreeMap::new()).unwrap();
    let spot = spot_prices();
    let mut settings: PowerSettings = serde_json::from_value(json!({"eks_cluster": "platform-dev"})).unwrap();
    settings.schedule = Some(Schedule {
        days: ["mon", "tue", "wed", "thu", "fri"].map(String::from).to_vec(),
        wake: "08:00".into(),
        sleep: "20:00".into(),
        time_zone: "Europe/Paris".into(),
    });
    let awake = |kind, name: &str, desired, always_on| CapacityGroup { kind, name: name.into(), min: 0, desired, max: 10, always_on };
    settings.capacity = vec![awake(GroupKind::Nodegroup, "system", 2, true), awake(GroupKind::Asg, "platform-dev-spot", 6, false)];
    let mut c = capacity(vec![system(), spot_asg()], vec![]);
    apply(&mut c, &Pricing { table: &table, spot: &spot, region: REGION }, Some(&settings));
    assert_eq!(c.cost.asleep_hours_per_week, Some(168.0 - 5.0 * 12.0));
    // 6 instances at the mean price of the 3 running now, asleep 108 of 168 hours.
    let unit = (0.03 + 0.035 + M5_LARGE) / 3.0;
    let want = 6.0 * unit * 108.0 * 730.0 / 168.0;
    assert!(close(c.cost.sleep_saving_monthly.unwrap(), want), "{:?} vs {want}", c.cost.sleep_saving_monthly);

    // Asleep (nothing runs): priced as its first type by its policy (spot), said to be estimated.
    let mut asleep = spot_asg();
    asleep.instances.clear();
    let mut c = capacity(vec![system(), asleep], vec![]);
    apply(&mut c, &Pricing { table: &table, spot: &spot, region: REGION }, Some(&settings));
    let want = 6.0 * 0.0325 * 108.0 * 730.0 / 168.0;
    assert!(close(c.cost.sleep_saving_monthly.unwrap(), want), "{:?} vs {want}", c.cost.sleep_saving_monthly);
    assert!(
        c.cost.total.notes.iter().any(|n| n.starts_with("sleep saving:") && n.contains("nothing runs now")),
        "{:?}",
        c.cost.total.notes
    );
}

#[test]
fn hours_asleep_per_week_past_midnight_and_every_day() {
    let s = |days: &[&str], wake: &str, sleep: &str| Schedule {
        days: days.iter().map(|d| d.to_string()).collect(),
        wake: wake.into(),
        sleep: sleep.into(),
        time_zone: "UTC".into(),
    };
    assert_eq!(asleep_hours_per_week(&s(&["mon"], "22:00", "06:00")), 160.0);
    assert_eq!(asleep_hours_per_week(&s(&WEEKDAYS, "07:30", "19:30")), 84.0);
}
