//! The manifest edit of moving a microservice to spot or back, in one
//! environment's directory: into each Deployment's pod template, a block
//! tolerating the spot nodes' taint and preferring the spot nodes' label
//! (pods go to spot where there is spot capacity, and stay schedulable on
//! on-demand nodes where there is none) and, unless the template spreads its
//! pods already, spreading them over zones and nodes (spot capacity goes a
//! zone's pool or a node at a time); back, that block taken out. The block
//! is marked with comments so that "back" removes exactly what "to spot" put,
//! and every other byte is kept. A pod template with tolerations or affinity
//! of its own is not merged into: said, left to a person. Pure.

use mezame_shared::deploys::LineChange;

use super::rewrite::Rewrite;
use crate::adapters::git::Edit;
use crate::config::git::SpotNodes;

const BEGIN: &str = "# mezame: spot placement (tolerate and prefer spot nodes)";
const END: &str = "# mezame: end of spot placement";

/// Why a directory cannot be moved.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// It already is where it was asked to go.
    Nothing(String),
    /// mezame will not edit it (said why); a person can.
    Unsupported(String),
}

/// The pod template's spec in a Deployment's lines: (index of `spec:`, key indent, end index).
fn pod_spec(lines: &[&str]) -> Option<(usize, usize, usize)> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let meaningful = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let t = lines.iter().position(|l| l.trim() == "template:")?;
    let ti = indent(lines[t]);
    let s = (t + 1..lines.len()).find(|&i| lines[i].trim() == "spec:" && indent(lines[i]) > ti)?;
    if lines[t + 1..s].iter().any(|l| meaningful(l) && indent(l) <= ti) {
        return None;
    }
    let first = (s + 1..lines.len()).find(|&i| meaningful(lines[i]))?;
    let p = indent(lines[first]);
    if p <= indent(lines[s]) {
        return None;
    }
    let end = (first..lines.len()).find(|&i| meaningful(lines[i]) && indent(lines[i]) < p).unwrap_or(lines.len());
    Some((s, p, end))
}

fn is_deployment(content: &str) -> bool {
    content.lines().any(|l| l.trim_end() == "kind: Deployment")
}

/// The Deployment's `spec.selector.matchLabels` (block style), as `key: value`.
fn selector_labels(lines: &[&str]) -> Option<Vec<String>> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let meaningful = |l: &&&str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let s = lines.iter().position(|l| l.trim_end() == "  selector:")?;
    let m = lines[s + 1..].iter().find(meaningful).filter(|l| l.trim() == "matchLabels:" && indent(l) > 2)?;
    let labels: Vec<String> =
        lines[s + 2..].iter().filter(meaningful).take_while(|l| indent(l) > indent(m)).map(|l| l.trim().to_string()).collect();
    (!labels.is_empty() && labels.iter().all(|l| l.contains(": "))).then_some(labels)
}

/// Soft spreading of the pods labelled `labels` over zones, then nodes.
fn spread_block(labels: &[String], pad: &str) -> String {
    let mut out = format!("{pad}topologySpreadConstraints:\n");
    for key in ["topology.kubernetes.io/zone", "kubernetes.io/hostname"] {
        out.push_str(&format!(
            "{pad}- maxSkew: 1\n{pad}  topologyKey: {key}\n{pad}  whenUnsatisfiable: ScheduleAnyway\n{pad}  labelSelector:\n{pad}    matchLabels:\n"
        ));
        for l in labels {
            out.push_str(&format!("{pad}      {l}\n"));
        }
    }
    out
}

fn block(rule: &SpotNodes, pad: &str, spread_labels: Option<&[String]>) -> String {
    let spread = spread_labels.map(|l| spread_block(l, pad)).unwrap_or_default();
    format!(
        "{pad}{BEGIN}\n\
         {pad}tolerations:\n\
         {pad}- key: {}\n\
         {pad}  operator: Equal\n\
         {pad}  value: {}\n\
         {pad}  effect: {}\n\
         {pad}affinity:\n\
         {pad}  nodeAffinity:\n\
         {pad}    preferredDuringSchedulingIgnoredDuringExecution:\n\
         {pad}    - weight: 100\n\
         {pad}      preference:\n\
         {pad}        matchExpressions:\n\
         {pad}        - key: {}\n\
         {pad}          operator: In\n\
         {pad}          values: [{}]\n\
         {spread}{pad}{END}\n",
        rule.taint_key, rule.taint_value, rule.taint_effect, rule.label_key, rule.label_value
    )
}

/// Moves the Deployments of `files` (path, content) to spot (`spot`) or back.
pub fn place(files: &[(String, String)], rule: &SpotNodes, spot: bool) -> Result<Rewrite, Refused> {
    let mut out = Rewrite::default();
    for (path, content) in files.iter().filter(|(_, c)| is_deployment(c)) {
        out.images += 1;
        let lines: Vec<&str> = content.split_inclusive('\n').collect();
        let Some((s, p, end)) = pod_spec(&lines) else {
            return Err(Refused::Unsupported(format!("{path}: no pod template spec found (template: → spec:)")));
        };
        let body = &lines[s + 1..end];
        let key_at = |key: &str| body.iter().position(|l| l.len() - l.trim_start().len() == p && l.trim_start().starts_with(key));
        let marked = body.iter().position(|l| l.trim() == BEGIN);
        let tolerates = key_at("tolerations:").is_some_and(|k| {
            body[k + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > p || l.trim_start().starts_with("- "))
                .any(|l| l.contains(&format!("key: {}", rule.taint_key)))
        });
        let (new, change) = if spot {
            if marked.is_some() || tolerates {
                return Err(Refused::Nothing(format!("{path} already tolerates {}: it may run on spot", rule.taint_key)));
            }
            if let Some(k) = key_at("tolerations:").or(key_at("affinity:")) {
                return Err(Refused::Unsupported(format!(
                    "{path}:{} has tolerations or affinity of its own: mezame does not merge into them — edit it in the repository",
                    s + 2 + k
                )));
            }
            // Its own spreading is kept as it is; with none, the block spreads.
            let labels = key_at("topologySpreadConstraints:").is_none().then(|| selector_labels(&lines)).flatten();
            let added = block(rule, &" ".repeat(p), labels.as_deref());
            let new = format!("{}{added}{}", lines[..=s].concat(), lines[s + 1..].concat());
            let before = lines[s].trim_end().to_string();
            (new, LineChange { path: path.clone(), line: s + 1, after: format!("{before}\n{}", added.trim_end()), before })
        } else {
            let Some(b) = marked else {
                return Err(if tolerates {
                    Refused::Unsupported(format!(
                        "{path} tolerates {} but not through mezame's block: edit it in the repository",
                        rule.taint_key
                    ))
                } else {
                    Refused::Nothing(format!("{path} does not tolerate spot: it runs on on-demand nodes already"))
                });
            };
            let Some(e) = body[b..].iter().position(|l| l.trim() == END).map(|e| b + e) else {
                return Err(Refused::Unsupported(format!("{path}: mezame's spot block has no end marker: edit it in the repository")));
            };
            let (from, to) = (s + 1 + b, s + 1 + e);
            let removed = lines[from..=to].concat();
            let new = format!("{}{}", lines[..from].concat(), lines[to + 1..].concat());
            let spec = lines[s].trim_end().to_string();
            (new, LineChange { path: path.clone(), line: s + 1, before: format!("{spec}\n{}", removed.trim_end()), after: spec })
        };
        out.lines.push(change);
        out.edits.push(Edit { path: path.clone(), content: new });
    }
    if out.images == 0 {
        return Err(Refused::Unsupported("no Deployment among its manifests".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> SpotNodes {
        crate::config::git::GitConfig::default().spot_nodes().unwrap()
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cart\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels:\n        app: cart\n    spec:\n      terminationGracePeriodSeconds: 30\n      containers:\n      - name: cart\n        image: r/cart:abc # pinned\n";

    #[test]
    fn to_spot_and_back_is_the_same_file_and_touches_only_the_pod_spec() {
        let files = vec![("prod/cart/d.yaml".to_string(), DEPLOYMENT.to_string()), ("prod/cart/svc.yaml".into(), "kind: Service\n".into())];
        let there = place(&files, &rule(), true).unwrap();
        assert_eq!(there.edits.len(), 1, "only the Deployment");
        let moved = &there.edits[0].content;
        assert!(moved.contains("    spec:\n      # mezame: spot placement"), "{moved}");
        assert!(moved.contains(
            "      - key: node.kubernetes.io/lifecycle\n        operator: Equal\n        value: spot\n        effect: NoSchedule\n"
        ));
        assert!(moved.ends_with(
            "      terminationGracePeriodSeconds: 30\n      containers:\n      - name: cart\n        image: r/cart:abc # pinned\n"
        ));
        assert_eq!(there.lines[0].line, 11);
        let on_spot = vec![(files[0].0.clone(), moved.clone())];
        assert_eq!(
            place(&on_spot, &rule(), true),
            Err(Refused::Nothing("prod/cart/d.yaml already tolerates node.kubernetes.io/lifecycle: it may run on spot".into()))
        );
        let back = place(&on_spot, &rule(), false).unwrap();
        assert_eq!(back.edits[0].content, DEPLOYMENT, "byte for byte");
        assert!(matches!(place(&files, &rule(), false), Err(Refused::Nothing(_))));
    }

    #[test]
    fn pods_are_spread_over_zones_and_nodes_unless_they_spread_already() {
        let selected =
            DEPLOYMENT.replace("  replicas: 2\n", "  replicas: 2\n  selector:\n    matchLabels:\n      app: cart\n      tier: web\n");
        let files = vec![("d.yaml".to_string(), selected.clone())];
        let moved = place(&files, &rule(), true).unwrap().edits.remove(0).content;
        let one = |key: &str| {
            format!(
                "      - maxSkew: 1\n        topologyKey: {key}\n        whenUnsatisfiable: ScheduleAnyway\n        labelSelector:\n          matchLabels:\n            app: cart\n            tier: web\n"
            )
        };
        let want = format!(
            "      topologySpreadConstraints:\n{}{}      # mezame: end",
            one("topology.kubernetes.io/zone"),
            one("kubernetes.io/hostname")
        );
        assert!(moved.contains(&want), "{moved}");
        let back = place(&[("d.yaml".to_string(), moved)], &rule(), false).unwrap();
        assert_eq!(back.edits[0].content, selected, "byte for byte");

        let own = selected.replace(
            "      containers:",
            "      topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: kubernetes.io/hostname\n        whenUnsatisfiable: DoNotSchedule\n      containers:",
        );
        let moved = place(&[("d.yaml".to_string(), own)], &rule(), true).unwrap().edits.remove(0).content;
        assert_eq!(moved.matches("topologySpreadConstraints:").count(), 1, "its own kept, none added: {moved}");
        assert!(moved.contains("whenUnsatisfiable: DoNotSchedule") && moved.contains("# mezame: spot placement"));
    }

    #[test]
    fn its_own_tolerations_are_left_to_a_person() {
        let own =
            DEPLOYMENT.replace("      containers:", "      tolerations:\n      - key: gpu\n        effect: NoSchedule\n      containers:");
        let files = vec![("d.yaml".to_string(), own)];
        assert!(matches!(place(&files, &rule(), true), Err(Refused::Unsupported(m)) if m.contains("of its own")));
        let seeded = DEPLOYMENT.replace(
            "      containers:",
            "      tolerations:\n      - key: node.kubernetes.io/lifecycle\n        value: spot\n      containers:",
        );
        let files = vec![("d.yaml".to_string(), seeded)];
        assert!(matches!(place(&files, &rule(), true), Err(Refused::Nothing(_))));
        assert!(matches!(place(&files, &rule(), false), Err(Refused::Unsupported(m)) if m.contains("not through mezame")));
        assert!(matches!(place(&[("c.yaml".into(), "kind: ConfigMap\n".into())], &rule(), true), Err(Refused::Unsupported(_))));
    }
}
