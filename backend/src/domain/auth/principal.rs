//! Who is asking: a person (signed in, or named by a trusted proxy or a
//! verified token) or an API token acting for its owner.

use std::net::IpAddr;

use mezame_shared::auth::{Role, Via};

use super::access::{Access, covers};

/// What a request carries that may say who sent it (read by the HTTP layer).
#[derive(Debug, Default, Clone, Copy)]
pub struct Credentials<'a> {
    /// `Authorization: Bearer …`: an API token (`mzm_…`) or an ID token.
    pub bearer: Option<&'a str>,
    /// The session cookie's secret.
    pub session: Option<&'a str>,
    /// `x-amzn-oidc-data` of an Application Load Balancer.
    pub alb_data: Option<&'a str>,
    pub forwarded_user: Option<&'a str>,
    pub forwarded_groups: Option<&'a str>,
    /// The address the connection came from.
    pub peer: Option<IpAddr>,
}

/// An API token's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenScope {
    pub id: String,
    pub role: Role,
    pub envs: Vec<String>,
    /// Made in the UI: also capped by its owner's role now (a binding
    /// removed from the owner takes it from their tokens too).
    pub capped_by_owner: bool,
}

/// The caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The audit log's actor: a user name (a token acts as its owner).
    pub name: String,
    pub groups: Vec<String>,
    pub via: Via,
    /// The session, when signed in through mezame.
    pub session_id: Option<String>,
    pub token: Option<TokenScope>,
}

impl Principal {
    pub fn person(name: &str, groups: Vec<String>, via: Via) -> Principal {
        Principal { name: name.to_string(), groups, via, session_id: None, token: None }
    }

    /// Sign-in is off: everyone is this admin.
    pub fn nobody_checked() -> Principal {
        Principal::person("anonymous", Vec::new(), Via::NoAuth)
    }

    /// Of `envs`, those this caller has a role in (may read), in order.
    pub fn readable<'a>(&self, access: &Access, envs: impl Iterator<Item = &'a str>) -> Vec<String> {
        envs.filter(|e| self.role_in(access, e).is_some()).map(str::to_string).collect()
    }

    /// The role in `env`.
    pub fn role_in(&self, access: &Access, env: &str) -> Option<Role> {
        if self.via == Via::NoAuth {
            return Some(Role::Admin);
        }
        let own = access.role_of(&self.name, &self.groups, env);
        match &self.token {
            None => own,
            Some(t) if !covers(&t.envs, env) && env != "*" => None,
            Some(t) if t.capped_by_owner => own.map(|o| o.min(t.role)),
            Some(t) => Some(t.role),
        }
    }

    /// Admin in every one of `envs` (manages others' tokens and sessions).
    pub fn is_admin_everywhere(&self, access: &Access, envs: &[&str]) -> bool {
        let all = if envs.is_empty() { vec!["*"] } else { envs.to_vec() };
        all.iter().all(|e| self.role_in(access, e) == Some(Role::Admin))
    }

    /// For messages: `omar (groups developers)` or `token "ci" of omar`.
    pub fn describe(&self) -> String {
        let groups = if self.groups.is_empty() { String::new() } else { format!(" (groups {})", self.groups.join(", ")) };
        match &self.token {
            Some(t) => format!("token {} of {}{groups}", t.id, self.name),
            None => format!("{}{groups}", self.name),
        }
    }
}
