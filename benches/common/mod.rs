//! Shared by the benchmarks against PostgreSQL.

/// The process's peak resident memory (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

/// A benchmark's working directory under the system temp dir, removed when dropped, also when
/// the benchmark panics (its database cluster can be gigabytes). Declare it before the cluster
/// that lives in it, so the cluster stops first.
pub struct WorkDir(pub std::path::PathBuf);

impl WorkDir {
    pub fn new(name: &str) -> WorkDir {
        let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
