//! A job's words as a person reads them. Flatfile's plugins write the keys of their UI's
//! translations (`files.uploadFile.popovers.extractionCompleted`), which Flatfile's pages
//! turn into English; Wharf's pages show the key's last word in plain words ("Extraction
//! completed") rather than the key (probe 68g D3). The API answers what was written.

/// `text` as shown: a translation key's last part spelled out, anything else as it is.
pub fn readable(text: &str) -> String {
    let parts: Vec<&str> = text.split('.').collect();
    // Three words or more, each beginning with a letter: no host name or version number.
    let key = parts.len() >= 3
        && parts.iter().all(|p| {
            p.starts_with(|c: char| c.is_ascii_alphabetic()) && p.chars().all(|c| c.is_ascii_alphanumeric())
        });
    // Its last word in camel case (`extractedFile`), as the plugins' keys are.
    let camel = |w: &str| w.chars().skip(1).any(|c| c.is_ascii_uppercase());
    let Some(last) = parts.last().filter(|w| key && camel(w)) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(last.len() + 4);
    for (i, c) in last.chars().enumerate() {
        if i == 0 {
            out.extend(c.to_uppercase());
        } else if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::readable;

    #[test]
    fn translation_keys_read_as_words() {
        assert_eq!(
            readable("files.uploadFile.popovers.extractionCompleted"),
            "Extraction completed"
        );
        assert_eq!(readable("plugins.extraction.extractedFile"), "Extracted file");
        // Sentences, versions and names stay as written.
        assert_eq!(
            readable("Mapped 2 records into Contacts."),
            "Mapped 2 records into Contacts."
        );
        assert_eq!(readable("v1.2"), "v1.2");
        assert_eq!(readable("example.com"), "example.com");
        assert_eq!(readable("www.example.com"), "www.example.com");
        assert_eq!(readable("Done"), "Done");
        assert_eq!(readable(""), "");
    }
}
