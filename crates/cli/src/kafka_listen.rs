//! The Kafka listener of `rill broker` and `rill server`: its flags, binding, and the
//! task that serves it beside the broker.

use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use rill_broker::{BrokerConfig, BrokerNode};
use rill_kafka::{KafkaConfig, KafkaContext};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Flags of the Kafka listener.
#[derive(Debug, Args, Clone)]
pub struct KafkaArgs {
    /// The address to serve Kafka clients on (kafka.listen), e.g. 0.0.0.0:9092; "none"
    /// serves no Kafka listener.
    #[arg(long, env = "RILL_KAFKA_LISTEN")]
    pub kafka_listen: Option<String>,
    /// The address Kafka clients are told to connect to (kafka.advertised), HOST:PORT
    /// (default: the advertised host and the Kafka listen port).
    #[arg(long, env = "RILL_KAFKA_ADVERTISED")]
    pub kafka_advertised: Option<String>,
}

/// A bound Kafka listener, not yet serving.
#[derive(Debug)]
pub struct BoundKafka {
    listener: TcpListener,
    config: KafkaConfig,
}

/// A serving Kafka listener.
#[derive(Debug)]
pub struct RunningKafka {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl KafkaArgs {
    /// Binds the listener (default 0.0.0.0:9092) and records what the broker advertises
    /// in `config`. `None` when the listener is turned off.
    pub async fn bind(
        &self,
        file_listen: Option<String>,
        file_advertised: Option<String>,
        config: &mut BrokerConfig,
    ) -> anyhow::Result<Option<BoundKafka>> {
        let listen = self
            .kafka_listen
            .clone()
            .or(file_listen)
            .unwrap_or_else(|| "0.0.0.0:9092".to_owned());
        if listen == "none" {
            return Ok(None);
        }
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("Kafka listener: listening on {listen}"))?;
        let port = listener.local_addr()?.port();
        let advertised = match self.kafka_advertised.clone().or(file_advertised) {
            Some(a) => {
                let (host, port) = a
                    .rsplit_once(':')
                    .with_context(|| format!("kafka advertised address {a:?} has no port"))?;
                (
                    host.to_owned(),
                    port.parse().context("kafka advertised port")?,
                )
            }
            None => (config.advertised_host.clone(), port),
        };
        config.kafka_advertised = Some(advertised);
        Ok(Some(BoundKafka {
            listener,
            config: KafkaConfig::default(),
        }))
    }
}

impl BoundKafka {
    /// Serves Kafka clients beside `node`.
    pub fn serve(self, node: &BrokerNode) -> RunningKafka {
        let ctx = KafkaContext::new(
            node.replicas().config.broker_id,
            Arc::clone(node.replicas()),
            node.controllers().clone(),
            self.config,
        );
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(rill_kafka::serve(self.listener, ctx, stop_rx));
        RunningKafka { stop, task }
    }
}

impl RunningKafka {
    /// Stops accepting and closes every connection (after the broker's controlled
    /// shutdown, as Kafka closes its socket server last).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
    }
}
