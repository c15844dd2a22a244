//! Roles: who has which role in which environment, from the configuration's
//! bindings (`[[auth.bind]]`, like Argo CD's `policy.csv`) and the default role
//! of anyone signed in. Pure: no I/O.

use mezame_shared::auth::Role;

use crate::config::auth::Binding;

/// The bindings and the default role.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Role of anyone signed in whom no binding names (`None`: no access).
    pub default_role: Option<Role>,
    pub bindings: Vec<Binding>,
}

/// Whether `envs` (names or `*`) covers `env`.
pub fn covers(envs: &[String], env: &str) -> bool {
    envs.iter().any(|e| e == "*" || e == env)
}

impl Access {
    /// The role of `name` with `groups` in `env`: the highest of the default
    /// role and of every binding naming them (by name or `group:<name>`) there.
    pub fn role_of(&self, name: &str, groups: &[String], env: &str) -> Option<Role> {
        self.bindings
            .iter()
            .filter(|b| covers(&b.envs, env) && subject_matches(&b.subject, name, groups))
            .map(|b| b.role)
            .chain(self.default_role)
            .max()
    }

    /// Who may act with `need` in `env`, and how to get access, in words.
    pub fn who_may(&self, need: Role, env: &str) -> String {
        let names: Vec<String> = self
            .bindings
            .iter()
            .filter(|b| b.role >= need && covers(&b.envs, env))
            .map(|b| format!("{} ({})", b.subject, b.role.as_str()))
            .collect();
        let default = match self.default_role {
            Some(r) if r >= need => format!("; everyone signed in is {} by default", r.as_str()),
            _ => String::new(),
        };
        let bound = if names.is_empty() { "no one is bound to such a role there".to_string() } else { names.join(", ") };
        format!(
            "{} or higher in {env}: {bound}{default}. To get access, ask an admin to add you (or a group of yours) to [[auth.bind]] in mezame's configuration",
            need.as_str()
        )
    }
}

/// `subject` is a user name, or `group:<name>`; a user literally named
/// `group:x` is not the group.
fn subject_matches(subject: &str, name: &str, groups: &[String]) -> bool {
    match subject.strip_prefix("group:") {
        Some(g) => groups.iter().any(|mine| mine == g),
        None => subject == name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(subject: &str, role: Role, envs: &[&str]) -> Binding {
        Binding { subject: subject.into(), role, envs: envs.iter().map(|e| e.to_string()).collect() }
    }

    #[test]
    fn the_highest_matching_role_wins_per_env() {
        let access = Access {
            default_role: Some(Role::Viewer),
            bindings: vec![
                bind("group:sre", Role::Admin, &["*"]),
                bind("group:developers", Role::Operator, &["dev", "qa"]),
                bind("carla", Role::Operator, &["prod"]),
            ],
        };
        let dev = ["developers".to_string()];
        assert_eq!(access.role_of("omar", &dev, "dev"), Some(Role::Operator));
        assert_eq!(access.role_of("omar", &dev, "prod"), Some(Role::Viewer), "the default elsewhere");
        assert_eq!(access.role_of("ada", &["sre".into()], "prod"), Some(Role::Admin));
        assert_eq!(access.role_of("carla", &[], "prod"), Some(Role::Operator));
        assert_eq!(access.role_of("group:sre", &[], "prod"), Some(Role::Viewer), "a name is not a group");
        let closed = Access { default_role: None, ..access.clone() };
        assert_eq!(closed.role_of("nobody", &[], "dev"), None);
        let text = access.who_may(Role::Operator, "dev");
        assert!(text.contains("group:sre (admin), group:developers (operator)") && text.contains("[[auth.bind]]"), "{text}");
        assert!(!text.contains("carla"), "carla is bound in prod only: {text}");
    }
}
