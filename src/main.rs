//! `ava`: see `ava --help`. Every role lives in the library.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match ava::cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ava: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
