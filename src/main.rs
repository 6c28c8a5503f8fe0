//! The `cascade` command line. Uses only the library's public API.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
