fn main() -> std::process::ExitCode {
    ctest::cli::main()
}
