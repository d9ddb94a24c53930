//! Measured cases run in child processes: the parent serialises a `Case`, re-invokes this binary
//! with `--case JSON`, and reads back one result line. A child reports its own peak RSS
//! (`VmHWM`), so neither the simulator (in the parent) nor other cases pollute it.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{bail, Context as _};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::load::LoadSpec;

/// The marker of the one line a child prints for its parent.
const RESULT: &str = "BENCH-RESULT ";
/// The line a serving child prints once it listens.
pub const LISTENING: &str = "BENCH-LISTENING ";

/// How odoo-sync is pointed at the simulator and its catalog file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub sim_url: String,
    pub db_path: PathBuf,
    /// odoo-sync's `DATABASE_URL` when it is not the SQLite file at `db_path` (PostgreSQL).
    #[serde(default)]
    pub database_url: Option<String>,
    pub batch_size: u32,
    pub full_batch_size: u32,
    pub concurrency: usize,
}

impl Target {
    /// The store the engine writes to, as the report names it.
    pub fn store(&self) -> &'static str {
        match self.database_url {
            Some(_) => "postgres",
            None => "sqlite",
        }
    }

    /// `section`, followed by the store when it is not the default SQLite.
    pub fn section(store: &str, section: &str) -> String {
        match store {
            "postgres" => format!("{section}, PostgreSQL"),
            _ => section.to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "case", rename_all = "kebab-case")]
pub enum Case {
    /// The seed's way: offset pages of 200, row-by-row upserts into a fresh SQLite file.
    Seed { target: Target },
    /// `odoo-sync sync --full` or `odoo-sync sync` through the real engine.
    Engine { target: Target, full: bool },
    /// The engine's Odoo calls with nothing stored.
    Floor { target: Target },
    /// `odoo-sync serve` until stdin closes.
    Serve {
        target: Target,
        webhook_secret: Option<String>,
        webhook_workers: usize,
    },
    /// A load generator against a server.
    Load(LoadSpec),
}

/// What a sync-like case reports.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SyncOutcome {
    pub wall_s: f64,
    /// Products written (or, for the floor, fetched).
    pub products: u64,
    pub peak_rss_mb: f64,
}

pub fn run_in_this_process(spec: &str) -> anyhow::Result<()> {
    let case: Case = serde_json::from_str(spec).context("--case is not a case")?;
    let runtime = match &case {
        // The load generator keeps to one thread, leaving the other core to the server.
        Case::Load(_) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?,
        _ => tokio::runtime::Runtime::new()?,
    };
    let result: serde_json::Value = runtime.block_on(async {
        Ok::<_, anyhow::Error>(match case {
            Case::Seed { target } => serde_json::to_value(crate::seed::run(&target).await?)?,
            Case::Engine { target, full } => {
                serde_json::to_value(crate::full_sync::engine(&target, full).await?)?
            }
            Case::Floor { target } => {
                serde_json::to_value(crate::full_sync::floor(&target).await?)?
            }
            Case::Serve {
                target,
                webhook_secret,
                webhook_workers,
            } => serde_json::to_value(
                crate::serve::run(&target, webhook_secret, webhook_workers).await?,
            )?,
            Case::Load(spec) => serde_json::to_value(crate::load::run(&spec).await?)?,
        })
    })?;
    println!("{RESULT}{result}");
    Ok(())
}

fn command(case: &Case) -> anyhow::Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("--case")
        .arg(serde_json::to_string(case)?)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    Ok(command)
}

/// Runs `case` in a child process to its end and returns what it reported.
pub async fn run_child<T: DeserializeOwned>(case: &Case) -> anyhow::Result<T> {
    let output = command(case)?.spawn()?.wait_with_output().await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("case {} failed ({})", name(case), output.status);
    }
    parse_result(&stdout).with_context(|| format!("case {} printed no result", name(case)))
}

fn parse_result<T: DeserializeOwned>(stdout: &str) -> anyhow::Result<T> {
    let line = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(RESULT))
        .context("no result line")?;
    Ok(serde_json::from_str(line)?)
}

fn name(case: &Case) -> &'static str {
    match case {
        Case::Seed { .. } => "seed",
        Case::Engine { full: true, .. } => "engine full",
        Case::Engine { full: false, .. } => "engine incremental",
        Case::Floor { .. } => "floor",
        Case::Serve { .. } => "serve",
        Case::Load(_) => "load",
    }
}

/// A long-running child (the server): started, told to stop by closing its stdin.
pub struct Background {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<tokio::process::ChildStdout>,
    /// What the child printed after `LISTENING`.
    pub listening: String,
}

impl Background {
    pub async fn start(case: &Case) -> anyhow::Result<Background> {
        let mut child = command(case)?.spawn()?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().context("child stdout")?);
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line).await? == 0 {
                bail!("case {} exited before listening", name(case));
            }
            if let Some(rest) = line.trim_end().strip_prefix(LISTENING) {
                let listening = rest.to_string();
                return Ok(Background {
                    child,
                    stdin,
                    stdout,
                    listening,
                });
            }
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Closes stdin, waits for the child's result (up to 10 s, then kills this child).
    pub async fn stop<T: DeserializeOwned>(mut self) -> anyhow::Result<T> {
        drop(self.stdin.take());
        let mut rest = String::new();
        let read = async {
            tokio::io::AsyncReadExt::read_to_string(&mut self.stdout, &mut rest).await?;
            self.child.wait().await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), read).await {
            Ok(status) => {
                let status = status?;
                if !status.success() {
                    bail!("background case failed ({status})");
                }
                parse_result(&rest)
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("background case did not stop within 10 s; killed")
            }
        }
    }
}

/// CPU time (user + system) a process has used so far, from `/proc/<pid>/stat`; `None`: this
/// process.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index - 3)?.parse::<f64>().ok();
    // USER_HZ is 100 on every Linux this runs on.
    Some((ticks(14)? + ticks(15)?) / 100.0)
}

/// This process's peak resident set, from `/proc/self/status` (`VmHWM`), in MB.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
