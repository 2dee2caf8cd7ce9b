//! One Kafka request as the listener receives it: a 4-byte size prefix checked against
//! the limit, then the header and body decoded. Must never panic, hang or allocate by a
//! count read off the wire (libFuzzer's -rss_limit_mb and -malloc_limit_mb catch that).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let prefix: [u8; 4] = data[..4].try_into().expect("4 bytes");
    if rill_kafka::frame::frame_size(prefix, 1 << 20).is_err() {
        return;
    }
    let _ = rill_kafka::codec::decode_frame(Bytes::copy_from_slice(&data[4..]));
});
