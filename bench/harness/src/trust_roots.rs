//! What trusting the system's root certificates costs a cold start, against the AWS roots the
//! functions compile in (`stockroom_store::aws::AWS_ROOTS`).
//!
//! The SDK's HTTPS client builds its root store as it is built, in every cold start's init:
//! from the system (rustls-native-certs: `SSL_CERT_FILE`, else the OpenSSL locations, a
//! directory scan included) or from the PEM it is given. The functions use the compiled-in
//! roots, so the run's init figures show only the second; this times both loads here, in this
//! process (the files in the page cache, as on any but the very first cold start of a machine).

use std::time::{Duration, Instant};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

/// The bundle provided.al2023 ships, else this machine's (Debian's).
const BUNDLES: &[&str] = &[
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// Loads per source; the median is printed.
const ROUNDS: usize = 25;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn time(load: impl Fn() -> anyhow::Result<RootCertStore>) -> anyhow::Result<(Duration, usize)> {
    let mut times = Vec::with_capacity(ROUNDS);
    let mut roots = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let store = load()?;
        times.push(start.elapsed());
        roots = store.len();
    }
    Ok((median(times), roots))
}

/// Prints the table: the system's bundle (the first of [`BUNDLES`] here), read and parsed as
/// rustls-native-certs reads a bundle `SSL_CERT_FILE` names, and the AWS roots the functions
/// compile in. (With no variable rustls-native-certs also scans the certificate directory; see
/// the `SSL_CERT_FILE` lever in docs/performance.md.)
pub fn trust_roots() -> anyhow::Result<()> {
    let load = |pem: &[u8]| -> anyhow::Result<RootCertStore> {
        let mut store = RootCertStore::empty();
        let (_, rejected) = store.add_parsable_certificates(
            CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>()?,
        );
        anyhow::ensure!(rejected == 0, "{rejected} certificates rejected");
        Ok(store)
    };
    println!("\nTrust roots: building the HTTPS client's root store, median of {ROUNDS} loads");
    println!("| roots | certificates | ms |");
    println!("|---|---|---|");
    let bundle = BUNDLES.iter().find(|p| std::path::Path::new(p).exists());
    if let Some(file) = bundle {
        let (median, count) = time(|| load(&std::fs::read(file)?))?;
        println!("| system bundle, {file} | {count} | {:.2} |", ms(median));
    }
    let (median, count) = time(|| load(stockroom_store::aws::AWS_ROOTS.as_bytes()))?;
    println!(
        "| compiled-in AWS roots (the functions' default) | {count} | {:.2} |",
        ms(median)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
