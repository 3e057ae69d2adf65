//! Helper for `bench/argon2.sh`: time `twofactl::secret::check_password` in-process, without
//! process start-up, configuration or SQLite.
//!
//! ```text
//! bench_argon2 PHC [K]    read one password line from stdin, verify it against PHC K times
//!                         (default 2) and print each call's wall time in milliseconds,
//!                         one per line: the first call is cold (it also starts the thread
//!                         pool that runs the lanes in parallel), later ones are warm
//! ```
//!
//! Exit status: 0 when every call said Match, 3 when Mismatch, 2 for an unreadable hash.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Instant;

use twofactl::secret::{PasswordCheck, PasswordFormat, StoredPassword, check_password};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (phc, k) = match args.as_slice() {
        [phc] => (phc.as_str(), 2),
        [phc, k] => match k.parse::<usize>() {
            Ok(k) if k > 0 => (phc.as_str(), k),
            _ => return usage(),
        },
        _ => return usage(),
    };
    let mut password = String::new();
    if std::io::stdin().lock().read_line(&mut password).is_err() {
        return usage();
    }
    let password = password.trim_end_matches(['\r', '\n']);
    let mut last = PasswordCheck::Match;
    for _ in 0..k {
        let t = Instant::now();
        last = check_password(
            password.as_bytes(),
            &StoredPassword::Encoded(phc),
            PasswordFormat::Auto,
        );
        println!("{:.3}", t.elapsed().as_secs_f64() * 1e3);
    }
    match last {
        PasswordCheck::Match => ExitCode::SUCCESS,
        PasswordCheck::Mismatch => ExitCode::from(3),
        PasswordCheck::Unreadable(why) => {
            eprintln!("bench_argon2: {why}");
            ExitCode::from(2)
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: echo PASSWORD | bench_argon2 PHC [K]");
    ExitCode::from(2)
}
