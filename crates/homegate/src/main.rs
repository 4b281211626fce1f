//! The `homegate` binary; all of it lives in the `cli` library.

// mimalloc rather than glibc's allocator: the control plane and the proxy
// allocate per request from many threads (BENCHMARKS.md, access proxy).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
