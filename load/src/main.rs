//! `cargo load`: see the library's documentation (`load/src/lib.rs`) and the README.

use std::process::ExitCode;

use stockroom_load::args;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match args::parse() {
        Ok(args) => args,
        Err(err) => {
            eprintln!("{err:#}");
            return ExitCode::from(2);
        }
    };
    let verdict = Box::pin(stockroom_load::run(&args)).await;
    match verdict {
        Ok(audit) => {
            println!("{audit}");
            if audit.clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("the load run could not be made: {err:#}");
            ExitCode::from(2)
        }
    }
}
