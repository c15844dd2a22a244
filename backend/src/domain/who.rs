//! Who is acting, as the authenticating proxy in front of mezame names them,
//! and who may operate an environment's power.

/// A person (or `anonymous`), with the groups the proxy passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub name: String,
    pub groups: Vec<String>,
}

impl Who {
    /// Whether `operators` (user names, or `group:<name>`) admit this person;
    /// no list admits everyone.
    pub fn is_operator(&self, operators: Option<&[String]>) -> bool {
        let Some(ops) = operators else { return true };
        ops.iter().any(|o| match o.strip_prefix("group:") {
            Some(g) => self.groups.iter().any(|mine| mine == g),
            None => *o == self.name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_by_name_or_group() {
        let aiko = Who { name: "aiko".into(), groups: vec!["dev".into(), "sre".into()] };
        let ben = Who { name: "ben".into(), groups: vec!["dev".into()] };
        let ops = ["group:sre".to_string(), "carla".to_string()];
        assert!(aiko.is_operator(Some(&ops)));
        assert!(!ben.is_operator(Some(&ops)));
        assert!(Who { name: "carla".into(), groups: vec![] }.is_operator(Some(&ops)));
        assert!(!Who { name: "group:sre".into(), groups: vec![] }.is_operator(Some(&ops)), "a name is not a group");
        assert!(ben.is_operator(None), "no list: everyone");
        assert!(!ben.is_operator(Some(&[])), "an empty list: nobody");
    }
}
