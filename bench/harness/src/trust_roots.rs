//! What trusting the system's root certificates costs a cold start, against the AWS roots the
//! functions compile in (`shared/store/src/aws-roots.pem`, `stockroom_store::aws`).
//!
//! The SDK's HTTPS client builds its root store on the first connection of a process: from the
//! system (rustls-native-certs: `SSL_CERT_FILE`, else the OpenSSL locations, a directory scan
//! included) or from the PEM it is given. The bench's functions talk to moto over plain HTTP,
//! so their first call never pays it; this times the same two loads here, in this process (the
//! files in the page cache, as on any but the very first cold start of a machine).

use std::time::{Duration, Instant};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use stockroom_store::testing::workspace;

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

/// Prints the table: the system's bundle (the one `env`'s `SSL_CERT_FILE` names, else the
/// first of [`BUNDLES`] here), read and parsed as rustls-native-certs reads it, and the compiled-in AWS
/// roots. (Without the variable rustls-native-certs also scans the certificate directory; see
/// the `SSL_CERT_FILE` lever in docs/performance.md.)
pub fn trust_roots(env: &[(String, String)]) -> anyhow::Result<()> {
    let compiled_in = std::fs::read(workspace().join("shared/store/src/aws-roots.pem"))?;
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
    let bundle = env
        .iter()
        .find(|(k, _)| k == "SSL_CERT_FILE")
        .map(|(_, v)| v.as_str())
        .or_else(|| {
            BUNDLES
                .iter()
                .copied()
                .find(|p| std::path::Path::new(p).exists())
        });
    if let Some(file) = bundle {
        let (median, count) = time(|| load(&std::fs::read(file)?))?;
        println!("| system bundle, {file} | {count} | {:.2} |", ms(median));
    }
    let (median, count) = time(|| load(&compiled_in))?;
    println!(
        "| compiled-in AWS roots (the functions' default) | {count} | {:.2} |",
        ms(median)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
