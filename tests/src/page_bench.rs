//! The Node groups page in headless Chromium during the capacity bench
//! (`tests/browser/bench-capacity.mjs`): its long tasks while the bench
//! changes the cluster.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use crate::bench::say;

/// The page, open.
pub struct Page {
    child: Child,
    pub listed_ms: f64,
}

/// What the page went through.
pub struct PageFigures {
    pub listed_ms: f64,
    pub longest_task_ms: f64,
    pub long_tasks: usize,
    /// Long tasks after the first full list (the page live, not loading).
    pub longest_live_task_ms: f64,
    pub capacity_reads: u64,
}

impl Page {
    /// Opens `url` and waits until it lists at least `nodes` nodes.
    pub fn open(url: &str, nodes: usize) -> Result<Page, String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("node")
            .arg(root.join("browser/bench-capacity.mjs"))
            .arg(url)
            .arg(nodes.to_string())
            .current_dir(root.parent().unwrap())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run node: {e}"))?;
        let mut said = Vec::new();
        for line in BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok) {
            if let Some(ms) = line.strip_prefix("bench-capacity.mjs: listed after ").and_then(|r| r.strip_suffix(" ms")) {
                let listed_ms = ms.parse().unwrap_or(f64::NAN);
                say(&format!("the Node groups page lists {nodes} nodes {listed_ms:.0} ms after it was opened"));
                return Ok(Page { child, listed_ms });
            }
            said.push(line);
        }
        let _ = child.wait();
        Err(said.into_iter().rev().find(|l| l.contains("Error") || l.contains("Timeout")).unwrap_or_default())
    }

    /// Closes the page and reads its figures.
    pub fn close(mut self) -> Result<PageFigures, String> {
        drop(self.child.stdin.take());
        let mut out = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut out).map_err(|e| e.to_string())?;
        let _ = self.child.wait();
        let v: serde_json::Value = serde_json::from_str(out.trim()).map_err(|e| format!("the page's figures: {e} in {out:?}"))?;
        let tasks: Vec<(f64, f64)> = v["long_tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| (t["start_ms"].as_f64().unwrap_or(0.0), t["ms"].as_f64().unwrap_or(0.0)))
            .collect();
        let timeline: Vec<String> = tasks.iter().map(|(s, d)| format!("{d:.0} ms at {s:.0}")).collect();
        say(&format!(
            "the page's long tasks: {} (its main WASM module fetched at {:.0} ms, its lazy chunks by {:.0} ms, its first view at {:.0} ms, \
             every node listed at {:.0} ms)",
            timeline.join(", "),
            v["wasm_ms"].as_f64().unwrap_or(f64::NAN),
            v["chunks_ms"].as_f64().unwrap_or(f64::NAN),
            v["first_read_ms"].as_f64().unwrap_or(f64::NAN),
            self.listed_ms
        ));
        let marks: Vec<String> =
            v["marks"].as_object().into_iter().flatten().filter_map(|(k, ms)| Some(format!("{k} {:.0}", ms.as_f64()?))).collect();
        say(&format!("the page's marks (ms since it was opened): {}", marks.join(", ")));
        let longest = |after: f64| tasks.iter().filter(|(s, _)| *s >= after).map(|(_, d)| *d).fold(0f64, f64::max);
        Ok(PageFigures {
            listed_ms: self.listed_ms,
            longest_task_ms: longest(0.0),
            long_tasks: tasks.len(),
            longest_live_task_ms: longest(self.listed_ms),
            capacity_reads: v["capacity_reads"].as_u64().unwrap_or(0),
        })
    }
}
