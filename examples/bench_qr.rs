//! Helper for `bench/qr.sh`: time `twofactl::qr::png` (QR encoding, rendering and PNG
//! encoding) in-process, without process start-up, SQLite or writing the file.
//!
//! ```text
//! bench_qr URI [K] [MODULE_PX]   render URI K times (default 20) at MODULE_PX pixels per
//!                                module (default twofactl's); print each call's wall time
//!                                in milliseconds, one per line, then the PNG's size in bytes
//! ```

use std::process::ExitCode;
use std::time::Instant;

use twofactl::qr::{DEFAULT_MODULE_PX, png};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(uri) = args.first() else {
        return usage();
    };
    let k = match args.get(1).map(|s| s.parse::<usize>()) {
        None => 20,
        Some(Ok(k)) if k > 0 => k,
        Some(_) => return usage(),
    };
    let px = match args.get(2).map(|s| s.parse::<u32>()) {
        None => DEFAULT_MODULE_PX,
        Some(Ok(px)) if px > 0 => px,
        Some(_) => return usage(),
    };
    let mut size = 0;
    for _ in 0..k {
        let t = Instant::now();
        match png(uri, px) {
            Ok(bytes) => size = bytes.len(),
            Err(e) => {
                eprintln!("bench_qr: {e:#}");
                return ExitCode::FAILURE;
            }
        }
        println!("{:.3}", t.elapsed().as_secs_f64() * 1e3);
    }
    println!("bytes {size}");
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: bench_qr URI [K] [MODULE_PX]");
    ExitCode::from(2)
}
