//! The one rule every route goes through: a route declares a [`Perm`]
//! (`http/mod.rs`, where the route is added), and [`authorize`] decides for
//! the caller, in the environment the request concerns. Pure: no I/O.

use mezame_shared::auth::Role;

use super::access::Access;
use super::principal::Principal;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Perm {
    /// Anyone, signed in or not: health, sign-in.
    Public,
    /// No sign-in: the request proves its sender by a signature the handler
    /// checks before anything else (a repository's push webhook, HMAC).
    Signed,
    /// Anyone signed in: who am I, one's own tokens and sessions.
    SignedIn,
    /// Reads of an environment (viewer).
    Read,
    /// Runs and actions in an environment (operator; admin in a protected one).
    Operate,
    /// Settings of an environment (admin).
    Configure,
}

impl Perm {
    /// As written in the OpenAPI document (`x-mezame-permission`).
    pub fn as_str(self) -> &'static str {
        match self {
            Perm::Public => "public",
            Perm::Signed => "signed",
            Perm::SignedIn => "signed-in",
            Perm::Read => "read",
            Perm::Operate => "operate",
            Perm::Configure => "configure",
        }
    }

    /// The role it needs in an environment (protected or not).
    pub fn role(self, protected: bool) -> Option<Role> {
        match self {
            Perm::Public | Perm::Signed | Perm::SignedIn => None,
            Perm::Read => Some(Role::Viewer),
            Perm::Operate if protected => Some(Role::Admin),
            Perm::Operate => Some(Role::Operator),
            Perm::Configure => Some(Role::Admin),
        }
    }
}

/// The environment a request concerns.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// `{env}` in the path, or the environment of the run `{id}` names.
    Env { name: &'a str, protected: bool },
    /// No environment (the audit log, the environment list): a role in any one suffices.
    AnyOf(&'a [&'a str]),
}

/// Why a request is refused: 401 (who are you?) or 403 (not you).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Unauthenticated(String),
    Forbidden(String),
}

pub const SIGN_IN: &str =
    "sign in (open the panel in a browser, or /auth/login), or send Authorization: Bearer <API token> (make one on the Tokens page)";

/// Decides whether `who` (`None`: nobody signed in) may do `perm` in `scope`.
pub fn authorize(access: &Access, who: Option<&Principal>, perm: Perm, scope: Scope<'_>) -> Result<(), Denied> {
    if matches!(perm, Perm::Public | Perm::Signed) {
        return Ok(());
    }
    let Some(who) = who else {
        return Err(Denied::Unauthenticated(format!("not signed in: {SIGN_IN}")));
    };
    match scope {
        Scope::Env { name, protected } => {
            let Some(need) = perm.role(protected) else { return Ok(()) };
            let have = who.role_in(access, name);
            if have.is_some_and(|h| h >= need) {
                return Ok(());
            }
            let why = if protected && perm == Perm::Operate {
                format!(" ({name} is protected: actions there need an admin)")
            } else {
                String::new()
            };
            Err(Denied::Forbidden(format!(
                "{} is {} in {name}; this needs {}{why}. Who may: {}",
                who.describe(),
                have.map(|r| r.as_str()).unwrap_or("without access"),
                need.as_str(),
                access.who_may(need, name)
            )))
        }
        Scope::AnyOf(envs) => {
            let Some(need) = perm.role(false) else { return Ok(()) };
            let best = if envs.is_empty() { who.role_in(access, "*") } else { envs.iter().filter_map(|e| who.role_in(access, e)).max() };
            if best.is_some_and(|b| b >= need) {
                return Ok(());
            }
            Err(Denied::Forbidden(format!(
                "{} has no {} role in any environment. To get access, ask an admin to add you (or a group of yours) to [[auth.bind]] in mezame's configuration",
                who.describe(),
                need.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::auth::Binding;
    use mezame_shared::auth::Via;

    fn person(name: &str, groups: &[&str]) -> Principal {
        Principal::person(name, groups.iter().map(|g| g.to_string()).collect(), Via::Session)
    }

    #[test]
    fn roles_per_env_and_protected_envs_need_admins() {
        let access = Access {
            default_role: Some(Role::Viewer),
            bindings: vec![
                Binding { subject: "group:developers".into(), role: Role::Operator, envs: vec!["*".into()] },
                Binding { subject: "group:sre".into(), role: Role::Admin, envs: vec!["*".into()] },
            ],
        };
        let dev = Scope::Env { name: "dev", protected: false };
        let prod = Scope::Env { name: "prod", protected: true };
        let omar = person("omar", &["developers"]);
        let vera = person("vera", &[]);
        let ada = person("ada", &["sre"]);
        assert!(matches!(authorize(&access, None, Perm::Read, dev), Err(Denied::Unauthenticated(_))));
        assert!(authorize(&access, None, Perm::Public, dev).is_ok());
        assert!(authorize(&access, Some(&vera), Perm::Read, dev).is_ok());
        let Err(Denied::Forbidden(m)) = authorize(&access, Some(&vera), Perm::Operate, dev) else { panic!("a viewer may not operate") };
        assert!(
            m.contains("vera")
                && m.contains("is viewer in dev")
                && m.contains("needs operator")
                && m.contains("group:developers (operator)"),
            "{m}"
        );
        assert!(authorize(&access, Some(&omar), Perm::Operate, dev).is_ok());
        let Err(Denied::Forbidden(m)) = authorize(&access, Some(&omar), Perm::Operate, prod) else {
            panic!("an operator may not act in prod")
        };
        assert!(m.contains("prod is protected"), "{m}");
        assert!(authorize(&access, Some(&omar), Perm::Configure, dev).is_err());
        assert!(authorize(&access, Some(&ada), Perm::Operate, prod).is_ok());
        assert!(authorize(&access, Some(&ada), Perm::Configure, prod).is_ok());
        let closed = Access { default_role: None, bindings: vec![] };
        assert!(authorize(&closed, Some(&vera), Perm::Read, Scope::AnyOf(&["dev", "prod"])).is_err());
        assert!(authorize(&closed, Some(&vera), Perm::SignedIn, Scope::AnyOf(&["dev"])).is_ok());
    }
}
