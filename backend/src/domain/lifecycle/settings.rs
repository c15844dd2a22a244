//! Power settings: from the database once edited, else from the configuration;
//! validated against the world (time zones, node groups that exist) before
//! anything is stored.

use mezame_shared::power::PowerSettings;

use super::Lifecycle;
use crate::adapters::AdapterError;
use crate::domain::envs::Environment;
use crate::domain::{DomainError, Who};

impl Lifecycle {
    /// The environment's settings, or `None` if it has none.
    pub async fn settings(&self, env: &str) -> Result<Option<PowerSettings>, DomainError> {
        if let Some(s) = self.db.power_settings(env).await? {
            return Ok(Some(s));
        }
        Ok(self.envs.get(env).and_then(|e| e.config.power.clone()))
    }

    /// Validates and stores new settings; nothing is stored if any rule fails.
    pub async fn put_settings(&self, env: &Environment, settings: PowerSettings, who: &Who) -> Result<PowerSettings, DomainError> {
        self.may_operate(&env.config.name, who)?;
        let actor = who.name.as_str();
        let mut problems = settings.problems();
        if let Some(s) = &settings.schedule
            && s.time_zone.parse::<chrono_tz::Tz>().is_err()
        {
            problems.push(format!("schedule: unknown time zone {:?} (use an IANA name such as Europe/Paris)", s.time_zone));
        }
        if problems.is_empty() {
            problems.extend(unknown_groups(env, &settings).await?);
        }
        if !problems.is_empty() {
            return Err(DomainError::Invalid(format!("power settings of {} not saved: {}", env.config.name, problems.join("; "))));
        }
        let before = self.settings(&env.config.name).await?;
        self.db.put_power_settings(&env.config.name, &settings, actor).await?;
        self.audit(actor, "power.settings", &env.config.name, None, serde_json::to_value(&before).ok(), serde_json::to_value(&settings).ok(), None)
            .await;
        Ok(settings)
    }
}

/// Node groups and Auto Scaling groups the account does not have.
async fn unknown_groups(env: &Environment, s: &PowerSettings) -> Result<Vec<String>, DomainError> {
    let mut out = Vec::new();
    for g in &s.capacity {
        match env.aws().group_sizes(&s.eks_cluster, g.kind, &g.name).await {
            Ok(_) => {}
            Err(AdapterError::NotFound(m)) => out.push(m),
            Err(e) => return Err(DomainError::Unavailable(format!("cannot check the capacity groups in AWS: {e}"))),
        }
    }
    Ok(out)
}
