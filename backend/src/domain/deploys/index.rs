//! Which commits of the deployed branch are deploys: a commit that changes a
//! microservice's `image:` in an environment's directory. Pure.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::adapters::db::DeployRow;
use crate::adapters::git::FileChange;

/// Reads `{env}` and `{ms}` out of a file's path by the configured pattern
/// (`{env}/manifests/{ms}`): the pattern's segments, then anything below.
pub fn env_ms_of(pattern: &str, path: &str) -> Option<(String, String)> {
    let mut parts = path.split('/');
    let (mut env, mut ms) = (None, None);
    for want in pattern.split('/') {
        let got = parts.next()?;
        match want {
            "{env}" => env = Some(got),
            "{ms}" => ms = Some(got),
            literal if literal != got => return None,
            _ => {}
        }
    }
    // The file itself is below the directory.
    parts.next()?;
    Some((env?.to_string(), ms?.to_string()))
}

/// The image a manifest line names (`image: repo/name:tag`, quoted or as a list item).
pub fn image_of(line: &str) -> Option<&str> {
    let l = line.trim().trim_start_matches("- ").trim_start();
    let v = l.strip_prefix("image:")?.trim();
    let v = v.trim_matches(|c| c == '"' || c == '\'');
    (!v.is_empty()).then_some(v)
}

/// The tag (or digest) of an image reference; none if it has neither.
pub fn tag_of(image: &str) -> Option<&str> {
    if let Some((_, digest)) = image.split_once('@') {
        return Some(digest);
    }
    let name_end = image.rfind('/').map_or(0, |i| i + 1);
    image[name_end..].split_once(':').map(|(_, t)| t)
}

/// Of several images, the microservice's own: its name in the image's last
/// path segment, else the first.
fn pick<'a>(images: &[&'a str], ms: &str) -> Option<&'a str> {
    images.iter().find(|i| i.rsplit('/').next().is_some_and(|n| n.contains(ms))).or(images.first()).copied()
}

/// The tag of the microservice's own image among a pod template's.
pub fn own_tag<'a>(images: &[&'a str], ms: &str) -> Option<&'a str> {
    pick(images, ms).and_then(tag_of)
}

/// The deploys one commit of the deployed line makes.
pub fn deploys_of(pattern: &str, sha: &str, seq: i64, at: DateTime<Utc>, files: &[FileChange]) -> Vec<DeployRow> {
    // (env, ms) → (images added, images removed, files).
    type Found<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<String>);
    let mut by: BTreeMap<(String, String), Found> = BTreeMap::new();
    for f in files {
        let Some(key) = env_ms_of(pattern, &f.path) else { continue };
        let added: Vec<&str> = f.added.iter().filter_map(|l| image_of(l)).collect();
        let removed: Vec<&str> = f.removed.iter().filter_map(|l| image_of(l)).collect();
        if added.is_empty() {
            continue;
        }
        let e = by.entry(key).or_default();
        e.0.extend(added);
        e.1.extend(removed);
        e.2.push(f.path.clone());
    }
    by.into_iter()
        .filter_map(|((env, ms), (added, removed, files))| {
            let tag = tag_of(pick(&added, &ms)?)?.to_string();
            let previous_tag = pick(&removed, &ms).and_then(tag_of).map(str::to_string);
            if previous_tag.as_deref() == Some(tag.as_str()) {
                // Its own image kept its tag (another image of the directory changed).
                return None;
            }
            Some(DeployRow { sha: sha.to_string(), env, ms, seq, tag, previous_tag, files, at })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "{env}/manifests/{ms}";

    fn change(path: &str, added: &[&str], removed: &[&str]) -> FileChange {
        FileChange {
            path: path.into(),
            added: added.iter().map(|s| s.to_string()).collect(),
            removed: removed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn paths_by_the_pattern() {
        assert_eq!(env_ms_of(P, "dev/manifests/orders/orders-dev-deploy.yaml"), Some(("dev".into(), "orders".into())));
        assert_eq!(env_ms_of(P, "dev/manifests/orders"), None, "a directory is not a file of it");
        assert_eq!(env_ms_of(P, "dev/other/orders/x.yaml"), None);
        assert_eq!(env_ms_of("clusters/{env}/{ms}", "clusters/prod/api/a.yaml"), Some(("prod".into(), "api".into())));
    }

    #[test]
    fn images_and_tags() {
        assert_eq!(
            image_of("        image: 123.dkr.ecr.eu-west-1.amazonaws.com/orders-dev:abc123"),
            Some("123.dkr.ecr.eu-west-1.amazonaws.com/orders-dev:abc123")
        );
        assert_eq!(image_of("  - image: \"r/x:1\""), Some("r/x:1"));
        assert_eq!(image_of("  imagePullPolicy: Always"), None);
        assert_eq!(tag_of("localhost:5000/orders:abc"), Some("abc"));
        assert_eq!(tag_of("localhost:5000/orders"), None);
        assert_eq!(tag_of("r/o@sha256:ff"), Some("sha256:ff"));
    }

    #[test]
    fn a_commit_deploys_each_microservice_it_retags() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let files = [
            change(
                "dev/manifests/orders/orders-dev-deploy.yaml",
                &["        image: r/orders-dev:new", "        image: r/envoy:2"],
                &["        image: r/orders-dev:old", "        image: r/envoy:1"],
            ),
            change("dev/manifests/orders/orders-dev-cron.yaml", &["        image: r/orders-dev:new"], &["        image: r/orders-dev:old"]),
            change("prod/manifests/billing/billing-prod-deploy.yaml", &["        image: r/billing:first"], &[]),
            change("dev/manifests/stock/stock-dev-deploy.yaml", &["        replicas: 3"], &["        replicas: 2"]),
            change("README.md", &["image: r/x:1"], &[]),
        ];
        let d = deploys_of(P, "c1", 7, at, &files);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            (d[0].env.as_str(), d[0].ms.as_str(), d[0].tag.as_str(), d[0].previous_tag.as_deref()),
            ("dev", "orders", "new", Some("old"))
        );
        assert_eq!(d[0].files.len(), 2);
        assert_eq!(
            (d[1].env.as_str(), d[1].ms.as_str(), d[1].tag.as_str(), d[1].previous_tag.as_deref()),
            ("prod", "billing", "first", None)
        );
        assert_eq!((d[1].seq, d[1].at), (7, at));
    }

    #[test]
    fn a_sidecar_bump_beside_an_unchanged_image_is_not_a_deploy() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let files = [change(
            "dev/manifests/orders/d.yaml",
            &["  image: r/envoy:2", "  image: r/orders-dev:same"],
            &["  image: r/envoy:1", "  image: r/orders-dev:same"],
        )];
        assert!(deploys_of(P, "c", 1, at, &files).is_empty());
    }
}
