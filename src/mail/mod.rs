//! Outgoing mail. With `WHARF_SMTP_URL` set, messages go to that SMTP server (through
//! `lettre`); otherwise each one is written as an RFC 5322 `.eml` file to
//! `WHARF_DATA_DIR/outbox/`, which admins read on the Outbox page, so a fresh install shows
//! its invitations without a mail server.
//!
//! A message that cannot be handed over is never dropped in silence: `send` tries a few
//! times when the failure may pass (a server down or busy), then answers an error the
//! caller shows to the person who asked for the mail.

pub mod outbox;

use crate::settings::Settings;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// One plain-text message to one person.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
}

/// Where mail goes.
pub enum Mailer {
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
        /// `host:port`, for messages (never the credentials).
        server: String,
        /// Pauses before the second, third, ... try.
        retry_delays: Vec<Duration>,
        /// The longest one try (connecting, each command, the message) may take.
        timeout: Duration,
    },
    Outbox {
        dir: PathBuf,
        from: Mailbox,
    },
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("`{0}` is not an email address")]
    Address(String),
    #[error("the mail server {server} did not take the message ({tries} tries): {cause}")]
    Smtp {
        server: String,
        tries: usize,
        cause: String,
    },
    /// A permanent refusal (a 5xx answer): trying again would get the same.
    #[error("address refused: the mail server {server} will not take mail for {to}: {cause}")]
    Refused {
        server: String,
        to: String,
        cause: String,
    },
    /// Another permanent answer (a 5xx not about the mailbox: a refused login, say).
    #[error("the mail server {server} refused the message for good: {cause}")]
    Rejected { server: String, cause: String },
    #[error("the outbox folder {dir} cannot be written: {cause}")]
    Outbox { dir: String, cause: String },
    #[error("building the message failed: {0}")]
    Build(String),
}

impl MailError {
    /// Whether another try would fail the same way (so none is made).
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MailError::Address(_)
                | MailError::Refused { .. }
                | MailError::Rejected { .. }
                | MailError::Build(_)
        )
    }

    fn outbox(dir: &std::path::Path, e: &std::io::Error) -> MailError {
        let in_the_way = dir.exists() && !dir.is_dir();
        MailError::Outbox {
            dir: dir.display().to_string(),
            cause: if in_the_way {
                "a file of that name is in the way".into()
            } else {
                e.kind().to_string()
            },
        }
    }
}

/// Parses `Name <address>` or a bare address.
pub fn parse_mailbox(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>()
        .map_err(|_| format!("`{text}` is not an address like `Wharf <wharf@example.com>`"))
}

/// How long one SMTP try may take before it counts as failed, unless the URL says
/// otherwise (`?timeout=SECONDS`).
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The `timeout` (seconds) of an SMTP URL's query, if any.
fn timeout_of(url: &str) -> anyhow::Result<Option<Duration>> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(None);
    };
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("timeout=") {
            return match value.parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs <= 3600.0 => Ok(Some(Duration::from_secs_f64(secs))),
                _ => Err(anyhow::anyhow!(
                    "WHARF_SMTP_URL: timeout={value} is not a number of seconds (1 to 3600)"
                )),
            };
        }
    }
    Ok(None)
}

/// Refuses an SMTP URL whose query names what Wharf does not read (a misspelt `tsl` was
/// taken as no TLS at all), and one that would send its password unencrypted to another
/// machine (probe 63b D5: the password went over the wire in clear text).
fn check_url(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("WHARF_SMTP_URL: {e}"))?;
    let mut tls = None;
    let mut seen = std::collections::HashSet::new();
    for (key, value) in parsed.query_pairs() {
        // Read twice, the check and the mailer could each take another (probe 63e D1: the
        // check saw `required`, lettre used the first, `opportunistic`).
        if !seen.insert(key.to_string()) {
            anyhow::bail!("WHARF_SMTP_URL: `{key}` is given twice; give it once");
        }
        match key.as_ref() {
            "timeout" => {}
            "tls" if value == "required" || value == "opportunistic" => tls = Some(value.into_owned()),
            "tls" => anyhow::bail!("WHARF_SMTP_URL: tls={value} is neither `required` nor `opportunistic`"),
            other => anyhow::bail!(
                "WHARF_SMTP_URL: `{other}` is no setting Wharf reads; it reads `tls` (required or \
                 opportunistic) and `timeout` (seconds)"
            ),
        }
    }
    let local = match parsed.host() {
        // (`smtp` is no scheme the URL standard knows, so an address comes as a name.)
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let encrypted = parsed.scheme() == "smtps" || tls.as_deref() == Some("required");
    if parsed.password().is_some() && !encrypted && !local {
        anyhow::bail!(
            "WHARF_SMTP_URL holds a password but would send it unencrypted; add ?tls=required \
             (STARTTLS, usually port 587) or use smtps:// (port 465)"
        );
    }
    Ok(())
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Mailer> {
        let from = parse_mailbox(&settings.mail_from).map_err(|e| anyhow::anyhow!("WHARF_MAIL_FROM: {e}"))?;
        match &settings.smtp_url {
            Some(url) => {
                check_url(url)?;
                let timeout = timeout_of(url)?.unwrap_or(SMTP_TIMEOUT);
                // lettre's async transport bounds connecting only; `send` bounds the rest.
                let transport = Box::new(
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                        .map_err(|e| anyhow::anyhow!("WHARF_SMTP_URL: {e}"))?
                        .timeout(Some(timeout))
                        .build(),
                );
                Ok(Mailer::Smtp {
                    transport,
                    from,
                    server: server_of(url),
                    retry_delays: vec![Duration::from_millis(500), Duration::from_secs(2)],
                    timeout,
                })
            }
            None => Ok(Mailer::Outbox {
                dir: outbox::dir(&settings.data_dir),
                from,
            }),
        }
    }

    /// Sets the pauses between tries (tests make them short).
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        if let Mailer::Smtp { retry_delays, .. } = &mut self {
            *retry_delays = delays;
        }
        self
    }

    /// Whether messages are kept in the outbox folder rather than sent.
    pub fn uses_outbox(&self) -> bool {
        matches!(self, Mailer::Outbox { .. })
    }

    /// Sends one message, or writes it to the outbox.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let message = build(from, mail)?;
        match self {
            Mailer::Outbox { dir, .. } => {
                let dir = dir.clone();
                let bytes = message.formatted();
                let written = tokio::task::spawn_blocking({
                    let dir = dir.clone();
                    move || outbox::write(&dir, &bytes)
                })
                .await
                .map_err(|e| MailError::outbox(&dir, &std::io::Error::other(e)))?;
                written.map_err(|e| MailError::outbox(&dir, &e))?;
                Ok(())
            }
            Mailer::Smtp {
                transport,
                server,
                retry_delays,
                timeout,
                ..
            } => {
                let mut tries = 0;
                loop {
                    tries += 1;
                    let (cause, may_pass) = match tokio::time::timeout(
                        *timeout,
                        transport.send(message.clone()),
                    )
                    .await
                    {
                        Ok(Ok(_)) => return Ok(()),
                        Ok(Err(e)) if e.is_permanent() => {
                            tracing::warn!(server = %server, error = %e, "the mail server refused a message");
                            return Err(refusal(server, &mail.to, &e));
                        }
                        Ok(Err(e)) => (e.to_string(), true),
                        Err(_) => (
                            format!("no answer within {} seconds", timeout.as_secs_f64()),
                            true,
                        ),
                    };
                    tracing::warn!(server = %server, tries, error = %cause, "sending mail failed");
                    match retry_delays.get(tries - 1) {
                        Some(delay) if may_pass => tokio::time::sleep(*delay).await,
                        _ => {
                            return Err(MailError::Smtp {
                                server: server.clone(),
                                tries,
                                cause,
                            })
                        }
                    }
                }
            }
        }
    }
}

/// A permanent answer: about the mailbox (5x5: 550 no such user, 553 bad address...) it
/// is the address that is refused; otherwise the message as a whole.
fn refusal(server: &str, to: &str, e: &lettre::transport::smtp::Error) -> MailError {
    use lettre::transport::smtp::response::Category;
    let (server, cause) = (server.to_string(), e.to_string());
    match e.status() {
        Some(code) if code.category == Category::MailSystem => MailError::Refused {
            server,
            to: to.to_string(),
            cause,
        },
        _ => MailError::Rejected { server, cause },
    }
}

/// Header text holds no line breaks or other control characters (a name with a line
/// break made lettre panic writing the `To` header).
fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| !crate::names::is_bidi_control(*c))
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn build(from: Mailbox, mail: &Mail) -> Result<lettre::Message, MailError> {
    let address = mail.to.parse().map_err(|_| MailError::Address(mail.to.clone()))?;
    let name = mail.to_name.as_deref().map(one_line).filter(|n| !n.is_empty());
    let to = Mailbox::new(name, address);
    let subject = no_encoded_words(one_line(&mail.subject));
    let text = mail.text.clone();
    // lettre panics on some header values instead of answering an error; one bad
    // message must not take its caller (a request, the retry loop) down with it.
    std::panic::catch_unwind(move || {
        lettre::Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text)
    })
    .map_err(|_| MailError::Build("the message's headers could not be written".into()))?
    .map_err(|e| MailError::Build(e.to_string()))
}

/// A subject's text as it should read. Written as is, `=?utf-8?b?...?=` in a name would be
/// decoded by the reader's mail program into what it hides (a line break, a text-direction
/// override: probe 63b D1); a word joiner after its `=` keeps it plain text, and makes the
/// subject one lettre encodes whole.
fn no_encoded_words(subject: String) -> String {
    match subject.contains("=?") {
        true => subject.replace("=?", "=\u{2060}?"),
        false => subject,
    }
}

/// `host:port` of an SMTP URL, without credentials or query.
fn server_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_word_in_a_subject_stays_plain_text() {
        let mail = Mail {
            to: "g@example.com".into(),
            to_name: None,
            subject: "=?utf-8?q?evil?= invited you to S1".into(),
            text: "hi".into(),
        };
        let from = parse_mailbox("Wharf <w@example.com>").unwrap();
        let formatted = String::from_utf8(build(from, &mail).unwrap().formatted()).unwrap();
        let line = formatted.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(!line.contains("=?utf-8?q?evil?="), "{line}");
        assert!(line.starts_with("Subject: =?utf-8?b?"), "{line}");
        let plain = "Ada invited you to S1".to_string();
        assert_eq!(no_encoded_words(plain.clone()), plain);
    }

    #[test]
    fn an_smtp_url_reads_only_what_it_knows_and_keeps_passwords_encrypted() {
        for fine in [
            "smtp://mail.example.com:25",
            "smtp://user:pw@mail.example.com:587?tls=required&timeout=5",
            "smtps://user:pw@mail.example.com",
            "smtp://user:pw@127.0.0.1:2525",
            "smtp://mail.example.com?tls=opportunistic",
        ] {
            assert!(check_url(fine).is_ok(), "{fine}");
        }
        let twice = check_url("smtp://u:pw@192.0.2.2?tls=opportunistic&tls=required").unwrap_err();
        assert!(twice.to_string().contains("given twice"), "{twice}");
        let misspelt = check_url("smtp://user:pw@127.0.0.1:2525?tsl=required").unwrap_err();
        assert!(misspelt.to_string().contains("`tsl` is no setting"), "{misspelt}");
        for clear in [
            "smtp://user:pw@mail.example.com:587",
            "smtp://user:pw@mail.example.com:587?tls=opportunistic",
        ] {
            let e = check_url(clear).unwrap_err();
            assert!(e.to_string().contains("unencrypted"), "{clear}: {e}");
            assert!(!e.to_string().contains("pw"), "{e}");
        }
    }

    #[test]
    fn the_server_is_named_without_credentials() {
        assert_eq!(
            server_of("smtps://me:s3cret@mail.example.com:465"),
            "mail.example.com:465"
        );
        assert_eq!(server_of("smtp://127.0.0.1:2525?tls=required"), "127.0.0.1:2525");
    }

    #[test]
    fn the_url_may_bound_each_try() {
        assert_eq!(timeout_of("smtp://h:25").unwrap(), None);
        assert_eq!(
            timeout_of("smtp://h:587?tls=required&timeout=2.5").unwrap(),
            Some(Duration::from_millis(2500))
        );
        assert!(timeout_of("smtp://h:25?timeout=soon").is_err());
        assert!(timeout_of("smtp://h:25?timeout=0").is_err());
    }

    #[test]
    fn a_message_reads_back_from_its_eml_text() {
        let from = parse_mailbox("Wharf <wharf@example.com>").unwrap();
        let mail = Mail {
            to: "ada@example.com".into(),
            to_name: Some("Ada Lovelace".into()),
            subject: "Your invitation to Acme — onboarding".into(),
            text: format!(
                "Zoë wrote: bienvenue!\n\nOpen {}\n",
                "http://x/guest-links/".to_string() + &"a".repeat(90)
            ),
        };
        let raw = build(from, &mail).unwrap().formatted();
        let parsed = outbox::parse(&raw);
        assert!(
            parsed.to.contains("Ada Lovelace") && parsed.to.contains("<ada@example.com>"),
            "{}",
            parsed.to
        );
        assert_eq!(parsed.subject, "Your invitation to Acme — onboarding");
        assert!(parsed.body.contains("Zoë wrote: bienvenue!"), "{}", parsed.body);
        assert!(
            parsed.body.contains(&format!("/guest-links/{}", "a".repeat(90))),
            "{}",
            parsed.body
        );
    }
}
