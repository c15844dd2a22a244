//! The databases step of both runs: RDS instances and the EC2 instances
//! (Redis) the settings name, stopped by a sleep (its last step) and started
//! by a wake (its first), each waiting until AWS reports them so.

use std::time::Duration;

use serde_json::json;

use super::find;
use crate::domain::lifecycle::ctx::{Ctx, Outcome, StepResult, done_unless};

/// Which way the databases go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    Stopped,
    Running,
}

impl Toward {
    /// RDS status and EC2 states a call moves from; the RDS status and EC2 state waited for.
    fn states(self) -> (&'static str, &'static [&'static str], &'static str, &'static str) {
        match self {
            Toward::Stopped => ("available", &["running", "pending"], "stopped", "stopped"),
            Toward::Running => ("stopped", &["stopped"], "available", "running"),
        }
    }
}

/// Stops or starts what is not yet as wanted, then waits for all of it.
pub async fn turn(ctx: &Ctx<'_>, toward: Toward) -> StepResult<Outcome> {
    let s = &ctx.settings;
    let (rds_from, ec2_from, rds_done, ec2_done) = toward.states();
    let mut changed = Vec::new();
    for id in &s.rds {
        if ctx.aws().rds_status(id).await? == rds_from {
            match toward {
                Toward::Stopped => ctx.aws().rds_stop(id).await?,
                Toward::Running => ctx.aws().rds_start(id).await?,
            }
            changed.push(format!("rds {id}"));
        }
    }
    for n in &s.ec2 {
        let ids: Vec<String> =
            ctx.aws().instances_named(n).await?.into_iter().filter(|i| ec2_from.contains(&i.state.as_str())).map(|i| i.id).collect();
        if !ids.is_empty() {
            match toward {
                Toward::Stopped => ctx.aws().ec2_stop(&ids).await?,
                Toward::Running => ctx.aws().ec2_start(&ids).await?,
            }
            changed.push(format!("ec2 {n} ({})", ids.join(",")));
        }
    }
    let (what, done) = match toward {
        Toward::Stopped => ("databases stopped", "stopped"),
        Toward::Running => ("databases running", "started"),
    };
    ctx.wait(what, Duration::from_secs(s.timeouts.databases), || async move {
        Ok(done_unless(find::databases_not(ctx, rds_done, ec2_done).await?))
    })
    .await?;
    Ok(Outcome::new(format!("{} database instances {done}", changed.len()), json!({ done: changed })))
}
