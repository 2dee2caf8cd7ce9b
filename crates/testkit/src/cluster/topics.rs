//! Creating topics through the active controller, as tests and benchmarks set up.

use std::time::Duration;

use rill_proto::controller::{
    CreatableTopic, CreateTopicsRequest, DescribeTopicsRequest, TopicDescription,
};
use rill_proto::controller_client::ControllerClient;

use super::Cluster;
use crate::error::{Error, Result};

/// How long creating a topic may look for the active controller.
const CREATE_DEADLINE: Duration = Duration::from_secs(30);

impl Cluster {
    /// Creates topic `name` with `partitions` partitions, replication factor
    /// `replication_factor` and the topic configs `configs`; a refusal is
    /// [`Error::Refused`] with the controller's error.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i32,
        configs: &[(&str, &str)],
    ) -> Result<()> {
        let request = CreateTopicsRequest {
            topics: vec![CreatableTopic {
                name: name.to_owned(),
                partitions,
                replication_factor,
                configs: configs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            }],
            validate_only: false,
        };
        let addrs = self.controller_addrs();
        let answer = self.block_on(async move {
            let mut client = ControllerClient::new(&addrs, CREATE_DEADLINE)?;
            client
                .call(|mut c| {
                    let r = request.clone();
                    async move { c.create_topics(r).await }
                })
                .await
        })?;
        match answer.topics.into_iter().find_map(|t| t.error) {
            None => Ok(()),
            Some(e) => Err(Error::Refused {
                what: format!("create topic {name}"),
                reason: format!("{} ({}): {}", e.name, e.code, e.message),
            }),
        }
    }

    /// Topic `name` as the active controller describes it; a refusal (such as an
    /// unknown topic) is [`Error::Refused`].
    pub fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        let addrs = self.controller_addrs();
        let names = vec![name.to_owned()];
        let answer = self.block_on(async move {
            let mut client = ControllerClient::new(&addrs, CREATE_DEADLINE)?;
            client
                .call(|mut c| {
                    let names = names.clone();
                    async move { c.describe_topics(DescribeTopicsRequest { names }).await }
                })
                .await
        })?;
        let topic = answer
            .topics
            .into_iter()
            .next()
            .ok_or_else(|| Error::Refused {
                what: format!("describe topic {name}"),
                reason: "the controller's answer names no topic".to_owned(),
            })?;
        match &topic.error {
            None => Ok(topic),
            Some(e) => Err(Error::Refused {
                what: format!("describe topic {name}"),
                reason: format!("{} ({}): {}", e.name, e.code, e.message),
            }),
        }
    }
}
