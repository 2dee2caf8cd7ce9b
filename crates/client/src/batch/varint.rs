//! Kafka's variable-length integers (zigzag, 7 bits per byte, low bits first, as
//! protobuf's `sint64`) and a bounds-checked reader over batch bytes.

use bytes::{BufMut, Bytes, BytesMut};

/// Appends `value` as a zigzag varint. An `i32` encodes to the same bytes as Kafka's
/// `varint`, an `i64` as its `varlong`.
pub(super) fn put_varlong(buf: &mut BytesMut, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    while zigzag >= 0x80 {
        buf.put_u8((zigzag as u8) | 0x80);
        zigzag >>= 7;
    }
    buf.put_u8(zigzag as u8);
}

/// Appends a length-prefixed byte string, -1 for `None` (Kafka's nullable bytes).
pub(super) fn put_nullable(buf: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varlong(buf, -1),
        Some(b) => {
            put_varlong(buf, b.len() as i64);
            buf.put_slice(b);
        }
    }
}

/// A cursor over one batch's bytes; every read checks the bounds and names what it was
/// reading when they are exceeded.
pub(super) struct Reader {
    buf: Bytes,
    pos: usize,
}

impl Reader {
    /// A reader at `pos` of `buf`.
    pub(super) fn new(buf: Bytes, pos: usize) -> Reader {
        Reader { buf, pos }
    }

    /// Bytes left.
    pub(super) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes, without copying.
    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<Bytes, String> {
        if n > self.remaining() {
            return Err(format!(
                "{what}: needs {n} bytes at byte {}, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let out = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(out)
    }

    /// One byte as `i8`.
    pub(super) fn i8(&mut self, what: &str) -> Result<i8, String> {
        Ok(self.take(1, what)?[0] as i8)
    }

    /// A varint that must fit `i32` (at most 5 bytes).
    pub(super) fn varint(&mut self, what: &str) -> Result<i32, String> {
        let v = self.varlong_max(5, what)?;
        i32::try_from(v).map_err(|_| format!("{what}: varint {v} overflows int32"))
    }

    /// A varlong (at most 10 bytes).
    pub(super) fn varlong(&mut self, what: &str) -> Result<i64, String> {
        self.varlong_max(10, what)
    }

    fn varlong_max(&mut self, max_bytes: usize, what: &str) -> Result<i64, String> {
        let start = self.pos;
        let mut raw: u64 = 0;
        for i in 0..max_bytes {
            let byte = self.take(1, what)?[0];
            raw |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(format!(
            "{what}: varint at byte {start} longer than {max_bytes} bytes"
        ))
    }

    /// A length-prefixed byte string; -1 is `None`.
    pub(super) fn nullable(&mut self, what: &str) -> Result<Option<Bytes>, String> {
        let len = self.varint(what)?;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(format!("{what}: negative length {n}")),
            n => self.take(n as usize, what).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_encodings_match_kafkas() {
        // From Kafka's ByteUtilsTest: zigzag maps 0, -1, 1, -2 to 0, 1, 2, 3.
        for (value, bytes) in [
            (0i64, &[0x00u8][..]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-2, &[0x03]),
            (63, &[0x7e]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
            (i64::from(i32::MAX), &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
        ] {
            let mut buf = BytesMut::new();
            put_varlong(&mut buf, value);
            assert_eq!(&buf[..], bytes, "{value}");
        }
    }

    #[test]
    fn overlong_and_truncated_varints_are_errors() {
        let mut r = Reader::new(Bytes::from_static(&[0xff; 6]), 0);
        assert!(r.varint("x").unwrap_err().contains("longer than 5"));
        let mut r = Reader::new(Bytes::from_static(&[0x80]), 0);
        assert!(r.varlong("x").unwrap_err().contains("left"));
    }

    proptest! {
        #[test]
        fn varlong_round_trips(value in any::<i64>()) {
            let mut buf = BytesMut::new();
            put_varlong(&mut buf, value);
            let mut r = Reader::new(buf.freeze(), 0);
            prop_assert_eq!(r.varlong("v").unwrap(), value);
            prop_assert_eq!(r.remaining(), 0);
        }

        #[test]
        fn varint_round_trips(value in any::<i32>()) {
            let mut buf = BytesMut::new();
            put_varlong(&mut buf, i64::from(value));
            prop_assert!(buf.len() <= 5);
            let mut r = Reader::new(buf.freeze(), 0);
            prop_assert_eq!(r.varint("v").unwrap(), value);
        }
    }
}
