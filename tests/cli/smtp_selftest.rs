//! Tests of the SMTP test server itself, driven by lettre (the client the binary uses) and by a
//! raw TCP client for what lettre never sends.

use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use data_encoding::BASE64;
use lettre::Transport;
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{Error as SmtpError, SmtpTransport, SmtpTransportBuilder};

use crate::smtp::{Options, Security, Server, closed_port, silent_server};

const TIMEOUT: Duration = Duration::from_secs(10);
const USER: &str = "twofactl";
const PASSWORD: &str = "correct horse battery staple";

fn message(to: &str, subject: &str) -> Message {
    let from: Mailbox = "Cymetricx <no-reply@example.com>".parse().unwrap();
    Message::builder()
        .from(from)
        .to(to.parse().unwrap())
        .subject(subject)
        .message_id(None)
        .multipart(MultiPart::alternative_plain_html(
            "Your code is 123456.\n.\nIf this was not you, contact your administrator.\n"
                .to_owned(),
            "<p>Your code is <b>123456</b>.</p>".to_owned(),
        ))
        .unwrap()
}

fn client(server: &Server, tls: Tls) -> SmtpTransportBuilder {
    SmtpTransport::builder_dangerous("127.0.0.1")
        .port(server.port)
        .tls(tls)
        .timeout(Some(TIMEOUT))
}

/// TLS parameters that trust the server's test CA (and the system's roots) for `domain`.
fn trusting_ca(server: &Server, domain: &str) -> TlsParameters {
    let pem = fs::read(&server.ca_pem).unwrap();
    TlsParameters::builder(domain.to_owned())
        .add_root_certificate(Certificate::from_pem(&pem).unwrap())
        .build_rustls()
        .unwrap()
}

#[track_caller]
fn assert_reply(err: &SmtpError, code: &str, enhanced: &str) {
    let status = err.status().map(|c| c.to_string());
    assert_eq!(status.as_deref(), Some(code), "{err}");
    assert!(err.to_string().contains(enhanced), "{err}");
}

#[test]
fn smtp_plain_delivers_a_message_that_parses() {
    let server = Server::start(Options::default());
    client(&server, Tls::None)
        .build()
        .send(&message(
            "Zoë Ünal <zoe@example.com>",
            "Zwei-Faktor zurückgesetzt",
        ))
        .unwrap();

    let got = server.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.mail_from, "no-reply@example.com");
    assert_eq!(m.rcpt_to, ["zoe@example.com"]);
    assert!(!m.tls);
    assert_eq!(m.auth_user, None);
    let parsed = m.parsed();
    assert_eq!(parsed.subject(), Some("Zwei-Faktor zurückgesetzt"));
    let to = parsed.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.name(), Some("Zoë Ünal"));
    assert_eq!(to.address(), Some("zoe@example.com"));
    assert!(parsed.message_id().is_some());
    assert!(parsed.date().is_some());
    // The lone "." line was dot-stuffed by lettre and unstuffed by the server.
    let text = m.text().unwrap();
    assert!(
        text.contains("Your code is 123456.\r\n.\r\nIf this"),
        "{text:?}"
    );
    assert!(m.html().unwrap().contains("<b>123456</b>"));
    assert_eq!(server.connections(), 1);
    let commands = server.commands();
    assert!(commands[0].starts_with("EHLO "), "{commands:?}");
    assert_eq!(commands.last().map(String::as_str), Some("QUIT"));
}

#[test]
fn smtp_starttls_with_the_test_ca() {
    let server = Server::start(Options {
        security: Security::StartTls,
        ..Options::default()
    });
    let tls = trusting_ca(&server, "localhost");
    client(&server, Tls::Required(tls))
        .build()
        .send(&message("a@example.com", "over starttls"))
        .unwrap();
    // The flag reports what happened: a client that skips STARTTLS is recorded as plain.
    client(&server, Tls::None)
        .build()
        .send(&message("b@example.com", "plain"))
        .unwrap();

    let got = server.messages();
    assert_eq!(got.len(), 2);
    assert!(got[0].tls);
    assert!(!got[1].tls);
    assert!(server.commands().contains(&"STARTTLS".to_owned()));
}

#[test]
fn smtp_implicit_tls_with_the_test_ca() {
    let server = Server::start(Options {
        security: Security::Tls,
        ..Options::default()
    });
    // The certificate also names 127.0.0.1.
    let tls = trusting_ca(&server, "127.0.0.1");
    client(&server, Tls::Wrapper(tls))
        .build()
        .send(&message("a@example.com", "over implicit tls"))
        .unwrap();

    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].tls);
    assert!(!server.commands().contains(&"STARTTLS".to_owned()));
}

#[test]
fn smtp_untrusted_certificate_fails_the_client() {
    for security in [Security::StartTls, Security::Tls] {
        let server = Server::start(Options {
            security,
            untrusted_cert: true,
            ..Options::default()
        });
        let tls = trusting_ca(&server, "localhost");
        let tls = match security {
            Security::Tls => Tls::Wrapper(tls),
            _ => Tls::Required(tls),
        };
        let err = client(&server, tls)
            .build()
            .send(&message("a@example.com", "never"))
            .unwrap_err();
        let text = format!("{err:?}");
        assert!(text.contains("UnknownIssuer"), "{security:?}: {text}");
        assert!(server.messages().is_empty());
        assert_eq!(server.connections(), 1);
    }
}

#[test]
fn smtp_auth_plain_and_login_succeed() {
    let server = Server::start(Options {
        security: Security::StartTls,
        auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Options::default()
    });
    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        let tls = trusting_ca(&server, "localhost");
        client(&server, Tls::Required(tls))
            .credentials(Credentials::new(USER.to_owned(), PASSWORD.to_owned()))
            .authentication(vec![mechanism])
            .build()
            .send(&message("a@example.com", "authenticated"))
            .unwrap();
    }

    let got = server.messages();
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|m| m.tls && m.auth_user.as_deref() == Some(USER))
    );
    let commands = server.commands();
    assert!(commands.contains(&"AUTH PLAIN".to_owned()), "{commands:?}");
    assert!(commands.contains(&"AUTH LOGIN".to_owned()), "{commands:?}");
    assert!(
        !commands
            .join("\n")
            .contains(&BASE64.encode(PASSWORD.as_bytes()))
    );
}

#[test]
fn smtp_auth_failure_is_535_and_no_auth_is_530() {
    let server = Server::start(Options {
        auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Options::default()
    });
    for mechanism in [Mechanism::Plain, Mechanism::Login] {
        let err = client(&server, Tls::None)
            .credentials(Credentials::new(USER.to_owned(), "wrong".to_owned()))
            .authentication(vec![mechanism])
            .build()
            .send(&message("a@example.com", "never"))
            .unwrap_err();
        assert_reply(&err, "535", "5.7.8");
        assert!(err.is_permanent());
    }
    let err = client(&server, Tls::None)
        .build()
        .send(&message("a@example.com", "never"))
        .unwrap_err();
    assert_reply(&err, "530", "5.7.0");
    assert!(server.messages().is_empty());
}

#[test]
fn smtp_rejected_recipient_is_550() {
    let server = Server::start(Options {
        reject_rcpt: vec!["gone@example.com".to_owned()],
        ..Options::default()
    });
    let transport = client(&server, Tls::None).build();
    let err = transport
        .send(&message("Gone <GONE@example.com>", "never"))
        .unwrap_err();
    assert_reply(&err, "550", "5.1.1");
    assert!(err.is_permanent());
    assert!(server.messages().is_empty());

    transport
        .send(&message("here@example.com", "fine"))
        .unwrap();
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn smtp_fail_after_answers_451_until_changed() {
    let server = Server::start(Options {
        fail_after: Some(2),
        ..Options::default()
    });
    let transport = client(&server, Tls::None).build();
    transport.send(&message("1@example.com", "one")).unwrap();
    transport.send(&message("2@example.com", "two")).unwrap();
    for _ in 0..2 {
        let err = transport
            .send(&message("3@example.com", "three"))
            .unwrap_err();
        assert_reply(&err, "451", "4.3.0");
        assert!(err.is_transient());
    }
    assert_eq!(server.messages().len(), 2);

    server.set_fail_after(None);
    transport.send(&message("3@example.com", "three")).unwrap();
    server.set_fail_after(Some(0));
    transport
        .send(&message("4@example.com", "four"))
        .unwrap_err();
    let got = server.messages();
    let rcpts: Vec<&str> = got.iter().map(|m| m.rcpt_to[0].as_str()).collect();
    assert_eq!(rcpts, ["1@example.com", "2@example.com", "3@example.com"]);
}

#[test]
fn smtp_several_messages_on_one_connection() {
    let server = Server::start(Options {
        security: Security::StartTls,
        auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Options::default()
    });
    let hello = ClientId::Domain("client.test".to_owned());
    let mut conn = SmtpConnection::connect(
        ("127.0.0.1", server.port),
        Some(TIMEOUT),
        &hello,
        None,
        None,
    )
    .unwrap();
    conn.starttls(&trusting_ca(&server, "localhost"), &hello)
        .unwrap();
    conn.auth(
        &[Mechanism::Plain],
        &Credentials::new(USER.to_owned(), PASSWORD.to_owned()),
    )
    .unwrap();
    for i in 0..3 {
        let m = message(&format!("user{i}@example.com"), &format!("message {i}"));
        conn.send(m.envelope(), &m.formatted()).unwrap();
    }
    conn.quit().unwrap();

    let got = server.messages();
    assert_eq!(got.len(), 3);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.rcpt_to, [format!("user{i}@example.com")]);
        assert_eq!(m.parsed().subject(), Some(format!("message {i}").as_str()));
        assert!(m.tls);
        assert_eq!(m.auth_user.as_deref(), Some(USER));
    }
    assert_eq!(server.connections(), 1);
    let mails = server
        .commands()
        .iter()
        .filter(|c| c.starts_with("MAIL FROM:"))
        .count();
    assert_eq!(mails, 3);
}

/// A client that speaks SMTP by hand, for what lettre never sends.
struct Raw {
    io: BufReader<TcpStream>,
}

impl Raw {
    #[track_caller]
    fn connect(port: u16) -> (Raw, String) {
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut raw = Raw {
            io: BufReader::new(tcp),
        };
        let greeting = raw.reply();
        (raw, greeting)
    }

    /// Reads one reply, all its lines.
    #[track_caller]
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            self.io.read_line(&mut line).unwrap();
            assert!(
                line.ends_with("\r\n"),
                "bad reply line {line:?} after {all:?}"
            );
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    #[track_caller]
    fn send(&mut self, bytes: &str) {
        self.io.get_mut().write_all(bytes.as_bytes()).unwrap();
    }

    /// Sends one command line and returns the reply.
    #[track_caller]
    fn cmd(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n"));
        self.reply()
    }
}

#[track_caller]
fn assert_code(reply: &str, code: &str) {
    assert!(reply.starts_with(code), "expected {code}, got {reply:?}");
}

#[test]
fn smtp_raw_session_unstuffs_dots_and_follows_rfc_5321() {
    let server = Server::start(Options::default());
    let (mut c, greeting) = Raw::connect(server.port);
    assert_code(&greeting, "220 localhost");
    assert_code(&c.cmd("MAIL FROM:<a@example.com>"), "503 5.5.1");
    let ehlo = c.cmd("EHLO raw.test");
    assert_code(&ehlo, "250-localhost");
    assert!(ehlo.contains("250-8BITMIME\r\n"), "{ehlo}");
    assert!(
        !ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert_code(&c.cmd("NOOP"), "250 2.0.0");
    assert_code(&c.cmd("FROB"), "500 5.5.2");
    assert_code(&c.cmd("STARTTLS"), "502 5.5.1");
    assert_code(&c.cmd("MAIL FROM:<a@example.com>"), "250 2.1.0");
    assert_code(&c.cmd("MAIL FROM:<a@example.com>"), "503 5.5.1");
    assert_code(&c.cmd("RSET"), "250 2.0.0");
    assert_code(&c.cmd("RCPT TO:<b@example.com>"), "503 5.5.1");
    assert_code(&c.cmd("mail from:<a@example.com> BODY=8BITMIME"), "250");
    assert_code(&c.cmd("DATA"), "554 5.5.1");
    assert_code(&c.cmd("RCPT TO:<b@example.com>"), "250 2.1.5");
    assert_code(&c.cmd("RCPT TO:<c@example.com>"), "250 2.1.5");
    assert_code(&c.cmd("DATA"), "354");
    c.send("Subject: dots\r\n\r\n..leading dot\r\n..\r\nlast\r\n.\r\n");
    assert_code(&c.reply(), "250 2.0.0");

    // A second message on the same connection, with the null reverse-path.
    assert_code(&c.cmd("MAIL FROM:<>"), "250");
    assert_code(&c.cmd("RCPT TO:<d@example.com>"), "250");
    assert_code(&c.cmd("DATA"), "354");
    c.send("Subject: two\r\n\r\nbody\r\n.\r\n");
    assert_code(&c.reply(), "250 2.0.0");
    assert_code(&c.cmd("QUIT"), "221 2.0.0");
    let mut rest = Vec::new();
    c.io.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    let got = server.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].mail_from, "a@example.com");
    assert_eq!(got[0].rcpt_to, ["b@example.com", "c@example.com"]);
    assert_eq!(
        got[0].data,
        b"Subject: dots\r\n\r\n.leading dot\r\n.\r\nlast\r\n"
    );
    assert_eq!(got[1].mail_from, "");
    assert_eq!(got[1].data, b"Subject: two\r\n\r\nbody\r\n");
}

#[test]
fn smtp_raw_refuses_bare_lf_and_long_lines() {
    let server = Server::start(Options::default());
    let (mut c, _) = Raw::connect(server.port);
    c.cmd("HELO raw.test");
    for body in [
        "Subject: x\r\n\r\nbare\nLF\r\n".to_owned(),
        format!("Subject: x\r\n\r\n{}\r\n", "y".repeat(999)),
    ] {
        assert_code(&c.cmd("MAIL FROM:<a@example.com>"), "250");
        assert_code(&c.cmd("RCPT TO:<b@example.com>"), "250");
        assert_code(&c.cmd("DATA"), "354");
        c.send(&format!("{body}.\r\n"));
        assert_code(&c.reply(), "554 5.6.0");
    }
    // 998 characters is the limit, and still fine.
    assert_code(&c.cmd("MAIL FROM:<a@example.com>"), "250");
    assert_code(&c.cmd("RCPT TO:<b@example.com>"), "250");
    assert_code(&c.cmd("DATA"), "354");
    c.send(&format!("Subject: x\r\n\r\n.{}\r\n.\r\n", "y".repeat(997)));
    assert_code(&c.reply(), "250");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn smtp_raw_auth_exchanges() {
    let server = Server::start(Options {
        auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Options::default()
    });
    let (mut c, _) = Raw::connect(server.port);
    let ehlo = c.cmd("EHLO raw.test");
    assert!(ehlo.contains("250 AUTH PLAIN LOGIN\r\n"), "{ehlo}");
    assert_code(&c.cmd("MAIL FROM:<a@example.com>"), "530 5.7.0");
    // PLAIN without an initial response: an empty challenge first.
    assert_code(&c.cmd("AUTH PLAIN"), "334 ");
    let wrong = BASE64.encode(format!("\0{USER}\0nope").as_bytes());
    assert_code(&c.cmd(&wrong), "535 5.7.8");
    assert_code(&c.cmd("AUTH PLAIN"), "334 ");
    assert_code(&c.cmd("*"), "501");
    // LOGIN with the username as initial response.
    let user = BASE64.encode(USER.as_bytes());
    assert_code(&c.cmd(&format!("AUTH LOGIN {user}")), "334 UGFzc3dvcmQ6");
    assert_code(&c.cmd(&BASE64.encode(PASSWORD.as_bytes())), "235 2.7.0");
    assert_code(&c.cmd("AUTH LOGIN"), "503 5.5.1");
    // RSET and EHLO keep the authentication.
    assert_code(&c.cmd("RSET"), "250");
    c.cmd("EHLO raw.test");
    assert_code(&c.cmd("MAIL FROM:<a@example.com>"), "250");
    c.cmd("QUIT");

    // With STARTTLS offered, AUTH waits for TLS.
    let server = Server::start(Options {
        security: Security::StartTls,
        auth: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..Options::default()
    });
    let (mut c, _) = Raw::connect(server.port);
    let ehlo = c.cmd("EHLO raw.test");
    assert!(ehlo.contains("250 STARTTLS\r\n"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    let plain = BASE64.encode(format!("\0{USER}\0{PASSWORD}").as_bytes());
    assert_code(&c.cmd(&format!("AUTH PLAIN {plain}")), "538 5.7.11");
}

#[test]
fn smtp_silent_server_makes_the_client_time_out() {
    let (port, silent) = silent_server();
    let started = Instant::now();
    let err = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(Tls::None)
        .timeout(Some(Duration::from_millis(300)))
        .build()
        .send(&message("a@example.com", "never"))
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}: {err}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}: {err}");
    assert_eq!(silent.connections(), 1);
}

#[test]
fn smtp_closed_port_refuses_at_once() {
    let port = closed_port();
    let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let started = Instant::now();
    SmtpTransport::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(Tls::None)
        .timeout(Some(TIMEOUT))
        .build()
        .send(&message("a@example.com", "never"))
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn smtp_dropping_a_server_closes_its_connections_and_port() {
    let server = Server::start(Options::default());
    let port = server.port;
    let (mut c, _) = Raw::connect(port);
    c.cmd("EHLO raw.test");
    drop(server);
    let mut rest = Vec::new();
    c.io.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);

    let (port, silent) = silent_server();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    tcp.write_all(b"EHLO anyone\r\n").unwrap();
    drop(silent);
    // Closed either way: a reset if the server had not yet read what was sent.
    let mut rest = Vec::new();
    match tcp.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty()),
        Err(err) => assert_eq!(err.kind(), ErrorKind::ConnectionReset),
    }
}
