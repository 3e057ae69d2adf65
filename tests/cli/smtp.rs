//! A real SMTP server for the e-mail tests, run in-process on 127.0.0.1: the binary talks SMTP
//! over TCP to it and the test reads back what it received. It speaks RFC 5321 with EHLO/HELO,
//! STARTTLS (RFC 3207) or implicit TLS, AUTH PLAIN and LOGIN (RFC 4954), several messages per
//! connection, and enhanced status codes; it can require AUTH, reject recipients with 550 and
//! answer 451 to the end of DATA once N messages are in. Certificates come from a test CA made
//! with rcgen for each server. Also here: a server that accepts TCP and never answers, and a
//! port with nothing listening.
//!
//! Hand-written rather than `mailin-embedded`: that crate's `serve()` never returns, it has no
//! implicit TLS, hides whether a message came over TLS, and pulls rustls' aws-lc backend into
//! the build. Its protocol core `mailin` stays in DATA after a handler's 451, forgets AUTH on
//! RSET, and answers 503 instead of 530 to MAIL before AUTH.
//!
//! Every server stops when dropped: its listener, its connection threads and their sockets.
//! A connection idle for [`IDLE_TIMEOUT`] is closed.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use data_encoding::BASE64;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use tempfile::TempDir;

/// A connection that sends nothing for this long is closed, so no test can leave a thread
/// blocked for good.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The name the server greets with and its certificate is for (with 127.0.0.1).
pub const HOSTNAME: &str = "localhost";
/// Largest message accepted (advertised as SIZE); larger ones get 552.
pub const MAX_MESSAGE: usize = 10 << 20;
/// A text line is at most 1000 octets with its CRLF (RFC 5321 §4.5.3.1.6), plus one for a
/// transparency dot; a longer line in DATA gets the message refused with 554.
const MAX_TEXT_LINE: usize = 1001;
/// RFC 5321 allows 512 for a command line, but an AUTH line may be longer (RFC 4954 §4).
const MAX_COMMAND_LINE: usize = 4096;
const MAX_RECIPIENTS: usize = 100;

/// How the server protects the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain text only; STARTTLS is not offered.
    None,
    /// Plain text first; STARTTLS offered (and needed before AUTH).
    StartTls,
    /// TLS from the first byte (implicit TLS, "SMTPS").
    Tls,
}

/// What a [`Server`] does; `Options::default()` is plain text, no AUTH, every recipient accepted.
#[derive(Debug, Clone)]
pub struct Options {
    pub security: Security,
    /// Require AUTH (PLAIN or LOGIN, both advertised) with this username and password.
    pub auth: Option<(String, String)>,
    /// Recipients refused at RCPT with `550 5.1.1` (compared case-insensitively).
    pub reject_rcpt: Vec<String>,
    /// Once this many messages are accepted (whole server), answer `451 4.3.0` to the end of
    /// DATA of every later message. Change it while running with [`Server::set_fail_after`].
    pub fail_after: Option<usize>,
    /// Serve a self-signed certificate that the test CA did not sign, so TLS must fail.
    pub untrusted_cert: bool,
    /// Wait this long before answering the end of each message's DATA (the message is
    /// already recorded, so a test can act while the client waits).
    pub data_reply_delay: Duration,
    /// Take each message's data but never answer its end (the client must time out);
    /// counted by [`Server::unanswered`], not kept as accepted.
    pub no_final_reply: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            security: Security::None,
            auth: None,
            reject_rcpt: Vec::new(),
            fail_after: None,
            untrusted_cert: false,
            data_reply_delay: Duration::ZERO,
            no_final_reply: false,
        }
    }
}

/// A message the server accepted (answered 250 to the end of its DATA).
#[derive(Debug, Clone)]
pub struct Received {
    /// The MAIL FROM address, without angle brackets (empty for `<>`).
    pub mail_from: String,
    /// The accepted RCPT TO addresses, in order.
    pub rcpt_to: Vec<String>,
    /// The message as received after dot-unstuffing, CRLF line ends, without the final `.`.
    pub data: Vec<u8>,
    /// Whether it came over TLS (implicit or after STARTTLS).
    pub tls: bool,
    /// The user the session authenticated as, if it did.
    pub auth_user: Option<String>,
}

impl Received {
    /// The message parsed: `.subject()`, `.from()`, `.to()`, `.date()`, `.message_id()`,
    /// `.header_raw(name)`, `.parts`, ...
    #[track_caller]
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("the received message does not parse as a MIME message")
    }

    /// The decoded content of the first `text/plain` part.
    pub fn text(&self) -> Option<String> {
        self.part("plain")
    }

    /// The decoded content of the first `text/html` part.
    pub fn html(&self) -> Option<String> {
        self.part("html")
    }

    fn part(&self, subtype: &str) -> Option<String> {
        use mail_parser::MimeHeaders;
        let message = self.parsed();
        message.parts.iter().find_map(|part| {
            let is_wanted = match part.content_type() {
                Some(ct) => {
                    ct.ctype().eq_ignore_ascii_case("text")
                        && ct
                            .subtype()
                            .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
                }
                // RFC 2045 §5.2: no Content-Type means text/plain.
                None => subtype == "plain",
            };
            if is_wanted && !part.is_multipart() {
                part.text_contents().map(str::to_owned)
            } else {
                None
            }
        })
    }
}

/// A running SMTP server on 127.0.0.1; dropping it stops it.
pub struct Server {
    pub port: u16,
    /// PEM file of the test CA that signed the server's certificate (unless `untrusted_cert`):
    /// what the binary gets as `[smtp] ca_file`.
    pub ca_pem: PathBuf,
    state: Arc<State>,
    acceptor: Acceptor,
    _dir: TempDir,
}

impl Server {
    /// Binds 127.0.0.1 on a free port and serves on background threads.
    #[track_caller]
    pub fn start(opts: Options) -> Server {
        let dir = tempfile::tempdir().expect("cannot make a temp dir for the test CA");
        let pki = Pki::generate(opts.untrusted_cert);
        let ca_pem = dir.path().join("ca.pem");
        fs::write(&ca_pem, &pki.ca_pem).expect("cannot write the test CA");
        let tls = Arc::new(pki.server_config());
        let state = Arc::new(State {
            log: Mutex::new(Log {
                fail_after: opts.fail_after,
                messages: Vec::new(),
                commands: Vec::new(),
                unanswered: 0,
            }),
            opts,
            tls,
        });
        let serving = Arc::clone(&state);
        let acceptor = Acceptor::start("smtp", move |tcp| {
            // A failed or dropped connection is the client's business; tests look at what
            // was received.
            let _ = serve_connection(&serving, tcp);
        });
        Server {
            port: acceptor.addr.port(),
            ca_pem,
            state,
            acceptor,
            _dir: dir,
        }
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.state.log).messages.clone()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.acceptor.shared.connections.load(Ordering::SeqCst)
    }

    /// Every command line received so far, over all connections in order, without message
    /// content and with AUTH credentials left out (`"EHLO host"`, `"AUTH PLAIN"`, `"QUIT"`).
    pub fn commands(&self) -> Vec<String> {
        lock(&self.state.log).commands.clone()
    }

    /// Messages whose data arrived but whose end was never answered (`no_final_reply`).
    pub fn unanswered(&self) -> usize {
        lock(&self.state.log).unanswered
    }

    /// Changes the 451 failure injection: `Some(n)` fails every message once `n` are accepted.
    pub fn set_fail_after(&self, n: Option<usize>) {
        lock(&self.state.log).fail_after = n;
    }
}

/// A server that accepts TCP connections and never says a word (for timeout tests).
pub struct SilentServer {
    acceptor: Acceptor,
}

impl SilentServer {
    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.acceptor.shared.connections.load(Ordering::SeqCst)
    }
}

/// Starts a [`SilentServer`]; returns its port and the server, which stops when dropped.
#[track_caller]
pub fn silent_server() -> (u16, SilentServer) {
    let acceptor = Acceptor::start("silent", |mut tcp| {
        // Swallow whatever the client sends until it or the guard closes the connection.
        let _ = io::copy(&mut tcp, &mut io::sink());
    });
    (acceptor.addr.port(), SilentServer { acceptor })
}

/// A port on 127.0.0.1 with nothing listening: connecting is refused.
#[track_caller]
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1");
    listener.local_addr().expect("no local address").port()
}

// ---- What the server remembers ---------------------------------------------------------------

struct State {
    opts: Options,
    tls: Arc<ServerConfig>,
    log: Mutex<Log>,
}

struct Log {
    fail_after: Option<usize>,
    messages: Vec<Received>,
    commands: Vec<String>,
    unanswered: usize,
}

/// A test that panicked while holding a lock must not turn every later call into a panic too.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---- Accepting connections -------------------------------------------------------------------

struct AcceptorShared {
    stopping: AtomicBool,
    connections: AtomicUsize,
    /// A clone of each open connection, so that stopping can shut it down.
    open: Mutex<HashMap<usize, TcpStream>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

/// A listener on 127.0.0.1 with a thread per connection; dropping it closes the listener and
/// every connection and joins every thread.
struct Acceptor {
    addr: SocketAddr,
    shared: Arc<AcceptorShared>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    #[track_caller]
    fn start(name: &str, serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Acceptor {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1");
        let addr = listener.local_addr().expect("no local address");
        let shared = Arc::new(AcceptorShared {
            stopping: AtomicBool::new(false),
            connections: AtomicUsize::new(0),
            open: Mutex::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
        });
        let serve = Arc::new(serve);
        let accepting = Arc::clone(&shared);
        let worker_name = format!("{name}-conn");
        let thread = thread::Builder::new()
            .name(format!("{name}-accept"))
            .spawn(move || accept_loop(&listener, &accepting, &serve, &worker_name))
            .expect("cannot spawn the accept thread");
        Acceptor {
            addr,
            shared,
            thread: Some(thread),
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    shared: &Arc<AcceptorShared>,
    serve: &Arc<impl Fn(TcpStream) + Send + Sync + 'static>,
    worker_name: &str,
) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // e.g. out of file descriptors: back off rather than spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let id = shared.connections.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.open).insert(id, clone);
        }
        let serve = Arc::clone(serve);
        let worker_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(worker_name.to_owned())
            .spawn(move || {
                serve(stream);
                lock(&worker_shared.open).remove(&id);
            });
        match spawned {
            Ok(handle) => {
                let mut workers = lock(&shared.workers);
                workers.retain(|h| !h.is_finished());
                workers.push(handle);
            }
            Err(_) => {
                if let Some(stream) = lock(&shared.open).remove(&id) {
                    let _ = stream.shutdown(Shutdown::Both);
                }
            }
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // accept() has no timeout: wake it with a connection of our own. If even that fails,
        // leave the thread to die with the process rather than hang the test.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok();
        if let Some(thread) = self.thread.take()
            && woke
        {
            let _ = thread.join();
        }
        let open: Vec<TcpStream> = lock(&self.shared.open).drain().map(|(_, s)| s).collect();
        for stream in open {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let workers: Vec<JoinHandle<()>> = lock(&self.shared.workers).drain(..).collect();
        for worker in workers {
            let _ = worker.join();
        }
    }
}

// ---- Certificates ----------------------------------------------------------------------------

pub struct Pki {
    pub ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The server's certificate chain and key, as PEM (for servers configured by file).
    pub chain_pem: String,
    pub key_pem: String,
}

impl Pki {
    /// A fresh test CA, and a server certificate for `localhost` and 127.0.0.1 signed by it
    /// (or, when `untrusted`, signed by nobody but itself).
    pub fn generate(untrusted: bool) -> Pki {
        let ca_key = KeyPair::generate().expect("cannot make the CA key");
        let mut ca_params =
            CertificateParams::new(Vec::<String>::new()).expect("CA parameters are valid");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "twofactl test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .expect("cannot sign the CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate().expect("cannot make the server key");
        let mut params = CertificateParams::new(vec![HOSTNAME.to_owned(), "127.0.0.1".to_owned()])
            .expect("server certificate parameters are valid");
        // A name of its own: a self-signed certificate whose issuer matches a root in the
        // machine's store by name would fail with a confusing signature error, not UnknownIssuer.
        params
            .distinguished_name
            .push(DnType::CommonName, "twofactl test SMTP server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let (chain, chain_pem) = if untrusted {
            let cert = params
                .self_signed(&key)
                .expect("cannot sign the server certificate");
            (vec![cert.der().clone()], cert.pem())
        } else {
            params.use_authority_key_identifier_extension = true;
            let cert = params
                .signed_by(&key, &issuer)
                .expect("cannot sign the server certificate");
            (
                vec![cert.der().clone(), ca_cert.der().clone()],
                format!("{}{}", cert.pem(), ca_cert.pem()),
            )
        };
        Pki {
            ca_pem: ca_cert.pem(),
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            chain_pem,
            key_pem: key.serialize_pem(),
        }
    }

    fn server_config(self) -> ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_single_cert(self.chain, self.key)
            .expect("the server certificate and key match")
    }
}

// ---- One SMTP connection ---------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum End {
    Closed,
    StartTls,
}

fn serve_connection(state: &State, tcp: TcpStream) -> io::Result<()> {
    tcp.set_read_timeout(Some(IDLE_TIMEOUT))?;
    tcp.set_write_timeout(Some(IDLE_TIMEOUT))?;
    tcp.set_nodelay(true)?;
    let mut session = Session::new(state);
    if state.opts.security == Security::Tls {
        session.tls = true;
        let mut io = BufReader::new(tls_stream(state, tcp)?);
        session.run(&mut io, true)?;
        close_tls(io.into_inner());
        return Ok(());
    }
    let mut io = BufReader::new(tcp);
    if session.run(&mut io, true)? == End::StartTls {
        // into_inner drops whatever the client pipelined after STARTTLS: those bytes came in
        // plain text and must not count as commands of the TLS session (CVE-2011-0411).
        let tcp = io.into_inner();
        session.start_tls();
        let mut io = BufReader::new(tls_stream(state, tcp)?);
        session.run(&mut io, false)?;
        close_tls(io.into_inner());
    }
    Ok(())
}

fn tls_stream(
    state: &State,
    tcp: TcpStream,
) -> io::Result<StreamOwned<ServerConnection, TcpStream>> {
    let conn = ServerConnection::new(Arc::clone(&state.tls)).map_err(io::Error::other)?;
    Ok(StreamOwned::new(conn, tcp))
}

fn close_tls(mut stream: StreamOwned<ServerConnection, TcpStream>) {
    stream.conn.send_close_notify();
    let _ = stream.flush();
}

enum Line {
    Eof,
    /// A line with its line end.
    Complete(Vec<u8>),
    /// The first `max` bytes of a longer line.
    TooLong(Vec<u8>),
}

fn read_line<R: BufRead>(io: &mut R, max: usize) -> io::Result<Line> {
    let mut buf = Vec::new();
    let n = io.take(max as u64).read_until(b'\n', &mut buf)?;
    Ok(if buf.ends_with(b"\n") {
        Line::Complete(buf)
    } else if n == max {
        Line::TooLong(buf)
    } else {
        // End of stream, possibly in the middle of a line.
        Line::Eof
    })
}

fn reply<S: Write>(io: &mut BufReader<S>, lines: &[&str], code: u16) -> io::Result<()> {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("{code}{sep}{line}\r\n"));
    }
    // One write per reply: a multi-line reply in several segments would meet Nagle's delay.
    let stream = io.get_mut();
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

/// Sends a one-line reply written as `"250 2.0.0 Ok"`.
fn say<S: Write>(io: &mut BufReader<S>, text: &str) -> io::Result<()> {
    let (code, rest) = text.split_at(3);
    let code = code.parse().expect("a reply starts with its code");
    reply(io, &[rest.trim_start()], code)
}

struct Session<'a> {
    state: &'a State,
    tls: bool,
    greeted: bool,
    auth_user: Option<String>,
    mail_from: Option<String>,
    smtputf8: bool,
    rcpt_to: Vec<String>,
}

impl<'a> Session<'a> {
    fn new(state: &'a State) -> Self {
        Session {
            state,
            tls: false,
            greeted: false,
            auth_user: None,
            mail_from: None,
            smtputf8: false,
            rcpt_to: Vec::new(),
        }
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.smtputf8 = false;
        self.rcpt_to.clear();
    }

    /// After the TLS handshake the client starts over (RFC 3207 §4.2).
    fn start_tls(&mut self) {
        self.tls = true;
        self.greeted = false;
        self.auth_user = None;
        self.reset_transaction();
    }

    fn auth_offered(&self) -> bool {
        self.state.opts.auth.is_some() && (self.tls || self.state.opts.security == Security::None)
    }

    fn run<S: Read + Write>(&mut self, io: &mut BufReader<S>, greet: bool) -> io::Result<End> {
        if greet {
            say(io, &format!("220 {HOSTNAME} ESMTP twofactl test server"))?;
        }
        loop {
            let line = match read_line(io, MAX_COMMAND_LINE)? {
                Line::Eof => return Ok(End::Closed),
                Line::TooLong(_) => {
                    say(io, "500 5.5.2 Line too long")?;
                    return Ok(End::Closed);
                }
                Line::Complete(line) => line,
            };
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            let (verb, arg) = match line.split_once(' ') {
                Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim()),
                None => (line.to_ascii_uppercase(), ""),
            };
            let logged = match verb.as_str() {
                "AUTH" => format!("AUTH {}", arg.split(' ').next().unwrap_or_default()),
                _ => line.to_owned(),
            };
            lock(&self.state.log).commands.push(logged);
            match verb.as_str() {
                "EHLO" | "HELO" => self.hello(io, &verb, arg)?,
                "STARTTLS" => {
                    if self.state.opts.security != Security::StartTls || self.tls {
                        say(io, "502 5.5.1 STARTTLS not available")?;
                    } else if !arg.is_empty() {
                        say(io, "501 5.5.4 Syntax: STARTTLS")?;
                    } else {
                        say(io, "220 2.0.0 Ready to start TLS")?;
                        return Ok(End::StartTls);
                    }
                }
                "AUTH" => self.auth(io, arg)?,
                "MAIL" => self.mail(io, arg)?,
                "RCPT" => self.rcpt(io, arg)?,
                "DATA" => self.data(io, arg)?,
                "RSET" => {
                    self.reset_transaction();
                    say(io, "250 2.0.0 Ok")?;
                }
                "NOOP" => say(io, "250 2.0.0 Ok")?,
                "VRFY" => say(io, "252 2.1.5 Cannot VRFY user, but will accept message")?,
                "QUIT" => {
                    say(io, "221 2.0.0 Bye")?;
                    return Ok(End::Closed);
                }
                _ => say(io, "500 5.5.2 Command not recognized")?,
            }
        }
    }

    fn hello<S: Write>(&mut self, io: &mut BufReader<S>, verb: &str, arg: &str) -> io::Result<()> {
        if arg.is_empty() || arg.contains(' ') {
            return say(io, &format!("501 5.5.4 Syntax: {verb} hostname"));
        }
        self.greeted = true;
        self.reset_transaction();
        if verb == "HELO" {
            return say(io, &format!("250 {HOSTNAME}"));
        }
        let mut lines = vec![
            format!("{HOSTNAME} greets {arg}"),
            format!("SIZE {MAX_MESSAGE}"),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.state.opts.security == Security::StartTls && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".to_owned());
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        reply(io, &lines, 250)
    }

    fn auth<S: Read + Write>(&mut self, io: &mut BufReader<S>, arg: &str) -> io::Result<()> {
        let Some((user, password)) = self.state.opts.auth.clone() else {
            return say(io, "502 5.5.1 AUTH not available");
        };
        if !self.greeted {
            return say(io, "503 5.5.1 Send EHLO first");
        }
        if self.auth_user.is_some() {
            return say(io, "503 5.5.1 Already authenticated");
        }
        if self.mail_from.is_some() {
            return say(io, "503 5.5.1 AUTH not allowed during a mail transaction");
        }
        if !self.auth_offered() {
            return say(
                io,
                "538 5.7.11 Encryption required for requested authentication mechanism",
            );
        }
        let (mechanism, initial) = match arg.split_once(' ') {
            Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim())),
            None => (arg.to_ascii_uppercase(), None),
        };
        let credentials = match mechanism.as_str() {
            "PLAIN" => {
                let Some(response) = sasl_step(io, initial, "")? else {
                    return say(io, "501 5.7.0 Authentication cancelled");
                };
                let Some(response) = decode_base64(&response) else {
                    return say(io, "501 5.5.2 Cannot decode response");
                };
                // authzid NUL authcid NUL passwd (RFC 4616 §2)
                let fields: Vec<&str> = response.split('\0').collect();
                match fields[..] {
                    [authzid, authcid, passwd] if authzid.is_empty() || authzid == authcid => {
                        (authcid.to_owned(), passwd.to_owned())
                    }
                    _ => (String::new(), String::new()),
                }
            }
            "LOGIN" => {
                // The challenges are base64 of "Username:" and "Password:".
                let Some(name) = sasl_step(io, initial, "VXNlcm5hbWU6")? else {
                    return say(io, "501 5.7.0 Authentication cancelled");
                };
                let Some(secret) = sasl_step(io, None, "UGFzc3dvcmQ6")? else {
                    return say(io, "501 5.7.0 Authentication cancelled");
                };
                match (decode_base64(&name), decode_base64(&secret)) {
                    (Some(name), Some(secret)) => (name, secret),
                    _ => return say(io, "501 5.5.2 Cannot decode response"),
                }
            }
            _ => return say(io, "504 5.5.4 Unrecognized authentication type"),
        };
        if credentials == (user.clone(), password) {
            self.auth_user = Some(user);
            say(io, "235 2.7.0 Authentication successful")
        } else {
            say(io, "535 5.7.8 Authentication credentials invalid")
        }
    }

    fn mail<S: Write>(&mut self, io: &mut BufReader<S>, arg: &str) -> io::Result<()> {
        if !self.greeted {
            return say(io, "503 5.5.1 Send EHLO first");
        }
        if self.state.opts.auth.is_some() && self.auth_user.is_none() {
            return say(io, "530 5.7.0 Authentication required");
        }
        if self.mail_from.is_some() {
            return say(io, "503 5.5.1 Nested MAIL command");
        }
        let Some((address, params)) = parse_path(arg, "FROM:") else {
            return say(io, "501 5.5.4 Syntax: MAIL FROM:<address>");
        };
        let mut smtputf8 = false;
        for param in params.split_whitespace() {
            let upper = param.to_ascii_uppercase();
            if upper == "SMTPUTF8" {
                smtputf8 = true;
            } else if let Some(size) = upper.strip_prefix("SIZE=") {
                match size.parse::<usize>() {
                    Ok(size) if size <= MAX_MESSAGE => {}
                    Ok(_) => return say(io, "552 5.3.4 Message size exceeds fixed limit"),
                    Err(_) => return say(io, "501 5.5.4 Bad SIZE parameter"),
                }
            } else if upper != "BODY=7BIT" && upper != "BODY=8BITMIME" {
                return say(io, &format!("555 5.5.4 Unsupported parameter {param}"));
            }
        }
        if !address.is_ascii() && !smtputf8 {
            return say(io, "553 5.6.7 Non-ASCII address without SMTPUTF8");
        }
        self.mail_from = Some(address.to_owned());
        self.smtputf8 = smtputf8;
        say(io, "250 2.1.0 Ok")
    }

    fn rcpt<S: Write>(&mut self, io: &mut BufReader<S>, arg: &str) -> io::Result<()> {
        if self.mail_from.is_none() {
            return say(io, "503 5.5.1 Need MAIL before RCPT");
        }
        let Some((address, params)) = parse_path(arg, "TO:") else {
            return say(io, "501 5.5.4 Syntax: RCPT TO:<address>");
        };
        if address.is_empty() {
            return say(io, "501 5.1.3 Bad recipient address syntax");
        }
        if !params.is_empty() {
            return say(io, &format!("555 5.5.4 Unsupported parameter {params}"));
        }
        if !address.is_ascii() && !self.smtputf8 {
            return say(io, "553 5.6.7 Non-ASCII address without SMTPUTF8");
        }
        if self.rcpt_to.len() >= MAX_RECIPIENTS {
            return say(io, "452 4.5.3 Too many recipients");
        }
        let rejected = &self.state.opts.reject_rcpt;
        if rejected.iter().any(|r| r.eq_ignore_ascii_case(address)) {
            return say(
                io,
                &format!("550 5.1.1 <{address}>: Recipient address rejected"),
            );
        }
        self.rcpt_to.push(address.to_owned());
        say(io, "250 2.1.5 Ok")
    }

    fn data<S: Read + Write>(&mut self, io: &mut BufReader<S>, arg: &str) -> io::Result<()> {
        if !arg.is_empty() {
            return say(io, "501 5.5.4 Syntax: DATA");
        }
        let Some(mail_from) = self.mail_from.clone() else {
            return say(io, "503 5.5.1 Need MAIL before DATA");
        };
        if self.rcpt_to.is_empty() {
            return say(io, "554 5.5.1 No valid recipients");
        }
        say(io, "354 End data with <CR><LF>.<CR><LF>")?;
        let mut data = Vec::new();
        let mut problem = None;
        // Whether this chunk continues a line longer than MAX_TEXT_LINE: no dot rules apply.
        let mut continued = false;
        loop {
            let (chunk, complete) = match read_line(io, MAX_TEXT_LINE)? {
                Line::Eof => return Err(io::ErrorKind::UnexpectedEof.into()),
                Line::Complete(chunk) => (chunk, true),
                Line::TooLong(chunk) => (chunk, false),
            };
            let mut line = &chunk[..];
            if !continued {
                if line == b".\r\n" {
                    break;
                }
                // Transparency (RFC 5321 §4.5.2): a leading dot was doubled by the client.
                if line.starts_with(b".") {
                    line = &line[1..];
                }
            }
            if !complete || line.len() > 1000 {
                problem.get_or_insert("554 5.6.0 Line longer than 998 characters");
            } else if !line.ends_with(b"\r\n") || line[..line.len() - 2].contains(&b'\r') {
                problem.get_or_insert("554 5.6.0 Bare CR or LF in message");
            }
            if data.len() + line.len() > MAX_MESSAGE {
                problem.get_or_insert("552 5.3.4 Message size exceeds fixed limit");
            } else {
                data.extend_from_slice(line);
            }
            continued = !complete;
        }
        if problem.is_none() && self.state.opts.no_final_reply {
            lock(&self.state.log).unanswered += 1;
            // Say nothing more; wait for the client to give up and close.
            let _ = io::copy(io, &mut io::sink());
            return Ok(());
        }
        let answer = match problem {
            Some(problem) => problem.to_owned(),
            None => {
                let mut log = lock(&self.state.log);
                if log.fail_after.is_some_and(|n| log.messages.len() >= n) {
                    "451 4.3.0 Temporary failure injected by the test".to_owned()
                } else {
                    log.messages.push(Received {
                        mail_from,
                        rcpt_to: self.rcpt_to.clone(),
                        data,
                        tls: self.tls,
                        auth_user: self.auth_user.clone(),
                    });
                    format!("250 2.0.0 Ok: queued as {}", log.messages.len())
                }
            }
        };
        self.reset_transaction();
        thread::sleep(self.state.opts.data_reply_delay);
        say(io, &answer)
    }
}

/// One SASL exchange: the initial response if the client gave one, else a 334 challenge and
/// the client's answer. `None` when the client cancels with `*` (RFC 4954 §4).
fn sasl_step<S: Read + Write>(
    io: &mut BufReader<S>,
    initial: Option<&str>,
    challenge: &str,
) -> io::Result<Option<String>> {
    let response = match initial {
        Some(initial) => initial.to_owned(),
        None => {
            reply(io, &[challenge], 334)?;
            match read_line(io, MAX_COMMAND_LINE)? {
                Line::Complete(line) => String::from_utf8_lossy(&line)
                    .trim_end_matches(['\r', '\n'])
                    .to_owned(),
                Line::Eof | Line::TooLong(_) => {
                    return Err(io::ErrorKind::InvalidData.into());
                }
            }
        }
    };
    Ok((response != "*").then_some(response))
}

/// Base64 to text; `=` alone is the empty response (RFC 4954 §4).
fn decode_base64(text: &str) -> Option<String> {
    if text == "=" {
        return Some(String::new());
    }
    String::from_utf8(BASE64.decode(text.as_bytes()).ok()?).ok()
}

/// Splits `FROM:<a@b> PARAMS` (`prefix` = `FROM:` or `TO:`) into the address and the rest.
fn parse_path<'a>(arg: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start().strip_prefix('<')?;
    let (address, params) = rest.split_once('>')?;
    Some((address, params.trim()))
}
