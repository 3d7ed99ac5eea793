//! `WHARF_STORAGE_URL`: an S3-compatible bucket, and what a process lets through it at once.

/// An S3-compatible bucket for uploaded files.
#[derive(Clone)]
pub struct BucketSettings {
    /// The URL as given, for messages.
    pub url: String,
    pub bucket: String,
    /// Where Wharf's objects go in the bucket (may be empty).
    pub prefix: String,
    /// `object_store` S3 options (`aws_endpoint`, `aws_access_key_id`, ...) on top of the
    /// `AWS_*` variables of the environment, which the store reads itself.
    pub options: Vec<(String, String)>,
    /// How many uploads and downloads go through the bucket at once (see [`Crowds`]).
    pub crowds: Crowds,
}

/// What a process lets through its bucket at once: each upload buffers up to one part and
/// two in flight (8 to 24 MiB), each download a few chunks and a connection to the store
/// (about 3 MB), so a crowd of slow clients is bounded (probe 54a: 260 trickling uploads
/// took 2.5 GB, 800 unread downloads 2.3 GB). Past them a request is answered 503 with
/// `Retry-After`; a download whose client takes nothing for `idle` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crowds {
    pub uploads: usize,
    pub downloads: usize,
    pub idle: std::time::Duration,
}

impl Default for Crowds {
    fn default() -> Self {
        Crowds {
            uploads: 16,
            downloads: 64,
            // Long enough for a steady reader at a few KB/s behind megabytes of socket
            // buffers, which take chunks minutes apart (probe 55a M1: 16 KB/s was cut at 60 s).
            idle: std::time::Duration::from_secs(300),
        }
    }
}

impl BucketSettings {
    /// Reads `s3://bucket` or `s3://bucket/prefix`.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("`{url}` must look like s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(format!(
                "`{bucket}` is not a bucket name (3 to 63 lowercase letters, digits, `-` and `.`)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        // Said so that the fix is plain (probe 71e D5: "not a usable prefix").
        let parts: Vec<&str> = prefix.split('/').filter(|p| !p.is_empty()).collect();
        if parts.iter().any(|p| *p == "." || *p == "..") {
            let named: Vec<&str> = parts
                .iter()
                .filter(|p| **p != "." && **p != "..")
                .copied()
                .collect();
            let fix = match named.is_empty() {
                true => "leave the prefix out".to_string(),
                false => format!("name the folders themselves, such as `{}`", named.join("/")),
            };
            return Err(format!(
                "the prefix `{prefix}` holds a `.` or `..` part, which object keys cannot; {fix}"
            ));
        }
        if prefix.contains("//") {
            return Err(format!(
                "the prefix `{prefix}` holds an empty part (`//`); write it as `{}`",
                parts.join("/")
            ));
        }
        Ok(BucketSettings {
            url: url.to_string(),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            options: Vec::new(),
            crowds: Crowds::default(),
        })
    }
}

/// Never prints the option values: they hold secrets.
impl std::fmt::Debug for BucketSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.options.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("BucketSettings")
            .field("url", &self.url)
            .field("options", &names)
            .finish()
    }
}

/// The AWS_* switches the S3 client reads as true or false.
const SWITCHES: [&str; 7] = [
    "AWS_ALLOW_HTTP",
    "AWS_ALLOW_INVALID_CERTIFICATES",
    "AWS_VIRTUAL_HOSTED_STYLE_REQUEST",
    "AWS_SKIP_SIGNATURE",
    "AWS_UNSIGNED_PAYLOAD",
    "AWS_S3_EXPRESS",
    "AWS_IMDSV1_FALLBACK",
];

/// The first switch set to something the S3 client does not read as true or false.
pub fn bad_switch() -> Option<&'static str> {
    let switch = |v: &str| {
        let v = v.to_ascii_lowercase();
        ["1", "true", "on", "yes", "y", "0", "false", "off", "no", "n"].contains(&v.as_str())
    };
    SWITCHES
        .into_iter()
        .find(|name| std::env::var(name).is_ok_and(|v| !switch(&v)))
}
