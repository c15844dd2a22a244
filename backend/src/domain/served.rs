//! An answer serialized once: JSON, and the same gzipped, for the views read
//! far more often than they change (the topology, the capacity). A `GET`
//! then costs two reference counts, not a serialization and a compression.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

/// A view as served: JSON, and the same gzipped (for clients that accept it).
#[derive(Clone, Default)]
pub struct Served {
    pub json: Bytes,
    pub gzip: Bytes,
}

impl Served {
    pub fn of<T: Serialize>(t: &T) -> Served {
        Served::json(serde_json::to_vec(t).unwrap_or_default())
    }

    /// `json` as served: kept, and gzipped.
    pub fn json(json: Vec<u8>) -> Served {
        let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::fast());
        let gzip = gz.write_all(&json).and_then(|_| gz.finish()).unwrap_or_default();
        Served { json: Bytes::from(json), gzip: Bytes::from(gzip) }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_gzip_is_the_json() {
        let s = Served::of(&serde_json::json!({ "nodes": vec!["a"; 100] }));
        let mut back = String::new();
        flate2::read::GzDecoder::new(&s.gzip[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back.as_bytes(), &s.json[..]);
        assert!(s.gzip.len() < s.json.len() / 4, "{} gzipped to {}", s.json.len(), s.gzip.len());
    }
}
