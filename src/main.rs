fn main() -> std::process::ExitCode {
    fordra::cli::main()
}
