//! Where the machine's CPU goes while a bench measures: the CPU time each
//! process used between two readings of `/proc`, grouped by command name (the
//! sandbox's kube-apiserver, etcd, kwok… and each mezame by the pid the bench
//! knows it by). On 2 cores shared by the cluster, the panel and the load
//! generator, a latency figure means little without it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// CPU time used so far by every process, by pid, with its command name.
pub struct Reading {
    at: Instant,
    by_pid: HashMap<u32, (String, Duration)>,
    /// The time the machine's vCPUs were ready to run but the host ran
    /// something else (`steal` of `/proc/stat`, all CPUs).
    stolen: Duration,
}

/// What the machine stands for in a summary: the vCPU time the host took.
pub const STOLEN: &str = "stolen by the host";

/// (command name, user + system CPU time) of one process, from `/proc/<pid>/stat`.
pub fn stat(pid: u32) -> Option<(String, Duration)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = text.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum();
    // USER_HZ is 100 on Linux.
    Some((name, Duration::from_millis(ticks * 10)))
}

/// Sets the nice value of the processes `pids`: of each of their threads (on
/// Linux a thread's priority is its own) and of their autogroup. With
/// autogroups on (`/proc/sys/kernel/sched_autogroup_enabled`), the scheduler
/// first shares the cores between sessions — each started with `setsid`, as
/// the sandbox starts every process, is one — and a thread's own nice value
/// only counts within its session: the group's is the one that yields.
/// A process in this process's own autogroup is left alone: renicing it
/// would renice the caller (a benchmark's load generator) with it. A caller
/// in no autogroup (the root group of a session never `setsid`, as a CI
/// runner's may be) shares none: the threads are reniced, the groups they
/// are in (a root group can't be) are set when they have one.
/// Returns the threads and the groups set.
pub fn renice(pids: &[u32], nice: i32) -> (usize, usize) {
    renice_apart_from(std::process::id(), pids, nice)
}

/// [`renice`], leaving alone the processes in the autogroup of `caller`.
fn renice_apart_from(caller: u32, pids: &[u32], nice: i32) -> (usize, usize) {
    let (mut threads, mut groups) = (0, 0);
    let ours = autogroup(caller);
    for pid in pids.iter().filter(|p| ours.is_none() || autogroup(**p) != ours) {
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
            if let Some(tid) = task.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) {
                // SAFETY: setpriority takes plain integers and touches no memory of ours.
                threads += usize::from(unsafe { libc::setpriority(libc::PRIO_PROCESS as _, tid, nice) } == 0);
            }
        }
        groups += usize::from(std::fs::write(format!("/proc/{pid}/autogroup"), nice.to_string()).is_ok());
    }
    (threads, groups)
}

/// The nice value of process `pid`'s main thread, and of its autogroup.
pub fn nice(pid: u32) -> (Option<i32>, Option<i32>) {
    let thread = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| t.rsplit_once(')')?.1.split_whitespace().nth(16)?.parse().ok());
    // "/autogroup-3315 nice 0"
    let group = std::fs::read_to_string(format!("/proc/{pid}/autogroup")).ok().and_then(|t| t.split_whitespace().nth(2)?.parse().ok());
    (thread, group)
}

/// The autogroup of process `pid` (`/autogroup-3315`): processes of one
/// session share one, and with autogroups on the cores are shared between them first.
pub fn autogroup(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/autogroup")).ok()?.split_whitespace().next().map(str::to_string)
}

/// The time the threads of process `pid` have waited on a run queue so far
/// (runnable, not running: the second figure of each
/// `/proc/{pid}/task/{tid}/schedstat`). Threads that ended are not counted.
pub fn waited(pid: u32) -> Duration {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
    let ns = tasks
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok()?.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

pub fn read() -> Reading {
    let pids = std::fs::read_dir("/proc").into_iter().flatten().flatten().filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok());
    Reading { at: Instant::now(), by_pid: pids.filter_map(|p| Some((p, stat(p)?))).collect(), stolen: stolen() }
}

/// The vCPU time stolen by the host so far (8th figure of `/proc/stat`'s `cpu` line, in USER_HZ = 10 ms ticks).
fn stolen() -> Duration {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks = text.lines().next().and_then(|l| l.split_whitespace().nth(8)?.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

impl Reading {
    /// CPU used since `self`, per group (a label from `named` for those pids,
    /// else the command name), largest first, as a share of one core over the
    /// wall time between the readings; processes started meanwhile count whole.
    pub fn since(&self, named: &[(u32, &str)]) -> (Duration, Vec<(String, f64)>) {
        let now = read();
        let wall = now.at.duration_since(self.at);
        let mut groups: HashMap<String, Duration> = HashMap::new();
        for (pid, (name, cpu)) in &now.by_pid {
            let before = self.by_pid.get(pid).map(|(_, c)| *c).unwrap_or_default();
            let label = named.iter().find(|(p, _)| p == pid).map(|(_, l)| l.to_string()).unwrap_or_else(|| name.clone());
            *groups.entry(label).or_default() += cpu.saturating_sub(before);
        }
        groups.insert(STOLEN.to_string(), now.stolen.saturating_sub(self.stolen));
        let mut out: Vec<(String, f64)> =
            groups.into_iter().map(|(k, d)| (k, d.as_secs_f64() / wall.as_secs_f64().max(1e-3))).filter(|(_, s)| *s >= 0.005).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        (wall, out)
    }
}

/// `kube-apiserver 0.42 · etcd 0.20 · …` (cores), the first `n`, and the
/// total of the processes (the time stolen by the host is not theirs).
pub fn summary(shares: &[(String, f64)], n: usize) -> String {
    let total: f64 = shares.iter().filter(|(k, _)| k != STOLEN).map(|(_, s)| s).sum();
    let top: Vec<String> = shares.iter().take(n).map(|(k, s)| format!("{k} {s:.2}")).collect();
    format!("{} (all processes {total:.2} cores)", top.join(" · "))
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use mezame_sandbox::process::in_own_session;

    #[test]
    fn a_process_of_its_own_session_is_reniced_with_its_group() {
        // A session of its own, as the sandbox starts its processes: its
        // autogroup is not this test's.
        let mut child = in_own_session(Command::new("sleep").arg("30")).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(super::nice(child.id()), (Some(0), Some(0)));
        assert_eq!(super::renice(&[child.id()], 19), (1, 1));
        assert_eq!(super::nice(child.id()), (Some(19), Some(19)));
        let (theirs, ours) = (super::autogroup(child.id()), super::autogroup(std::process::id()));
        assert!(theirs.as_deref().is_some_and(|g| g.starts_with("/autogroup-")) && theirs != ours, "{theirs:?} vs {ours:?}");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn a_process_of_the_callers_session_is_not_reniced() {
        // A caller and a process of its session, in a session of their own:
        // this test's may be a root group with no autogroup (a CI runner's).
        let mut caller = in_own_session(Command::new("sh").args(["-c", "sleep 30 & exec sleep 30"])).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", caller.id())).unwrap();
        let beside: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
        assert_eq!(super::autogroup(beside), super::autogroup(caller.id()));
        assert_eq!(super::renice_apart_from(caller.id(), &[beside], 19), (0, 0));
        assert_eq!(super::nice(beside), (Some(0), Some(0)));
        // SAFETY: kill takes plain integers; `beside` is the caller's child, alive until the caller is reaped.
        unsafe { libc::kill(beside as i32, libc::SIGKILL) };
        caller.kill().unwrap();
        caller.wait().unwrap();
    }

    #[test]
    fn busy_threads_beside_others_wait_for_a_core() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let me = std::process::id();
        let before = super::waited(me);
        // More busy threads than cores: some wait on the run queue. Read
        // while they live: a thread that ended is no longer counted.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads: Vec<_> = (0..cores * 2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::black_box(0u64);
                    }
                })
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(500));
        let during = super::waited(me);
        stop.store(true, Ordering::Relaxed);
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!(during > before + std::time::Duration::from_millis(100), "{before:?} → {during:?}");
    }

    #[test]
    fn this_process_is_seen_using_the_cpu_it_burns() {
        let before = super::read();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(300) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        let me = std::process::id();
        let (_, shares) = before.since(&[(me, "me")]);
        let mine = shares.iter().find(|(k, _)| k == "me").map(|(_, s)| *s).unwrap_or(0.0);
        assert!(mine > 0.5, "{shares:?}");
    }
}
