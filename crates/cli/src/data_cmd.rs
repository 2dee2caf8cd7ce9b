//! `rill produce` and `rill consume`: records from and to the terminal, over the brokers'
//! gRPC data API (rill-client).
//!
//! Produce reads lines from stdin or a file; with `--key-separator` each line is
//! `key<sep>value`. A keyed record goes to the partition Kafka's default partitioner
//! picks (murmur2 of the key); a keyless one to `--partition`, or round-robin. Records
//! are sent in batches of up to `--batch` lines with acks=all by default; the command
//! exits non-zero, naming the error, if any batch is refused.
//!
//! Both first check that some bootstrap address accepts connections (exit code 3
//! otherwise, naming each address and what failed).
//!
//! Consume prints records of one partition from the beginning, the end, an offset or a
//! timestamp, and with `--follow` keeps waiting for more (Ctrl-C stops it).

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::Args;
use rill_client::{
    Consumer, ConsumerConfig, OffsetSpec, Producer, ProducerConfig, ProducerRecord,
    partition_for_key,
};

/// Where the brokers are.
#[derive(Debug, Args)]
pub struct Bootstrap {
    /// Broker data addresses (gRPC), comma-separated; any one will do.
    #[arg(
        long,
        env = "RILL_BOOTSTRAP",
        default_value = "127.0.0.1:9096",
        value_delimiter = ',',
        global = true
    )]
    pub bootstrap: Vec<String>,
}

/// Arguments of `rill produce`.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    target: Bootstrap,
    /// The topic.
    topic: String,
    /// Read lines from this file instead of stdin.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Split each line into key and value at the first occurrence of this.
    #[arg(long)]
    key_separator: Option<String>,
    /// Send every record to this partition.
    #[arg(long)]
    partition: Option<i32>,
    /// acks: 0, 1 or -1 (all).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    acks: i32,
    /// Lines per batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// How long each batch may take, retries included (Kafka's delivery.timeout.ms).
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
}

/// Arguments of `rill consume`.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    target: Bootstrap,
    /// The topic.
    topic: String,
    /// The partition.
    #[arg(long, default_value_t = 0)]
    partition: i32,
    /// Start at this offset (default: the beginning).
    #[arg(long, conflicts_with_all = ["from_end", "from_timestamp"])]
    offset: Option<i64>,
    /// Start at the end (only new records).
    #[arg(long, conflicts_with = "from_timestamp")]
    from_end: bool,
    /// Start at the first record at or after this time: milliseconds since the epoch
    /// or RFC 3339 (e.g. 2026-12-03T13:00:00Z; no zone means UTC).
    #[arg(long, value_name = "MS|RFC3339", value_parser = crate::datetime::parse_instant)]
    from_timestamp: Option<i64>,
    /// Keep waiting for new records.
    #[arg(long)]
    follow: bool,
    /// Stop after this many records.
    #[arg(long)]
    max: Option<usize>,
    /// Print `key<sep>value` with this separator instead of the value alone.
    #[arg(long)]
    key_separator: Option<String>,
    /// Print one JSON object per record (partition, offset, timestamp, key, value).
    #[arg(long)]
    json: bool,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

impl ProduceArgs {
    /// Produces every line, then exits.
    pub fn run(self) -> anyhow::Result<()> {
        if self.batch == 0 {
            bail!("--batch must be at least 1");
        }
        let input: Box<dyn std::io::BufRead> = match &self.file {
            Some(f) => Box::new(std::io::BufReader::new(
                std::fs::File::open(f).with_context(|| format!("opening {}", f.display()))?,
            )),
            None => Box::new(std::io::BufReader::new(std::io::stdin())),
        };
        runtime()?.block_on(async move {
            crate::exit::probe("brokers", &self.target.bootstrap).await?;
            let producer = Producer::connect(
                &self.target.bootstrap,
                ProducerConfig {
                    acks: self.acks,
                    delivery_timeout: Duration::from_secs(self.timeout_secs),
                    request_timeout: Duration::from_secs(self.timeout_secs.clamp(1, 30)),
                    ..ProducerConfig::default()
                },
            )?;
            let partitions = producer.partitions(&self.topic).await.with_context(|| {
                format!(
                    "looking up topic {:?} at {}",
                    self.topic,
                    self.target.bootstrap.join(",")
                )
            })?;
            if let Some(p) = self.partition
                && (p < 0 || p >= partitions)
            {
                bail!(
                    "topic {} has partitions 0..{partitions}; --partition {p} is not one",
                    self.topic
                );
            }
            let mut pending: Vec<Vec<ProducerRecord>> = vec![Vec::new(); partitions as usize];
            let (mut sent, mut next) = (0usize, 0i32);
            let flush = |producer: Producer,
                         p: i32,
                         records: Vec<ProducerRecord>,
                         topic: String| async move {
                let n = records.len();
                producer
                    .send(&topic, p, records)
                    .await
                    .with_context(|| format!("producing {n} records to {topic}-{p}"))?;
                anyhow::Ok(n)
            };
            for line in input.lines() {
                let line = line.context("reading input")?;
                let (key, value) = match &self.key_separator {
                    Some(sep) => match line.split_once(sep.as_str()) {
                        Some((k, v)) => (Some(Bytes::from(k.to_owned())), v.to_owned()),
                        None => (None, line),
                    },
                    None => (None, line),
                };
                let p = match (self.partition, &key) {
                    (Some(p), _) => p,
                    (None, Some(k)) => partition_for_key(k, partitions).get(),
                    (None, None) => {
                        next = (next + 1) % partitions;
                        next
                    }
                };
                let batch = &mut pending[p as usize];
                batch.push(ProducerRecord {
                    key,
                    value: Some(Bytes::from(value)),
                    headers: vec![],
                    timestamp: None,
                });
                if batch.len() >= self.batch {
                    let records = std::mem::take(batch);
                    sent += flush(producer.clone(), p, records, self.topic.clone()).await?;
                }
            }
            for (p, records) in pending.into_iter().enumerate() {
                if !records.is_empty() {
                    sent += flush(producer.clone(), p as i32, records, self.topic.clone()).await?;
                }
            }
            eprintln!("produced {sent} records to {}", self.topic);
            Ok(())
        })
    }
}

fn text(b: &Option<Bytes>) -> String {
    b.as_ref()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

impl ConsumeArgs {
    /// Prints records until the end (or forever with `--follow`).
    pub fn run(self) -> anyhow::Result<()> {
        runtime()?.block_on(async move {
            crate::exit::probe("brokers", &self.target.bootstrap).await?;
            let consumer = Consumer::connect(
                &self.target.bootstrap,
                ConsumerConfig {
                    max_wait: Duration::from_millis(500),
                    ..ConsumerConfig::default()
                },
            )?;
            let (topic, p) = (self.topic.as_str(), self.partition);
            let where_ = || format!("{topic}-{p} at {}", self.target.bootstrap.join(","));
            let spec = if self.from_end {
                Some(OffsetSpec::Latest)
            } else if let Some(ts) = self.from_timestamp {
                Some(OffsetSpec::Timestamp(ts))
            } else if self.offset.is_none() {
                Some(OffsetSpec::Earliest)
            } else {
                None
            };
            let mut next = match spec {
                None => self.offset.unwrap_or(0),
                Some(spec) => match consumer
                    .list_offset(topic, p, spec)
                    .await
                    .with_context(|| format!("looking up the start offset of {}", where_()))?
                {
                    Some(o) => o.get(),
                    // No record at or after the timestamp: start at the end.
                    None => consumer
                        .list_offset(topic, p, OffsetSpec::Latest)
                        .await?
                        .map_or(0, |o| o.get()),
                },
            };
            let mut printed = 0usize;
            let mut out = std::io::stdout().lock();
            loop {
                let fetched = consumer
                    .fetch(topic, p, next)
                    .await
                    .with_context(|| format!("fetching {}", where_()))?;
                for r in &fetched.records {
                    if self.json {
                        writeln!(
                            out,
                            "{{\"partition\":{p},\"offset\":{},\"timestamp\":{},\"key\":{},\"value\":{}}}",
                            r.offset,
                            r.timestamp,
                            r.key.as_ref().map_or("null".to_owned(), |_| json_string(&text(&r.key))),
                            r.value.as_ref().map_or("null".to_owned(), |_| json_string(&text(&r.value))),
                        )?;
                    } else if let Some(sep) = &self.key_separator {
                        writeln!(out, "{}{sep}{}", text(&r.key), text(&r.value))?;
                    } else {
                        writeln!(out, "{}", text(&r.value))?;
                    }
                    printed += 1;
                    if self.max.is_some_and(|m| printed >= m) {
                        return Ok(());
                    }
                }
                out.flush()?;
                next = fetched.next_offset.get();
                if !self.follow && next >= fetched.high_watermark.get() {
                    return Ok(());
                }
            }
        })
    }
}
