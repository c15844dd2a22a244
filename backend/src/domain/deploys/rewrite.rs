//! The manifest edit of a promotion or rollback, as the platform's CI `sed`
//! makes it: in one microservice's directory of one environment, the tag of
//! that microservice's own `image:` lines — and nothing else — is replaced.
//! Pure.

use mezame_shared::deploys::LineChange;

use super::index::{image_of, tag_of};
use crate::adapters::git::Edit;

/// What rewriting a directory to a tag does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// The files that change, whole.
    pub edits: Vec<Edit>,
    pub lines: Vec<LineChange>,
    /// The tag the lines named before (the first one found).
    pub previous_tag: Option<String>,
    /// How many of the microservice's own image lines there are (changed or not).
    pub images: usize,
}

/// Whether an image is `ms`'s own: its name (last path segment, without the tag) contains `ms`.
fn own(image: &str, ms: &str) -> bool {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split(':').next().is_some_and(|n| n.contains(ms))
}

/// A line with its image's tag replaced (none if it names no own image with a tag).
fn retag(line: &str, ms: &str, tag: &str) -> Option<(String, String)> {
    let image = image_of(line)?;
    if !own(image, ms) || image.contains('@') {
        return None;
    }
    let old = tag_of(image)?;
    let start = line.find(image)?;
    let tag_at = start + image.len() - old.len();
    Some((format!("{}{tag}{}", &line[..tag_at], &line[start + image.len()..]), old.to_string()))
}

/// Rewrites `files` (path, content) so that `ms`'s own images name `tag`.
pub fn rewrite(files: &[(String, String)], ms: &str, tag: &str) -> Rewrite {
    let mut out = Rewrite::default();
    for (path, content) in files {
        let mut changed = false;
        let mut new = String::with_capacity(content.len() + 64);
        for (n, line) in content.split_inclusive('\n').enumerate() {
            let (body, end) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            match retag(body, ms, tag) {
                Some((after, old)) => {
                    out.images += 1;
                    out.previous_tag.get_or_insert(old.clone());
                    if old != tag {
                        changed = true;
                        out.lines.push(LineChange { path: path.clone(), line: n + 1, before: body.to_string(), after: after.clone() });
                    }
                    new.push_str(&after);
                }
                None => new.push_str(body),
            }
            new.push_str(end);
        }
        if changed {
            out.edits.push(Edit { path: path.clone(), content: new });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: 1234.dkr.ecr.eu-west-1.amazonaws.com/order-service-prod:aaa111\n        - name: proxy\n          image: \"envoyproxy/envoy:v1.30\"\n";

    #[test]
    fn only_the_microservices_own_image_tag_changes() {
        let files = vec![("prod/manifests/order-service/order-service-prod-deployment.yaml".to_string(), DEPLOYMENT.to_string())];
        let r = rewrite(&files, "order-service", "bbb222");
        assert_eq!(r.images, 1);
        assert_eq!(r.previous_tag.as_deref(), Some("aaa111"));
        assert_eq!(r.edits.len(), 1);
        let want = DEPLOYMENT.replace("order-service-prod:aaa111", "order-service-prod:bbb222");
        assert_eq!(r.edits[0].content, want, "the envoy sidecar and every other byte stay");
        assert_eq!(r.lines.len(), 1);
        assert_eq!(r.lines[0].line, 8);
        assert!(r.lines[0].after.ends_with("order-service-prod:bbb222"));
    }

    #[test]
    fn the_same_tag_changes_nothing() {
        let files = vec![("d.yaml".to_string(), DEPLOYMENT.to_string())];
        let r = rewrite(&files, "order-service", "aaa111");
        assert_eq!((r.images, r.edits.len(), r.lines.len()), (1, 0, 0));
    }

    #[test]
    fn another_microservice_or_a_digest_is_left_alone() {
        let files = vec![
            ("a.yaml".to_string(), "image: reg/notification-service-dev:x1\n".to_string()),
            ("b.yaml".to_string(), "image: reg/order-service-dev@sha256:abc\n".to_string()),
        ];
        let r = rewrite(&files, "order-service", "y2");
        assert_eq!((r.images, r.edits.len()), (0, 0));
    }
}
