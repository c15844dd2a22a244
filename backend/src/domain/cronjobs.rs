//! CronJobs: their recent runs (from the watch cache), and running one by
//! hand, recorded in the audit log.

use std::time::{SystemTime, UNIX_EPOCH};

use mezame_shared::audit::AuditOutcome;
use mezame_shared::cronjobs::{CronJob, CronJobList, JobCreated, JobOutcome, JobRun};

use super::DomainError;
use super::audit;
use super::topology::Live;
use crate::adapters::db::{Db, NewAuditEntry};
use crate::adapters::kube::objects as k;
use crate::adapters::secrets;
use crate::domain::envs::Environment;

/// Jobs listed per CronJob.
const RECENT_JOBS: usize = 10;

pub fn list(live: &Live) -> CronJobList {
    let o = live.objects.read().unwrap();
    let cronjobs = o
        .cron_jobs()
        .map(|c| {
            let mut runs: Vec<JobRun> = o
                .jobs()
                .filter(|j| j.meta.namespace == c.meta.namespace && j.meta.owner("CronJob").is_some_and(|w| w.uid == c.meta.uid))
                .map(run_of)
                .collect();
            runs.sort_by(|a, b| b.started.cmp(&a.started).then(b.name.cmp(&a.name)));
            runs.truncate(RECENT_JOBS);
            CronJob {
                namespace: c.meta.namespace.clone(),
                name: c.meta.name.clone(),
                schedule: c.schedule.clone(),
                time_zone: c.time_zone.clone(),
                suspended: c.suspend,
                last_schedule: c.last_schedule,
                last_success: c.last_success,
                jobs: runs,
            }
        })
        .collect();
    CronJobList { env: live.env.clone(), cronjobs }
}

fn run_of(j: &k::Job) -> JobRun {
    let outcome = if j.failure.is_some() {
        JobOutcome::Failed
    } else if j.complete {
        JobOutcome::Succeeded
    } else {
        JobOutcome::Running
    };
    let end = if outcome == JobOutcome::Running { Some(chrono::Utc::now()) } else { j.finished };
    JobRun {
        name: j.meta.name.clone(),
        outcome,
        manual: j.manual,
        started: j.start.or(j.meta.created),
        finished: j.finished,
        duration_secs: match (j.start, end) {
            (Some(s), Some(e)) => Some((e - s).num_seconds().max(0)),
            _ => None,
        },
        message: j.failure.as_ref().map(|f| f.message.clone().or_else(|| f.reason.clone()).unwrap_or_else(|| "failed".into())),
    }
}

/// Creates a Job from the CronJob `namespace/name`, as `kubectl create job
/// --from=cronjob/` does, and records it in the audit log: the Job's name and
/// a SHA-256 of the template (which may hold inline `env` values), never the
/// template itself. In a protected environment `confirm` must be its name.
/// A Job whose creation cannot be audited is deleted again.
pub async fn run(
    db: &Db,
    env: &Environment,
    live: &Live,
    namespace: &str,
    name: &str,
    actor: &str,
    confirm: Option<&str>,
) -> Result<JobCreated, DomainError> {
    env.confirmed(confirm)?;
    let known = live.objects.read().unwrap().cron_jobs().any(|c| c.meta.namespace == namespace && c.meta.name == name);
    if !known {
        return Err(DomainError::NotFound(format!("no CronJob {namespace}/{name} in environment {}", live.env)));
    }
    let job_name = job_name(name);
    let cluster = env.cluster().await.map_err(|e| DomainError::Unavailable(e.to_string()))?;
    let result = cluster.create_job_from_cronjob(namespace, name, &job_name).await;
    let entry = NewAuditEntry {
        actor: actor.to_string(),
        action: "cronjob.run".into(),
        env: Some(live.env.clone()),
        target: Some(format!("cronjob/{namespace}/{name}")),
        before: None,
        after: result
            .as_ref()
            .ok()
            .map(|c| serde_json::json!({ "job": c.name, "template_sha256": secrets::hash(&c.template.to_string()) })),
        outcome: if result.is_ok() { AuditOutcome::Ok } else { AuditOutcome::Error },
        message: result.as_ref().err().map(|e| e.to_string()),
    };
    let job = result.as_ref().map(|c| c.name.clone()).unwrap_or_default();
    audit::record_or_undo(db, entry, result.is_ok(), || cluster.delete_job(namespace, &job)).await?;
    let created = result?;
    Ok(JobCreated { namespace: namespace.to_string(), job: created.name })
}

/// `<cronjob>-manual-<6 characters>`, at most 63 characters (a valid Job name).
pub fn job_name(cronjob: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut n = (nanos ^ (nanos >> 17)) as u64;
    let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
    let suffix: String = (0..6)
        .map(|_| {
            let c = alphabet[(n % alphabet.len() as u64) as usize] as char;
            n /= alphabet.len() as u64;
            c
        })
        .collect();
    let base: String = cronjob.chars().take(63 - "-manual-".len() - 6).collect();
    format!("{}-manual-{suffix}", base.trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_names_are_valid() {
        let n = super::job_name(&"x".repeat(80));
        assert!(n.len() <= 63, "{n}");
        assert!(super::job_name("mail-notification").starts_with("mail-notification-manual-"));
    }
}
