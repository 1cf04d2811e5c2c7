#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_e`, v3).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // A read allocates and frees its records by the hundred thousand: memory
    // freed goes back to the OS after 10 ms, not mimalloc's 1 s, which held
    // a third of the peak of a large run (see BENCHMARKS.md). An operator's
    // `MIMALLOC_PURGE_DELAY` still decides.
    // SAFETY: sets one of mimalloc's options before any other thread runs;
    // the option is a delay it reads whenever it purges.
    unsafe { libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 10) };
    ctest::cli::main()
}
