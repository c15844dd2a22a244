//! What dev's sleep schedule saves, against the sandbox: a schedule saved in
//! the power settings (as an admin does from the Environments page) becomes
//! the capacity view's monthly saving — each group that sleeps, at its awake
//! desired size and its instances' prices, for the hours the schedule keeps
//! it asleep — and goes when the schedule is removed.

use mezame_e2e::capacity::{TABLE, capacity, close, described, group};
use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::runs::send;
use mezame_e2e::{Server, eventually, get_json, sandbox_env_toml};
use mezame_shared::capacity::Capacity;
use mezame_shared::power::{GroupKind, PowerSettings};
use serde_json::json;

/// Weekdays 08:00–20:00: 168 h a week less 5 × 12 h awake.
const ASLEEP_HOURS: f64 = 108.0;

/// The hourly price of one more awake instance of the group, as the view
/// prices its running instances or nodes (checked against the shipped table
/// and moto's spot prices in `capacity.rs`): their mean.
fn unit_price(c: &Capacity, kind: GroupKind, name: &str) -> f64 {
    let g = group(c, kind, name);
    let prices: Vec<f64> = match kind {
        GroupKind::Asg => g.instances.iter().filter(|i| i.state == "InService").filter_map(|i| i.hourly).collect(),
        GroupKind::Nodegroup => g.nodes.iter().filter_map(|n| n.hourly).collect(),
    };
    assert!(!prices.is_empty(), "{name}: something runs and is priced in {:?}", g);
    prices.iter().sum::<f64>() / prices.len() as f64
}

#[tokio::test]
async fn a_saved_schedule_is_priced_as_the_sleeping_groups_awake_sizes_for_its_asleep_hours() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let (before, _) = described(&server, "dev").await;
    assert_eq!(before.cost.sleep_saving_monthly, None, "no schedule in the sandbox's settings");
    let (_, power) = get_json(&server.url("/api/envs/dev/power")).await;
    let settings: PowerSettings = serde_json::from_value(power["settings"].clone()).unwrap();
    let sleeping: Vec<_> = settings.capacity.iter().filter(|g| !g.always_on).collect();
    assert!(!sleeping.is_empty(), "dev has groups that sleep: {:?}", settings.capacity);

    let mut scheduled = serde_json::to_value(&settings).unwrap();
    let days = ["mon", "tue", "wed", "thu", "fri"];
    scheduled["schedule"] = json!({"days": days, "wake": "08:00", "sleep": "20:00", "time_zone": "Europe/Paris"});
    let (status, body) = send(reqwest::Method::PUT, &server.url("/api/envs/dev/power"), Some(scheduled)).await;
    assert_eq!(status, 200, "{body}");

    let c = eventually("the view prices the schedule", MINUTE, || async {
        let c = capacity(&server, "dev").await;
        c.cost.sleep_saving_monthly.is_some().then_some(c)
    })
    .await;
    assert_eq!(c.cost.asleep_hours_per_week, Some(ASLEEP_HOURS), "{:?}", c.cost);
    let hourly: f64 = sleeping.iter().map(|g| unit_price(&c, g.kind, &g.name) * f64::from(g.desired)).sum();
    let want = hourly * ASLEEP_HOURS * 730.0 / 168.0;
    let saving = c.cost.sleep_saving_monthly.unwrap();
    assert!(want > 0.0 && close(saving, want), "{saving} vs {want} ({hourly}/h awake)");
    // The managed group's part at the table's on-demand price: its nodes' price is the table's.
    for g in sleeping.iter().filter(|g| g.kind == GroupKind::Nodegroup) {
        let t = group(&c, g.kind, &g.name).instance_types[0].clone();
        let table = TABLE["regions"]["eu-west-1"][&t].as_f64().unwrap();
        assert!(close(unit_price(&c, g.kind, &g.name), table), "{}: {t} at the table's {table}", g.name);
    }
    assert!(!c.cost.total.notes.iter().any(|n| n.starts_with("sleep saving")), "every sleeping group is priced: {:?}", c.cost.total.notes);

    // The schedule removed: no saving again.
    let (status, body) =
        send(reqwest::Method::PUT, &server.url("/api/envs/dev/power"), Some(serde_json::to_value(&settings).unwrap())).await;
    assert_eq!(status, 200, "{body}");
    eventually("the saving goes with the schedule", MINUTE, || async {
        let c = capacity(&server, "dev").await;
        (c.cost.sleep_saving_monthly.is_none() && c.cost.asleep_hours_per_week.is_none()).then_some(())
    })
    .await;
}
