//! The protobuf wire format, as much of it as the container runtimes'
//! gRPC answers need: a field reader over a byte slice (bounded, never
//! panics on malformed input) and a writer for requests.
//!
//! Messages are decoded by walking their fields with [`Reader`] and
//! keeping the known ones; unknown fields are skipped, as protobuf wants.

use std::collections::BTreeMap;

/// The largest message decoded (and the largest gRPC answer read).
pub const MAX_MESSAGE: usize = 16 << 20;

/// The most items a [`List`] keeps: a 16 MiB answer of empty items would
/// otherwise decode to millions of structs.
pub const MAX_LIST_ITEMS: usize = 100_000;

/// Why bytes are not a protobuf message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("message of {0} bytes is over the {MAX_MESSAGE}-byte limit")]
    TooLarge(usize),
    #[error("truncated message")]
    Truncated,
    #[error("varint longer than 10 bytes")]
    VarintOverflow,
    #[error("field number 0 or over 2^29")]
    BadFieldNumber,
    #[error("unsupported wire type {0}")]
    BadWireType(u8),
    #[error("field {field} has wire type {got}, expected {expected}")]
    WrongWireType { field: u32, got: u8, expected: u8 },
    #[error("list of more than {MAX_LIST_ITEMS} items")]
    TooManyItems,
}

/// A field's value as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0: ints, bools, enums.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: strings, bytes, messages, packed repeated fields.
    Len(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

impl<'a> Value<'a> {
    fn wire_type(&self) -> u8 {
        match self {
            Value::Varint(_) => 0,
            Value::Fixed64(_) => 1,
            Value::Len(_) => 2,
            Value::Fixed32(_) => 5,
        }
    }

    /// The bytes of a length-delimited field.
    ///
    /// # Errors
    /// The field is not length-delimited.
    pub fn bytes(self, field: u32) -> Result<&'a [u8], DecodeError> {
        match self {
            Value::Len(b) => Ok(b),
            other => Err(DecodeError::WrongWireType {
                field,
                got: other.wire_type(),
                expected: 2,
            }),
        }
    }

    /// A string field (invalid UTF-8 is replaced, not refused: one odd
    /// label must not lose a whole container list).
    ///
    /// # Errors
    /// The field is not length-delimited.
    pub fn string(self, field: u32) -> Result<String, DecodeError> {
        Ok(String::from_utf8_lossy(self.bytes(field)?).into_owned())
    }

    /// A varint field (ints, enums, bools).
    ///
    /// # Errors
    /// The field is not a varint.
    pub fn varint(self, field: u32) -> Result<u64, DecodeError> {
        match self {
            Value::Varint(v) => Ok(v),
            other => Err(DecodeError::WrongWireType {
                field,
                got: other.wire_type(),
                expected: 0,
            }),
        }
    }
}

/// Reads a varint at the start of `buf`: the value and its length.
fn read_varint(buf: &[u8]) -> Result<(u64, usize), DecodeError> {
    let mut v: u64 = 0;
    for (i, b) in buf.iter().enumerate().take(10) {
        let bits = u64::from(b & 0x7f);
        if i == 9 && *b > 1 {
            return Err(DecodeError::VarintOverflow);
        }
        v |= bits << (7 * i);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    if buf.len() >= 10 {
        Err(DecodeError::VarintOverflow)
    } else {
        Err(DecodeError::Truncated)
    }
}

/// The fields of one message, in wire order.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Reader<'a> {
    /// A reader over a whole message.
    ///
    /// # Errors
    /// The message is over [`MAX_MESSAGE`].
    pub fn new(buf: &'a [u8]) -> Result<Self, DecodeError> {
        if buf.len() > MAX_MESSAGE {
            return Err(DecodeError::TooLarge(buf.len()));
        }
        Ok(Reader { buf, failed: false })
    }

    fn next_field(&mut self) -> Result<(u32, Value<'a>), DecodeError> {
        let (key, n) = read_varint(self.buf)?;
        self.buf = &self.buf[n..];
        let field = u32::try_from(key >> 3).map_err(|_| DecodeError::BadFieldNumber)?;
        if field == 0 || field >= 1 << 29 {
            return Err(DecodeError::BadFieldNumber);
        }
        let wire = (key & 7) as u8;
        let value = match wire {
            0 => {
                let (v, n) = read_varint(self.buf)?;
                self.buf = &self.buf[n..];
                Value::Varint(v)
            }
            1 => {
                let b: [u8; 8] = self
                    .buf
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(DecodeError::Truncated)?;
                self.buf = &self.buf[8..];
                Value::Fixed64(u64::from_le_bytes(b))
            }
            2 => {
                let (len, n) = read_varint(self.buf)?;
                let rest = &self.buf[n..];
                let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
                let b = rest.get(..len).ok_or(DecodeError::Truncated)?;
                self.buf = &rest[len..];
                Value::Len(b)
            }
            5 => {
                let b: [u8; 4] = self
                    .buf
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(DecodeError::Truncated)?;
                self.buf = &self.buf[4..];
                Value::Fixed32(u32::from_le_bytes(b))
            }
            other => return Err(DecodeError::BadWireType(other)),
        };
        Ok((field, value))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Value<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        let r = self.next_field();
        self.failed = r.is_err();
        Some(r)
    }
}

/// A message type: decoded field by field, encoded whole.
pub trait Message: Default {
    /// Keeps one field (unknown fields are ignored).
    ///
    /// # Errors
    /// A known field has the wrong wire type or a malformed sub-message.
    fn merge_field(&mut self, field: u32, value: Value<'_>) -> Result<(), DecodeError>;

    /// Writes the message's fields.
    fn encode(&self, w: &mut Writer);

    /// Decodes a whole message.
    ///
    /// # Errors
    /// Malformed or over [`MAX_MESSAGE`].
    fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut m = Self::default();
        for f in Reader::new(buf)? {
            let (n, v) = f?;
            m.merge_field(n, v)?;
        }
        Ok(m)
    }

    /// The message's bytes.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.encode(&mut w);
        w.into_bytes()
    }
}

/// Decodes a sub-message field.
///
/// # Errors
/// The field is not length-delimited or the message is malformed.
pub fn message<M: Message>(field: u32, value: Value<'_>) -> Result<M, DecodeError> {
    M::decode(value.bytes(field)?)
}

/// A message whose only field is a repeated message in field 1: every list
/// answer of the CRI and containerd APIs (`ListContainersResponse`,
/// `ListPodSandboxResponse`, `ListTasksResponse`, `ListNamespacesResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<T> {
    pub items: Vec<T>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List { items: Vec::new() }
    }
}

impl<T: Message> Message for List<T> {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        if field == 1 {
            if self.items.len() >= MAX_LIST_ITEMS {
                return Err(DecodeError::TooManyItems);
            }
            self.items.push(message(field, v)?);
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        for item in &self.items {
            w.message(1, |w| item.encode(w));
        }
    }
}

/// Adds one entry of a `map<string, string>` field (an entry is a message
/// with the key in field 1 and the value in field 2).
///
/// # Errors
/// The entry is malformed.
pub fn map_entry(
    map: &mut BTreeMap<String, String>,
    field: u32,
    value: Value<'_>,
) -> Result<(), DecodeError> {
    let (mut k, mut v) = (String::new(), String::new());
    for f in Reader::new(value.bytes(field)?)? {
        match f? {
            (1, x) => k = x.string(1)?,
            (2, x) => v = x.string(2)?,
            _ => {}
        }
    }
    map.insert(k, v);
    Ok(())
}

/// Builds a message. Proto3 defaults (0, empty) are left out by the
/// helpers, as the official encoders do.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.raw_varint((u64::from(field) << 3) | u64::from(wire));
    }

    /// A varint field (left out when 0).
    pub fn varint(&mut self, field: u32, v: u64) -> &mut Self {
        if v != 0 {
            self.key(field, 0);
            self.raw_varint(v);
        }
        self
    }

    /// A bytes field (left out when empty).
    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        if !b.is_empty() {
            self.key(field, 2);
            self.raw_varint(b.len() as u64);
            self.buf.extend_from_slice(b);
        }
        self
    }

    /// A string field (left out when empty).
    pub fn string(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    /// A repeated string field, one entry per element (empty ones kept).
    pub fn strings<S: AsRef<str>>(&mut self, field: u32, v: &[S]) -> &mut Self {
        for s in v {
            self.key(field, 2);
            self.raw_varint(s.as_ref().len() as u64);
            self.buf.extend_from_slice(s.as_ref().as_bytes());
        }
        self
    }

    /// A sub-message field, always written (an empty message still says
    /// the field is set).
    pub fn message(&mut self, field: u32, build: impl FnOnce(&mut Writer)) -> &mut Self {
        let mut sub = Writer::default();
        build(&mut sub);
        self.key(field, 2);
        self.raw_varint(sub.buf.len() as u64);
        self.buf.extend_from_slice(&sub.buf);
        self
    }

    /// A `map<string, string>` field.
    pub fn map(&mut self, field: u32, m: &BTreeMap<String, String>) -> &mut Self {
        for (k, v) in m {
            self.message(field, |e| {
                e.string(1, k).string(2, v);
            });
        }
        self
    }

    /// The encoded message.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(read_varint(&[0x96, 0x01]), Ok((150, 2)));
        assert_eq!(read_varint(&[0x80]), Err(DecodeError::Truncated));
        assert_eq!(read_varint(&[]), Err(DecodeError::Truncated));
        assert_eq!(read_varint(&[0xff; 11]), Err(DecodeError::VarintOverflow));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_varint(&max), Ok((u64::MAX, 10)));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read_varint(&over), Err(DecodeError::VarintOverflow));
    }

    #[test]
    fn fields_by_hand() {
        // field 1 varint 150; field 2 string "hi"; field 3 fixed32; field 4 fixed64.
        let buf = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0,
            0,
        ];
        let fields: Vec<_> = Reader::new(&buf)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            fields,
            vec![
                (1, Value::Varint(150)),
                (2, Value::Len(b"hi")),
                (3, Value::Fixed32(1)),
                (4, Value::Fixed64(2)),
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let cases: &[(&[u8], DecodeError)] = &[
            (&[0x12, 0x05, b'a'], DecodeError::Truncated),
            (&[0x12], DecodeError::Truncated),
            (&[0x1d, 1, 2], DecodeError::Truncated),
            (&[0x21, 1, 2, 3], DecodeError::Truncated),
            (&[0x0b], DecodeError::BadWireType(3)),
            (&[0x0e], DecodeError::BadWireType(6)),
            (&[0x00, 0x01], DecodeError::BadFieldNumber),
            (
                &[
                    0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                ],
                DecodeError::Truncated,
            ),
        ];
        for (bytes, want) in cases {
            let got: Result<Vec<_>, _> = Reader::new(bytes).unwrap().collect();
            assert_eq!(got.unwrap_err(), *want, "{bytes:?}");
        }
        // The iterator stops after an error.
        let mut r = Reader::new(&[0x0b, 0x08, 0x01]).unwrap();
        assert!(r.next().unwrap().is_err());
        assert!(r.next().is_none());
        // Oversized input is refused before reading.
        let big = vec![0u8; MAX_MESSAGE + 1];
        assert_eq!(
            Reader::new(&big).unwrap_err(),
            DecodeError::TooLarge(MAX_MESSAGE + 1)
        );
    }

    #[test]
    fn wrong_wire_types() {
        assert_eq!(
            Value::Varint(1).string(7),
            Err(DecodeError::WrongWireType {
                field: 7,
                got: 0,
                expected: 2
            })
        );
        assert!(Value::Len(b"x").varint(1).is_err());
        assert_eq!(Value::Len(b"\xffok").string(1).unwrap(), "\u{fffd}ok");
    }

    #[test]
    fn writer_skips_defaults_and_nests() {
        let mut w = Writer::default();
        w.varint(1, 0).string(2, "").message(3, |_| {});
        assert_eq!(w.into_bytes(), vec![0x1a, 0x00]);
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), "b".to_string());
        let mut w = Writer::default();
        w.map(5, &m);
        let bytes = w.into_bytes();
        assert_eq!(bytes, vec![0x2a, 6, 0x0a, 1, b'a', 0x12, 1, b'b']);
        let mut back = BTreeMap::new();
        for f in Reader::new(&bytes).unwrap() {
            let (n, v) = f.unwrap();
            map_entry(&mut back, n, v).unwrap();
        }
        assert_eq!(back, m);
    }

    #[test]
    fn a_list_keeps_at_most_max_list_items() {
        #[derive(Debug, Default, PartialEq)]
        struct Empty;
        impl Message for Empty {
            fn merge_field(&mut self, _: u32, _: Value<'_>) -> Result<(), DecodeError> {
                Ok(())
            }
            fn encode(&self, _: &mut Writer) {}
        }
        let empty_items = |n: usize| [0x0a, 0x00].repeat(n);
        let full = List::<Empty>::decode(&empty_items(MAX_LIST_ITEMS)).unwrap();
        assert_eq!(full.items.len(), MAX_LIST_ITEMS);
        assert_eq!(full.to_bytes(), empty_items(MAX_LIST_ITEMS), "round trip");
        let over = List::<Empty>::decode(&empty_items(MAX_LIST_ITEMS + 1));
        assert_eq!(over, Err(DecodeError::TooManyItems));
        assert_eq!(
            DecodeError::TooManyItems.to_string(),
            "list of more than 100000 items"
        );
    }
}
