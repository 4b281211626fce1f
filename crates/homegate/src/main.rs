//! The `homegate` binary; all of it lives in the `cli` library.

fn main() -> std::process::ExitCode {
    cli::main()
}
