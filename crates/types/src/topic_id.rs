//! [`TopicId`]: which topic, stable across renames and delete/re-create.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::ParseIdError;

/// A topic's id: a 128-bit UUID, as Kafka's topic ids (KIP-516).
///
/// Text form is Kafka's: URL-safe base64 without padding (22 characters), so ids printed
/// by rill match what Kafka tools print. Parsing also accepts the hyphenated UUID form.
///
/// Invariant: never [`TopicId::ZERO`] (Kafka's "no id") or [`TopicId::METADATA`]
/// (reserved for the metadata topic) for a user topic; [`TopicId::from_random_bits`]
/// enforces this for new ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicId(Uuid);

impl TopicId {
    /// Kafka's "no topic id" (all zero bits).
    pub const ZERO: TopicId = TopicId(Uuid::nil());

    /// Kafka's reserved id of the metadata topic (the value 1).
    pub const METADATA: TopicId = TopicId(Uuid::from_u128(1));

    /// The id with these 16 bytes (big-endian, as on Kafka's wire).
    pub const fn from_bytes(bytes: [u8; 16]) -> TopicId {
        TopicId(Uuid::from_bytes(bytes))
    }

    /// The 16 bytes of this id, big-endian as on Kafka's wire.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// A new (version 4) topic id from 128 random bits, or `None` when the bits give an id
    /// that must not be handed out; the caller then draws again.
    ///
    /// Refused, as Kafka refuses them: the reserved ids, and ids whose text form starts
    /// with `-`, which command-line tools would take for a flag. Randomness is the
    /// caller's, so that tests and simulations are deterministic.
    pub fn from_random_bits(bits: u128) -> Option<TopicId> {
        let id = TopicId(uuid::Builder::from_random_bytes(bits.to_be_bytes()).into_uuid());
        let reserved = id == TopicId::ZERO || id == TopicId::METADATA;
        (!reserved && !id.to_string().starts_with('-')).then_some(id)
    }
}

impl fmt::Display for TopicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0.as_bytes()))
    }
}

impl FromStr for TopicId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() == 22 {
            let bytes = URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|e| ParseIdError::new("TopicId", s, e.to_string()))?;
            let bytes: [u8; 16] = bytes
                .try_into()
                .map_err(|_| ParseIdError::new("TopicId", s, "not 16 bytes"))?;
            return Ok(TopicId::from_bytes(bytes));
        }
        Uuid::parse_str(s).map(TopicId).map_err(|e| {
            ParseIdError::new(
                "TopicId",
                s,
                format!("expected 22 base64url characters or a UUID ({e})"),
            )
        })
    }
}

impl Serialize for TopicId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TopicId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::TopicId;

    #[test]
    fn text_form_is_kafkas_base64() {
        assert_eq!(TopicId::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(TopicId::METADATA.to_string(), "AAAAAAAAAAAAAAAAAAAAAQ");
    }

    #[test]
    fn accepts_hyphenated_uuid() {
        let id: TopicId = "00000000-0000-0000-0000-000000000001".parse().unwrap();
        assert_eq!(id, TopicId::METADATA);
    }

    #[test]
    fn refuses_garbage() {
        assert!("not-an-id".parse::<TopicId>().is_err());
        assert!("AAAAAAAAAAAAAAAAAAAA!!".parse::<TopicId>().is_err());
    }

    #[test]
    fn new_ids_are_never_reserved_or_flag_like() {
        for bits in [0u128, 1, u128::MAX, 0xfb << 120] {
            if let Some(id) = TopicId::from_random_bits(bits) {
                assert_ne!(id, TopicId::ZERO);
                assert_ne!(id, TopicId::METADATA);
                assert!(!id.to_string().starts_with('-'), "{id}");
            }
        }
        // A first byte of 0xf8..=0xfb encodes to a leading '-' in base64url: refused.
        assert_eq!(TopicId::from_random_bits(0xfb << 120), None);
        // Version-4 bits are set, so even all-zero randomness is a valid new id.
        assert!(TopicId::from_random_bits(0).is_some());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in any::<[u8; 16]>()) {
            let id = TopicId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<TopicId>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<TopicId>(&json).unwrap(), id);
        }
    }
}
