//! A blueprint's JSON read with every key once: with a member written twice (a hand-edited
//! file's copy and paste) serde keeps the last, so `"name": "First", "name": "Second"`
//! deployed `Second`, and a second `"key"` gave a misleading error (probe 64e D7).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// JSON that holds no object with a key twice; the error names the path of the second.
pub struct StrictJson(pub Value);

impl<'de> serde::Deserialize<'de> for StrictJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        At(Path::Root).deserialize(d).map(StrictJson)
    }
}

/// Where a value is, as links to its parent: written out only for an error, since a
/// copy for every value cost seconds and gigabytes for long keys (probe 65d D5).
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// An error names a path of any length: its first 1,000 characters are enough to find it.
fn shortened(said: String) -> String {
    match said.char_indices().nth(1000) {
        Some((cut, _)) => format!("{}…", &said[..cut]),
        None => said,
    }
}

/// A value and where it is, for the error.
struct At<'p>(Path<'p>);

impl<'de> DeserializeSeed<'de> for At<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for At<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(At(Path::Index(&self.0, items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = Path::Key(&self.0, &key);
            if object.contains_key(&key) {
                let said = format!("{at}: `{key}` is written twice in one object; keep one");
                return Err(de::Error::custom(shortened(said)));
            }
            let value = map.next_value_seed(At(at))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::StrictJson;

    fn read(text: &str) -> Result<serde_json::Value, String> {
        serde_json::from_str::<StrictJson>(text)
            .map(|s| s.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_key_written_twice_is_named_by_its_path() {
        let e = read(r#"{"name": "First", "name": "Second"}"#).unwrap_err();
        assert!(e.starts_with("$.name: `name` is written twice"), "{e}");
        let e =
            read(r#"{"workbooks": [{"sheets": [{"fields": [{}, {"key": "a", "key": "b"}]}]}]}"#).unwrap_err();
        assert!(e.starts_with("$.workbooks[0].sheets[0].fields[1].key:"), "{e}");
    }

    #[test]
    fn long_keys_over_many_values_read_at_once() {
        // A copy of the path for every value: 13 s for this (probe 65d D5).
        let key = "k".repeat(1_000_000);
        let zeros = vec!["0"; 100_000].join(",");
        let text = format!(r#"{{"{key}": [{zeros}]}}"#);
        let started = std::time::Instant::now();
        let value = read(&text).unwrap();
        assert_eq!(value[&key].as_array().unwrap().len(), 100_000);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        let twice = format!(r#"{{"{key}": {{"a": 1, "a": 2}}}}"#);
        let e = read(&twice).unwrap_err();
        assert!(e.len() < 1_200 && e.contains('…'), "{} characters", e.len());
    }

    #[test]
    fn json_without_repeats_reads_as_serde_does() {
        let text =
            r#"{"b": [1, -2, 3.5, 1e300, "x\u00e9", true, null, {}], "a": {"c": 18446744073709551615}}"#;
        assert_eq!(
            read(text).unwrap(),
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
        // The same key in two objects is no repeat.
        assert!(read(r#"[{"key": 1}, {"key": 2}]"#).is_ok());
    }
}
