//! `rill dev`: a local cluster of separate processes (3 controllers and 3 brokers by
//! default) started from this same executable, with its data under one folder.
//!
//! The first run picks the ports (from `--port-base`, 9093 by default: controllers first,
//! then brokers' gRPC listeners; Kafka listeners from `--kafka-port-base`, 9092, 9192,
//! 9292, ... so the first broker is at Kafka's usual 9092; HTTP endpoints from
//! `--http-port-base`, broker N at 9644 + 100·(N−1) and controller N one above) and
//! writes them to `<data dir>/dev-ports`; later runs reuse them, since
//! the controllers' addresses are part of the quorum's membership. Each process logs to
//! `<data dir>/<name>.log`. The command shows progress while the cluster forms, waits
//! until every broker is unfenced, prints the addresses, and on Ctrl-C or SIGTERM stops
//! every process it started (SIGTERM: brokers first, with their controlled shutdown, then
//! controllers) and waits for them.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use rill_client::ControllerClient;
use rill_proto::controller::DescribeClusterRequest;

/// Arguments of `rill dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Where the cluster keeps its data (reused on the next run).
    #[arg(long, env = "RILL_DEV_DIR", default_value = "rill-dev-data")]
    pub data_dir: PathBuf,
    /// Number of controllers (1, 3 or 5).
    #[arg(long, default_value_t = 3)]
    pub controllers: usize,
    /// Number of brokers.
    #[arg(long, default_value_t = 3)]
    pub brokers: usize,
    /// First port on a first run: controllers take the next ports, then brokers.
    #[arg(long, default_value_t = 9093)]
    pub port_base: u16,
    /// The first broker's Kafka port on a first run; broker N gets this + 100 × (N − 1).
    #[arg(long, default_value_t = 9092)]
    pub kafka_port_base: u16,
    /// The first broker's HTTP port (/metrics, /healthz, /readyz) on a first run;
    /// broker N gets this + 100 × (N − 1) and controller N that + 1.
    #[arg(long, default_value_t = 9644)]
    pub http_port_base: u16,
    /// How long to wait for the cluster to be ready.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

const PORTS_FILE: &str = "dev-ports";

/// The ports of every process: controllers, brokers (gRPC), brokers (Kafka).
type Ports = (Vec<u16>, Vec<u16>, Vec<u16>);

/// One line of the ports file: comma-separated ports.
fn parse_ports(line: &str) -> anyhow::Result<Vec<u16>> {
    line.split(',')
        .filter(|s| !s.is_empty())
        .map(|p| p.trim().parse().context("a port"))
        .collect()
}

/// The HTTP ports: controllers', then brokers'.
type HttpPorts = (Vec<u16>, Vec<u16>);

/// Picks (on a first run, or for a data folder from before the HTTP endpoint) or
/// reads the HTTP ports, from the fourth and fifth lines of the ports file.
fn http_ports(args: &DevArgs) -> anyhow::Result<HttpPorts> {
    let file = args.data_dir.join(PORTS_FILE);
    let text = fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let parse = parse_ports;
    if lines.len() >= 5 {
        let (c, b) = (parse(lines[3])?, parse(lines[4])?);
        if c.len() != args.controllers || b.len() != args.brokers {
            bail!(
                "{} is damaged: one HTTP port per process expected",
                file.display()
            );
        }
        return Ok((c, b));
    }
    let pick = |offset: usize, n: usize| -> anyhow::Result<Vec<u16>> {
        (0..n)
            .map(|i| {
                u16::try_from(usize::from(args.http_port_base) + offset + 100 * i)
                    .context("--http-port-base leaves no room for the HTTP ports")
            })
            .collect()
    };
    let (c, b) = (pick(1, args.controllers)?, pick(0, args.brokers)?);
    let taken: Vec<u16> = lines
        .iter()
        .take(3)
        .map(|l| parse(l))
        .collect::<anyhow::Result<Vec<_>>>()?
        .concat();
    if let Some(p) = c.iter().chain(&b).find(|p| taken.contains(p)) {
        bail!("HTTP port {p} collides with another port; choose another --http-port-base");
    }
    check_free(&c, "--http-port-base")?;
    check_free(&b, "--http-port-base")?;
    let head: Vec<&str> = lines.iter().take(3).copied().collect();
    fs::write(
        &file,
        format!("{}\n{}\n{}\n", head.join("\n"), join(&c), join(&b)),
    )?;
    Ok((c, b))
}

fn check_free(ports: &[u16], flag: &str) -> anyhow::Result<()> {
    for p in ports {
        std::net::TcpListener::bind(("127.0.0.1", *p))
            .with_context(|| format!("port {p} is taken; choose another {flag}"))?;
    }
    Ok(())
}

fn kafka_ports(args: &DevArgs) -> anyhow::Result<Vec<u16>> {
    let ports = (0..args.brokers)
        .map(|i| {
            u16::try_from(usize::from(args.kafka_port_base) + 100 * i)
                .context("--kafka-port-base leaves no room for the Kafka ports")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    check_free(&ports, "--kafka-port-base")?;
    Ok(ports)
}

fn join(v: &[u16]) -> String {
    v.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

fn ports(args: &DevArgs) -> anyhow::Result<Ports> {
    let file = args.data_dir.join(PORTS_FILE);
    if let Ok(text) = fs::read_to_string(&file) {
        let mut lines = text.lines();
        let parse = |line: Option<&str>| parse_ports(line.unwrap_or_default());
        let (c, b, k) = (
            parse(lines.next())?,
            parse(lines.next())?,
            parse(lines.next())?,
        );
        if c.len() != args.controllers || b.len() != args.brokers {
            bail!(
                "{} holds a cluster of {} controllers and {} brokers; use the same counts, or another --data-dir",
                args.data_dir.display(),
                c.len(),
                b.len()
            );
        }
        // A data folder from before the Kafka listener has no third line: pick them now.
        let k = if k.is_empty() {
            let k = kafka_ports(args)?;
            fs::write(&file, format!("{}\n{}\n{}\n", join(&c), join(&b), join(&k)))?;
            k
        } else {
            k
        };
        if k.len() != b.len() {
            bail!(
                "{} is damaged: one Kafka port per broker expected",
                file.display()
            );
        }
        return Ok((c, b, k));
    }
    let n = args.controllers + args.brokers;
    let base = args.port_base;
    let all: Vec<u16> = (0..n)
        .map(|i| {
            u16::try_from(usize::from(base) + i).context("--port-base leaves no room for the ports")
        })
        .collect::<anyhow::Result<_>>()?;
    check_free(&all, "--port-base")?;
    let k = kafka_ports(args)?;
    if let Some(p) = k.iter().find(|p| all.contains(p)) {
        bail!("Kafka port {p} collides with a gRPC port; choose another --kafka-port-base");
    }
    let (c, b) = all.split_at(args.controllers);
    fs::create_dir_all(&args.data_dir)?;
    fs::write(&file, format!("{}\n{}\n{}\n", join(c), join(b), join(&k)))?;
    Ok((c.to_vec(), b.to_vec(), k))
}

struct Proc {
    name: String,
    child: Child,
}

fn spawn(exe: &Path, dir: &Path, name: &str, args: &[String]) -> anyhow::Result<Proc> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))?;
    // A process group of its own: Ctrl-C in the terminal reaches `rill dev` only, which
    // then stops brokers before controllers (a broker's controlled shutdown needs them).
    let child = Command::new(exe)
        .process_group(0)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    Ok(Proc {
        name: name.to_owned(),
        child,
    })
}

fn terminate(procs: &mut [Proc]) {
    for p in procs.iter() {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(p.child.id().to_string())
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    for p in procs.iter_mut() {
        loop {
            match p.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    eprintln!("{} did not stop in time; killing it", p.name);
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

impl DevArgs {
    /// Runs the cluster until Ctrl-C / SIGTERM.
    pub fn run(self) -> anyhow::Result<()> {
        if ![1, 3, 5].contains(&self.controllers) {
            bail!("--controllers must be 1, 3 or 5");
        }
        if self.brokers == 0 {
            bail!("--brokers must be at least 1");
        }
        let (cports, bports, kports) = ports(&self)?;
        let (chttp, bhttp) = http_ports(&self)?;
        let dir = fs::canonicalize(&self.data_dir)?;
        let exe = std::env::current_exe().context("finding the rill executable")?;
        let voters = cports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let controller_addrs: Vec<String> =
            cports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        println!("rill dev: data in {}", dir.display());
        let mut controllers = Vec::new();
        let mut brokers = Vec::new();
        let started = (|| -> anyhow::Result<()> {
            for (i, p) in cports.iter().enumerate() {
                let id = i + 1;
                controllers.push(spawn(
                    &exe,
                    &dir,
                    &format!("controller-{id}"),
                    &[
                        "controller".into(),
                        "--node-id".into(),
                        id.to_string(),
                        "--data-dir".into(),
                        dir.join(format!("controller-{id}")).display().to_string(),
                        "--listen".into(),
                        format!("127.0.0.1:{p}"),
                        "--voters".into(),
                        voters.clone(),
                        "--http-listen".into(),
                        format!("127.0.0.1:{}", chttp[i]),
                    ],
                )?);
            }
            println!("  started {} controllers", controllers.len());
            for (i, p) in bports.iter().enumerate() {
                let id = i + 1;
                brokers.push(spawn(
                    &exe,
                    &dir,
                    &format!("broker-{id}"),
                    &[
                        "broker".into(),
                        "--broker-id".into(),
                        id.to_string(),
                        "--data-dir".into(),
                        dir.join(format!("broker-{id}")).display().to_string(),
                        "--listen".into(),
                        format!("127.0.0.1:{p}"),
                        "--kafka-listen".into(),
                        format!("127.0.0.1:{}", kports[i]),
                        "--controllers".into(),
                        controller_addrs.join(","),
                        "--http-listen".into(),
                        format!("127.0.0.1:{}", bhttp[i]),
                    ],
                )?);
            }
            println!("  started {} brokers", brokers.len());
            Ok(())
        })();
        let ready = started.and_then(|()| {
            wait_ready(
                &controller_addrs,
                self.brokers,
                Duration::from_secs(self.timeout_secs),
                &mut controllers,
                &mut brokers,
            )
        });
        if let Err(e) = ready {
            terminate(&mut brokers);
            terminate(&mut controllers);
            return Err(e.context(format!("the logs are in {}", dir.display())));
        }
        // The handlers are installed before "ready" is printed: a script that stops the
        // cluster as soon as it reads that line must get the orderly stop, not a kill.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (mut term, mut interrupt) = {
            let _guard = runtime.enter();
            use tokio::signal::unix::{SignalKind, signal};
            (
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            )
        };
        let bootstrap = kports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        println!("rill dev: the cluster is ready");
        println!("  Kafka bootstrap:          {bootstrap}");
        println!("  admin (gRPC controllers): {}", controller_addrs.join(","));
        println!(
            "  data (gRPC brokers):      {}",
            bports
                .iter()
                .map(|p| format!("127.0.0.1:{p}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let http = |ports: &[u16]| {
            ports
                .iter()
                .map(|p| format!("http://127.0.0.1:{p}/metrics"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!("  metrics (controllers):    {}", http(&chttp));
        println!("  metrics (brokers):        {}", http(&bhttp));
        println!(
            "  e.g. rill cluster describe --admin {}",
            controller_addrs[0]
        );
        println!(
            "       echo hello | rill produce events --bootstrap 127.0.0.1:{}",
            bports[0]
        );
        println!("       kcat -b {bootstrap} -L");
        println!("  Ctrl-C stops every process");
        runtime.block_on(async {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        });
        println!("rill dev: stopping brokers (controlled shutdown), then controllers");
        terminate(&mut brokers);
        terminate(&mut controllers);
        println!("rill dev: stopped");
        Ok(())
    }
}

fn wait_ready(
    controllers: &[String],
    brokers: usize,
    timeout: Duration,
    cprocs: &mut [Proc],
    bprocs: &mut [Proc],
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    runtime.block_on(async {
        let mut client = ControllerClient::new(controllers, Duration::from_secs(2))?;
        loop {
            for p in cprocs.iter_mut().chain(bprocs.iter_mut()) {
                if let Some(status) = p.child.try_wait()? {
                    bail!("{} exited during start-up ({status})", p.name);
                }
            }
            let state = match client
                .call(|mut c| async move { c.describe_cluster(DescribeClusterRequest {}).await })
                .await
            {
                Ok(d) => {
                    let unfenced = d.brokers.iter().filter(|b| !b.fenced).count();
                    if d.leader_id.is_some() && unfenced == brokers {
                        return Ok(());
                    }
                    format!(
                        "quorum leader {}, {unfenced}/{brokers} brokers ready",
                        d.leader_id.map_or("none yet".into(), |l| l.id.to_string())
                    )
                }
                Err(_) => "waiting for the controller quorum".to_owned(),
            };
            if state != last {
                println!("  {state}");
                last = state;
            }
            if Instant::now() > deadline {
                bail!("the cluster was not ready within {timeout:?} ({last})");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}
