//! The private PostgreSQL cluster used when `DATABASE_URL` is unset.
//!
//! Layout under the data dir: `pg/` (the cluster), `run/` (its Unix socket, no TCP), `pg.log`, and
//! `cluster.lock`. The process holding the lock owns the cluster: it starts it (initialising on first
//! run) and stops it when done. Other `fordra` processes see the lock taken and just connect.
//!
//! PostgreSQL refuses to run as root, so when our euid is 0 every PostgreSQL program runs as the
//! `postgres` system user, which must own `pg/` and `run/` and be able to traverse to them.
//! A watchdog (`sh` waiting for EOF on a pipe from us) stops the cluster if we die without
//! cleaning up, so no PostgreSQL outlives its owner.

use std::{
    fs::{self, File},
    io::Write,
    os::unix::{
        fs::{MetadataExt, PermissionsExt},
        process::CommandExt,
    },
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};

/// Unix socket paths are limited to 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;
pub const DB_USER: &str = "fordra";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// A real data dir: fsync on.
    Durable,
    /// Test clusters: fsync and full-page writes off; losing them on a crash costs nothing.
    Ephemeral,
}

#[derive(Debug)]
pub struct Cluster {
    pub pg_dir: PathBuf,
    pub socket_dir: PathBuf,
    log_file: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    owner: Option<Owner>,
}

#[derive(Debug)]
struct Owner {
    _lock: File,
    watchdog: Option<(Child, ChildStdin)>,
}

impl Cluster {
    /// Opens the cluster under `data_dir`: initialises and starts it when no other `fordra`
    /// process owns it, or waits for the owner's cluster to accept connections.
    pub fn open(data_dir: &Path, durability: Durability) -> Result<Cluster> {
        fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let bin_dir = find_bin_dir()?;
        let run_as = postgres_user_if_root()?;
        let pg_dir = data_dir.join("pg");
        let socket_dir = socket_dir_for(&data_dir);
        let mut cluster = Cluster {
            log_file: data_dir.join("pg.log"),
            pg_dir,
            socket_dir,
            bin_dir,
            run_as,
            owner: None,
        };
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join("cluster.lock"))?;
        // The lock can be held for a moment by someone who is not running a cluster: an owner
        // that is just exiting, or a child forked by another thread before its exec closes our
        // descriptors. So a busy lock is retried until either it is ours or the owner's socket
        // is there.
        let socket = cluster.socket_dir.join(".s.PGSQL.5432");
        let started = Instant::now();
        loop {
            if lock.try_lock().is_ok() {
                cluster.prepare_dirs(&data_dir)?;
                cluster.init_if_needed()?;
                cluster.start(durability)?;
                let watchdog = cluster.spawn_watchdog()?;
                cluster.owner = Some(Owner { _lock: lock, watchdog: Some(watchdog) });
                break;
            }
            if socket.exists() {
                tracing::info!(
                    "private PostgreSQL is owned by another fordra process; connecting to it"
                );
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("PostgreSQL socket {} did not appear", socket.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(cluster)
    }

    pub fn is_owner(&self) -> bool {
        self.owner.is_some()
    }

    /// Stops the cluster if this process owns it; waits until PostgreSQL has exited.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut owner) = self.owner.take() else {
            return Ok(());
        };
        let status = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(&self.pg_dir)
            .args(["stop", "-m", "fast", "-w", "-t", "60"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some((mut child, stdin)) = owner.watchdog.take() {
            drop(stdin);
            let _ = child.wait();
        }
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(anyhow!("pg_ctl stop exited with {s}")),
            Err(e) => Err(e.into()),
        }
    }

    fn prepare_dirs(&self, data_dir: &Path) -> Result<()> {
        fs::create_dir_all(&self.pg_dir)?;
        fs::create_dir_all(&self.socket_dir)?;
        fs::set_permissions(&self.pg_dir, fs::Permissions::from_mode(0o700))?;
        fs::set_permissions(&self.socket_dir, fs::Permissions::from_mode(0o700))?;
        if let Some((uid, gid)) = self.run_as {
            for dir in [&self.pg_dir, &self.socket_dir] {
                chown_recursive(dir, uid, gid)?;
            }
            if self.log_file.exists() {
                std::os::unix::fs::chown(&self.log_file, Some(uid), Some(gid))?;
            } else {
                File::create(&self.log_file)?;
                std::os::unix::fs::chown(&self.log_file, Some(uid), Some(gid))?;
            }
            make_traversable(data_dir)?;
            make_traversable(&self.socket_dir)?;
        }
        Ok(())
    }

    fn init_if_needed(&self) -> Result<()> {
        if self.pg_dir.join("PG_VERSION").exists() {
            return Ok(());
        }
        tracing::info!(dir = %self.pg_dir.display(), "initialising private PostgreSQL cluster");
        let out = self
            .pg_command("initdb")
            .arg("-D")
            .arg(&self.pg_dir)
            .args(["-U", DB_USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"])
            .output()
            .context("cannot run initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    fn start(&self, durability: Durability) -> Result<()> {
        self.clear_stale_pid()?;
        if self.postmaster_alive() {
            tracing::warn!("adopting a PostgreSQL left running by an earlier fordra process");
            return self.wait_for_socket(Duration::from_secs(60));
        }
        // Bank-file imports and engine passes write in large transactions: room for WAL in
        // memory and between checkpoints keeps them from stalling on WAL flushes.
        let shared_buffers = shared_buffers(std::env::var("FORDRA_PG_SHARED_BUFFERS").ok())?;
        let mut opts = format!(
            "-k {} -c listen_addresses='' -c max_connections=200 -c shared_buffers={shared_buffers} -c wal_buffers=16MB -c max_wal_size=4GB",
            shell_quote(&self.socket_dir)
        );
        if durability == Durability::Ephemeral {
            opts.push_str(" -c fsync=off -c full_page_writes=off -c synchronous_commit=off");
        }
        let out = self
            .pg_command("pg_ctl")
            .arg("-D")
            .arg(&self.pg_dir)
            .arg("-l")
            .arg(&self.log_file)
            .args(["-w", "-t", "60", "-o", &opts, "start"])
            .stdin(Stdio::null())
            .output()
            .context("cannot run pg_ctl")?;
        if !out.status.success() {
            let log = fs::read_to_string(&self.log_file).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            bail!(
                "PostgreSQL did not start: {}\n{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        Ok(())
    }

    /// A `postmaster.pid` whose process is gone (a crash, a reboot) must not block the next start.
    fn clear_stale_pid(&self) -> Result<()> {
        let pid_file = self.pg_dir.join("postmaster.pid");
        if pid_file.exists() && !self.postmaster_alive() {
            tracing::warn!("removing stale postmaster.pid");
            fs::remove_file(&pid_file)?;
            let _ = fs::remove_file(self.socket_dir.join(".s.PGSQL.5432.lock"));
            let _ = fs::remove_file(self.socket_dir.join(".s.PGSQL.5432"));
        }
        Ok(())
    }

    fn postmaster_alive(&self) -> bool {
        let Ok(text) = fs::read_to_string(self.pg_dir.join("postmaster.pid")) else {
            return false;
        };
        let Some(pid) = text.lines().next().and_then(|l| l.trim().parse::<u32>().ok()) else {
            return false;
        };
        // The pid may have been reused by an unrelated process: check it is a postgres whose
        // working directory is our data dir.
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok();
        comm.trim() == "postgres" && cwd.as_deref().is_none_or(|c| c == self.pg_dir)
    }

    fn wait_for_socket(&self, timeout: Duration) -> Result<()> {
        let socket = self.socket_dir.join(".s.PGSQL.5432");
        let started = Instant::now();
        while !socket.exists() {
            if started.elapsed() > timeout {
                bail!("PostgreSQL socket {} did not appear", socket.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    fn spawn_watchdog(&self) -> Result<(Child, ChildStdin)> {
        let mut child = self
            .pg_command("sh")
            .args(["-c", "cat >/dev/null; exec \"$0\" -D \"$1\" stop -m fast -w -t 60"])
            .arg(self.bin_dir.join("pg_ctl"))
            .arg(&self.pg_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("cannot start the PostgreSQL watchdog")?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow!("watchdog has no stdin"))?;
        Ok((child, stdin))
    }

    fn pg_command(&self, program: &str) -> Command {
        let path = if program == "sh" { PathBuf::from("sh") } else { self.bin_dir.join(program) };
        let mut cmd = Command::new(path);
        cmd.current_dir(self.pg_dir.parent().unwrap_or(Path::new("/")));
        cmd.env("LC_ALL", "C");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid).current_dir("/");
        }
        cmd
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.owner.is_some()
            && let Err(e) = self.stop()
        {
            let _ = writeln!(std::io::stderr(), "stopping private PostgreSQL: {e:#}");
        }
    }
}

/// The private cluster's shared buffers: `FORDRA_PG_SHARED_BUFFERS` (e.g. `2GB`), else 256 MB.
/// A database larger than its buffers costs PostgreSQL more per row (see the engine benchmark).
fn shared_buffers(setting: Option<String>) -> Result<String> {
    let Some(v) = setting.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) else {
        return Ok("256MB".into());
    };
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &v[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !["kB", "MB", "GB"].contains(&unit)
    {
        anyhow::bail!("FORDRA_PG_SHARED_BUFFERS: {v:?} is not a size such as 256MB or 2GB");
    }
    Ok(v)
}

/// The socket directory: `run/` in the data dir unless that makes the socket path too long,
/// then a directory under /tmp named after the data dir.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let preferred = data_dir.join("run");
    if preferred.join(".s.PGSQL.5432").as_os_str().len() < MAX_SOCKET_PATH {
        return preferred;
    }
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    PathBuf::from(format!("/tmp/fordra-{short}"))
}

/// Finds `initdb` on PATH, else under `/usr/lib/postgresql/<newest>/bin`.
fn find_bin_dir() -> Result<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    for dir in on_path {
        let initdb = dir.join("initdb");
        if initdb.is_file() {
            // Debian links /usr/local/bin/initdb into /usr/lib/postgresql/N/bin; use the real dir
            // so pg_ctl and postgres come from the same installation.
            let real = initdb.canonicalize().unwrap_or(initdb);
            if let Some(parent) = real.parent()
                && parent.join("pg_ctl").is_file()
            {
                return Ok(parent.to_path_buf());
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p).ok_or_else(|| {
        anyhow!(
            "PostgreSQL binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql; \
             install them (apt-get install postgresql) or set DATABASE_URL"
        )
    })
}

fn postgres_user_if_root() -> Result<Option<(u32, u32)>> {
    let euid = fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
    if euid != 0 {
        return Ok(None);
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() > 3 && f[0] == "postgres")
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
        .map(Some)
        .ok_or_else(|| {
            anyhow!("running as root, but PostgreSQL refuses root and there is no `postgres` user to run it as")
        })
}

fn chown_recursive(path: &Path, uid: u32, gid: u32) -> Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.uid() != uid || meta.gid() != gid {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path)? {
            chown_recursive(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// Lets the postgres user traverse every ancestor of `dir` (e.g. a data dir under a 0700 home):
/// adds the search bit for others, never read or write.
fn make_traversable(dir: &Path) -> Result<()> {
    for ancestor in dir.ancestors().skip(1) {
        let meta = fs::metadata(ancestor)?;
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            tracing::warn!(dir = %ancestor.display(), "adding o+x so the postgres user can reach the data dir");
            fs::set_permissions(ancestor, fs::Permissions::from_mode(mode | 0o001))?;
        }
    }
    Ok(())
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_data_dirs_get_a_short_socket_dir() {
        let short = socket_dir_for(Path::new("/work/main/var"));
        assert_eq!(short, PathBuf::from("/work/main/var/run"));
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        let dir = socket_dir_for(&long);
        assert!(dir.to_str().unwrap().starts_with("/tmp/fordra-"));
        assert!(dir.join(".s.PGSQL.5432").as_os_str().len() < MAX_SOCKET_PATH);
    }

    #[test]
    fn shared_buffers_are_a_size_or_the_default() {
        assert_eq!(shared_buffers(None).unwrap(), "256MB");
        assert_eq!(shared_buffers(Some(" ".into())).unwrap(), "256MB");
        assert_eq!(shared_buffers(Some("2GB".into())).unwrap(), "2GB");
        assert_eq!(shared_buffers(Some("512MB".into())).unwrap(), "512MB");
        for bad in ["2", "GB", "2 GB", "2gb", "1e3MB", "2GB; drop", "-1MB"] {
            assert!(shared_buffers(Some(bad.into())).is_err(), "{bad}");
        }
    }
}
