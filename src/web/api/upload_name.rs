//! The name an uploaded file is kept under: the last part of what the client sent.

/// The file's name from its part's `Content-Disposition`, `blob` when it has none.
pub fn of(field: &actix_multipart::Field) -> String {
    let raw = field
        .headers()
        .get(actix_web::http::header::CONTENT_DISPOSITION)
        // As UTF-8: `to_str` takes only ASCII, and `José` is a folder's name too (probe
        // 60c D10: a path with one accent was kept whole).
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok());
    // A client sending a Windows path (`C:\Users\bob\list.csv`, as old browsers and some
    // tools do) means its backslashes as separators, which the header's parser reads as
    // escapes (`C:Usersboblist.csv`): the name is then taken from the header as sent.
    let from_path = raw.and_then(windows_base_name);
    from_path
        .or_else(|| {
            field
                .content_disposition()
                .and_then(|cd| cd.get_filename())
                .map(String::from)
        })
        // RFC 5987's `filename*=UTF-8''...`, which some clients send alone.
        .or_else(|| {
            let ext = field.content_disposition()?.get_filename_ext()?.clone();
            Some(String::from_utf8_lossy(&ext.value).into_owned())
        })
        .map(|n| one_line(&n))
        .map(|n| crate::web::export::clean_file_name(n.rsplit(['/', '\\']).next().unwrap_or(&n)))
        .filter(|n| !n.trim().is_empty() && !matches!(n.trim(), "." | ".."))
        .unwrap_or_else(|| "blob".into())
}

/// Browsers send a `"` in a file's name as `%22` and a line break as `%0A` or `%0D`
/// (HTML's multipart rule); a name is one line (probe 57a: `%0A` shown).
fn one_line(n: &str) -> String {
    n.replace("%22", "\"")
        .replace("%0D%0A", " ")
        .replace(['\r', '\n'], " ")
        .replace("%0A", " ")
        .replace("%0D", " ")
}

/// The part after the last backslash of a quoted `filename` holding a backslash that
/// escapes nothing a quoted string needs escaped (`\"` and `\\` are escapes).
fn windows_base_name(header: &str) -> Option<String> {
    let start = header.find("filename=\"")? + "filename=\"".len();
    let rest = &header[start..];
    let mut value = String::new();
    let mut saw_separator = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' if matches!(chars.peek(), Some('"') | Some('\\')) => {
                value.push(chars.next().expect("peeked"));
            }
            '\\' => {
                saw_separator = true;
                value.clear();
            }
            other => value.push(other),
        }
    }
    saw_separator.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::windows_base_name;

    #[test]
    fn a_windows_path_is_cut_to_its_file_name() {
        let cut = |h: &str| windows_base_name(h);
        assert_eq!(
            cut(r#"form-data; name="file"; filename="C:\Users\bob\My Data\list.csv""#).as_deref(),
            Some("list.csv")
        );
        assert_eq!(
            cut(r#"form-data; name="file"; filename="..\..\win.csv""#).as_deref(),
            Some("win.csv")
        );
        // Escapes of a quoted string are not separators: the parser's reading stands.
        assert_eq!(cut(r#"form-data; name="file"; filename="say \"hi\".csv""#), None);
        assert_eq!(cut(r#"form-data; name="file"; filename="plain.csv""#), None);
        assert_eq!(cut(r#"form-data; name="file""#), None);
    }
}
