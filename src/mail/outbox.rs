//! The file outbox: one `.eml` file per message under `WHARF_DATA_DIR/outbox/`, named so
//! that names sort by time. Also reads them back for the admins' Outbox page.

use base64::Engine;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox")
}

/// Writes a message atomically (a temp file renamed into place); returns its file name.
pub fn write(dir: &Path, bytes: &[u8]) -> std::io::Result<String> {
    use rand::distributions::{Alphanumeric, DistString};
    std::fs::create_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%6fZ");
    let suffix = Alphanumeric
        .sample_string(&mut rand::thread_rng(), 8)
        .to_lowercase();
    let name = format!("{stamp}-{suffix}.eml");
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(&name))?;
    Ok(name)
}

/// A message read back: headers decoded, body decoded to text.
#[derive(Debug, Clone)]
pub struct ReadMail {
    pub name: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub body: String,
}

/// Whether a name is one the outbox wrote (so a request cannot walk out of the folder).
pub fn valid_name(name: &str) -> bool {
    name.ends_with(".eml")
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.contains("..")
}

/// The newest messages first, at most `limit`, headers only (`body` empty): the list
/// never reads a message whole, however large it is.
pub fn list_headers(dir: &Path, limit: usize) -> std::io::Result<Vec<ReadMail>> {
    names(dir, limit)?
        .into_iter()
        .map(|n| read_headers(dir, &n))
        .collect()
}

/// The newest messages first, at most `limit`, each read whole.
pub fn list(dir: &Path, limit: usize) -> std::io::Result<Vec<ReadMail>> {
    names(dir, limit)?.into_iter().map(|n| read(dir, &n)).collect()
}

/// The longest header section read for the list (Wharf writes well under 1 KiB).
const MAX_HEAD: u64 = 64 * 1024;

/// One message's headers, read up to the blank line that ends them.
fn read_headers(dir: &Path, name: &str) -> std::io::Result<ReadMail> {
    use std::io::{BufRead, Read};
    let file = std::fs::File::open(dir.join(name))?;
    let mut reader = std::io::BufReader::new(file).take(MAX_HEAD);
    let mut head = Vec::new();
    loop {
        let start = head.len();
        if reader.read_until(b'\n', &mut head)? == 0 {
            break;
        }
        if matches!(&head[start..], b"\n" | b"\r\n") {
            break;
        }
    }
    let mut mail = parse(&head);
    mail.body = String::new();
    mail.name = name.to_string();
    Ok(mail)
}

/// The names of the newest messages, newest first.
fn names(dir: &Path, limit: usize) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| valid_name(n))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    names.sort_unstable_by(|a, b| b.cmp(a));
    names.truncate(limit);
    Ok(names)
}

/// One message by file name.
pub fn read(dir: &Path, name: &str) -> std::io::Result<ReadMail> {
    if !valid_name(name) {
        return Err(std::io::ErrorKind::NotFound.into());
    }
    let raw = std::fs::read(dir.join(name))?;
    let mut mail = parse(&raw);
    mail.name = name.to_string();
    Ok(mail)
}

/// Reads the headers Wharf writes and a single-part text body (7bit, 8bit,
/// quoted-printable or base64).
pub fn parse(raw: &[u8]) -> ReadMail {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    // Unfold continuation lines.
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = headers.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |k: &str| {
        headers
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| decode_words(v))
            .unwrap_or_default()
    };
    let encoding = get("content-transfer-encoding").to_ascii_lowercase();
    let body = match encoding.as_str() {
        "quoted-printable" => {
            quoted_printable::decode(body.replace('\n', "\r\n"), quoted_printable::ParseMode::Robust)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| body.to_string())
        }
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| body.to_string())
        }
        _ => body.to_string(),
    };
    ReadMail {
        name: String::new(),
        to: get("to"),
        subject: get("subject"),
        date: get("date"),
        body: body.replace("\r\n", "\n"),
    }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) in a header value.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, after) = rest.split_at(start);
        let decoded = after[2..].splitn(3, '?').collect::<Vec<_>>();
        let word = (decoded.len() == 3)
            .then(|| {
                decoded[2]
                    .find("?=")
                    .map(|end| (decoded[1], &decoded[2][..end], end))
            })
            .flatten();
        let Some((kind, data, end)) = word else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            last_was_word = false;
            continue;
        };
        // Whitespace between two encoded words is not part of the text.
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let bytes = match kind.to_ascii_lowercase().as_str() {
            "b" => base64::engine::general_purpose::STANDARD.decode(data).ok(),
            "q" => quoted_printable::decode(data.replace('_', " "), quoted_printable::ParseMode::Robust).ok(),
            _ => None,
        };
        match bytes {
            Some(b) => out.push_str(&String::from_utf8_lossy(&b)),
            None => out.push_str(data),
        }
        let consumed = 2 + decoded[0].len() + 1 + kind.len() + 1 + end + 2;
        rest = &after[consumed..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_folder() {
        assert!(valid_name("20261126T101010_123456Z-abcd1234.eml"));
        assert!(!valid_name("../secret.eml"));
        assert!(!valid_name("a/b.eml"));
        assert!(!valid_name(".hidden.eml"));
        assert!(!valid_name("x.txt"));
    }

    #[test]
    fn encoded_words_decode() {
        assert_eq!(decode_words("=?utf-8?b?WsO2w6s=?= =?utf-8?q?_x?="), "Zöë x");
        assert_eq!(decode_words("plain"), "plain");
    }
}
