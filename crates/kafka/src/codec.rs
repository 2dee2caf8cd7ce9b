//! Sans-IO codec: a frame's bytes in, a typed request out; a typed response in, a
//! size-prefixed frame out. No socket, no tokio: the fuzz target and the unit tests
//! drive it directly.
//!
//! Decoding never panics and never allocates by a count read off the wire beyond what
//! the bytes present can hold (the vendored kafka-protocol caps its reservations; see
//! vendor/README.md). A request whose header cannot be read, whose API is unknown or
//! whose version is outside the served range is an error, and the connection closes —
//! as Kafka does — except ApiVersions, which is answered in the v0 format with
//! UNSUPPORTED_VERSION so a newer client can pick a version we serve (KIP-511).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::apis::{self, ApiSpec};
use crate::error::KafkaError;

/// A request whose header has been read and whose API and version are served.
#[derive(Debug)]
pub struct Incoming {
    /// The request header.
    pub header: RequestHeader,
    /// The API.
    pub key: ApiKey,
    /// The body, not yet decoded.
    pub body: Bytes,
}

/// What the codec made of a frame.
#[derive(Debug)]
pub enum Parsed {
    /// A served API at a served version.
    Request(Incoming),
    /// An ApiVersions request at a version we do not serve: answer it with this frame.
    Reply(BytesMut),
}

fn i16_at(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Reads the header of one frame's body.
pub fn parse(frame: Bytes) -> Result<Parsed, KafkaError> {
    let short = || KafkaError::Malformed("a request header needs at least 8 bytes".into());
    let raw_key = i16_at(&frame, 0).ok_or_else(short)?;
    let version = i16_at(&frame, 2).ok_or_else(short)?;
    let correlation_id = i32_at(&frame, 4).ok_or_else(short)?;
    let spec = apis::spec(raw_key).ok_or(KafkaError::UnknownApi(raw_key))?;
    if version < spec.min || version > spec.max {
        if spec.key == ApiKey::ApiVersions {
            return Ok(Parsed::Reply(apis::unsupported_api_versions(
                correlation_id,
            )?));
        }
        return Err(unsupported(spec, version));
    }
    let mut body = frame;
    let header = RequestHeader::decode(&mut body, spec.key.request_header_version(version))
        .map_err(|e| KafkaError::Malformed(format!("request header: {e}")))?;
    Ok(Parsed::Request(Incoming {
        header,
        key: spec.key,
        body,
    }))
}

fn unsupported(spec: &ApiSpec, version: i16) -> KafkaError {
    KafkaError::UnsupportedVersion {
        api: spec.name,
        version,
        min: spec.min,
        max: spec.max,
    }
}

/// Decodes a request body of type `T` at `version`.
pub fn decode<T: Decodable>(body: &mut Bytes, version: i16, api: &str) -> Result<T, KafkaError> {
    T::decode(body, version).map_err(|e| KafkaError::Malformed(format!("{api} v{version}: {e}")))
}

/// Encodes `body` as the response to a request with `correlation_id` of API `key` at
/// `version`, size prefix included.
pub fn encode_response<T: Encodable>(
    correlation_id: i32,
    key: ApiKey,
    version: i16,
    body: &T,
) -> Result<BytesMut, KafkaError> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut buf, key.response_header_version(version))
        .map_err(|e| KafkaError::Encode(e.to_string()))?;
    body.encode(&mut buf, version)
        .map_err(|e| KafkaError::Encode(format!("{key:?} v{version}: {e}")))?;
    let size = i32::try_from(buf.len() - 4)
        .map_err(|_| KafkaError::Encode("response larger than 2 GiB".into()))?;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf)
}

/// Decodes one frame body the way the server does — header, then the body of its API —
/// without a broker. Never panics; the fuzz target drives it.
pub fn decode_frame(frame: Bytes) -> Result<(), KafkaError> {
    match parse(frame)? {
        Parsed::Reply(_) => Ok(()),
        Parsed::Request(r) => apis::decode_only(r.key, r.header.request_api_version, r.body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ApiVersionsResponse;
    use kafka_protocol::protocol::{Decodable, Encodable};

    fn request(key: i16, version: i16, header_version: i16) -> Bytes {
        let mut b = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(key)
            .with_request_api_version(version)
            .with_correlation_id(7)
            .encode(&mut b, header_version)
            .unwrap();
        b.freeze()
    }

    #[test]
    fn short_and_unknown_requests_are_errors_not_panics() {
        for n in 0..8 {
            assert!(parse(Bytes::from(vec![0u8; n])).is_err(), "{n} bytes");
        }
        assert!(matches!(
            parse(request(9999, 0, 1)),
            Err(KafkaError::UnknownApi(9999))
        ));
        assert!(matches!(
            parse(request(-1, 0, 1)),
            Err(KafkaError::UnknownApi(-1))
        ));
    }

    #[test]
    fn an_unsupported_api_versions_gets_a_v0_answer_with_the_list() {
        let Parsed::Reply(frame) = parse(request(18, 99, 2)).unwrap() else {
            panic!("expected a reply");
        };
        let mut body = Bytes::from(frame.to_vec()).split_off(4);
        let header = ResponseHeader::decode(&mut body, 0).unwrap();
        assert_eq!(header.correlation_id, 7);
        let r = ApiVersionsResponse::decode(&mut body, 0).unwrap();
        assert_eq!(r.error_code, 35);
        assert!(
            r.api_keys
                .iter()
                .any(|k| k.api_key == 18 && k.max_version == 4)
        );
    }

    proptest::proptest! {
        /// Any bytes after a valid header of any served API at any served version give
        /// an answer or an error, never a panic (the fuzz target explores further).
        #[test]
        fn random_bodies_never_panic(
            api in 0usize..apis::APIS.len(),
            version_pick in 0i16..100,
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
        ) {
            let spec = apis::APIS[api];
            let version = spec.min + version_pick % (spec.max - spec.min + 1);
            let header = spec.key.request_header_version(version);
            let mut frame = BytesMut::from(&request(spec.key as i16, version, header)[..]);
            frame.extend_from_slice(&tail);
            let _ = decode_frame(frame.freeze());
        }
    }

    #[test]
    fn huge_array_counts_do_not_allocate_by_the_count() {
        // Metadata v1: header, then a topics array claiming i32::MAX entries.
        let mut frame = BytesMut::from(&request(3, 1, 1)[..]);
        frame.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_frame(frame.freeze()).is_err());
        // Produce v3: no transactional id, acks, timeout, then i32::MAX topics.
        let mut frame = BytesMut::from(&request(0, 3, 1)[..]);
        frame.extend_from_slice(&(-1i16).to_be_bytes());
        frame.extend_from_slice(&1i16.to_be_bytes());
        frame.extend_from_slice(&1000i32.to_be_bytes());
        frame.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_frame(frame.freeze()).is_err());
    }

    #[test]
    fn other_unsupported_versions_are_refused() {
        // Metadata v99.
        assert!(matches!(
            parse(request(3, 99, 2)),
            Err(KafkaError::UnsupportedVersion { .. })
        ));
    }
}
