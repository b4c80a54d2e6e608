//! `bootstrap`: the ingress as an AWS Lambda function, the executable the `provided.al2023`
//! custom runtime starts. Build with `cargo build --release --features lambda --bin bootstrap`.

// One thread: a function gets a fraction of a vCPU at small memory sizes and serves one
// invocation at a time, so a multi-threaded runtime would only cost start-up time and memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    ava::ingress::lambda::main().await
}
