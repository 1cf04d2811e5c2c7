//! Compiling a component, under bounds: a cheap pre-scan of what the binary
//! asks the compiler to do, then the compilation itself under a time limit.
//!
//! Cranelift cannot be interrupted, so the process that holds the deadline is
//! not the one that compiles: when a compiler executable is set (the `ctest`
//! binary does so for itself), a child `ctest __compile` turns the component
//! into an artifact on its stdout and is killed at the deadline. Without one
//! (the library used directly), a worker thread compiles and the caller stops
//! waiting at the deadline.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

/// What a component may ask of the compiler. The first-party plugins stay far
/// below (measured on 2026-12-01: python-numbers 13,487 functions, 6.3 MiB of
/// code, its largest function 416 KiB, at most 271 locals a function;
/// ts-numbers 12,706 functions, 8.8 MiB of code, largest function 167 KiB;
/// source-faker 354 functions, 179 KiB); a binary past these is refused
/// before any compilation, with the number that broke the bound.
#[derive(Debug, Clone, Copy)]
pub struct CompileBounds {
    pub functions: u64,
    pub code_bytes: u64,
    pub function_bytes: u64,
    pub locals_per_function: u64,
}

pub const BOUNDS: CompileBounds = CompileBounds {
    functions: 200_000,
    code_bytes: 128 << 20,
    function_bytes: 2 << 20,
    locals_per_function: 50_000,
};

static COMPILER: OnceLock<PathBuf> = OnceLock::new();

/// Compile in a child process of `exe` (which must handle `__compile`), so a
/// compilation past its time limit is killed rather than abandoned.
pub fn compile_in_child_processes(exe: PathBuf) {
    let _ = COMPILER.set(exe);
}

/// The pre-scan: counts functions, code bytes and locals in every core module
/// the component holds, nested ones included. A binary it cannot parse is
/// left to the compiler, which says what is wrong with it.
pub fn prescan(wasm: &[u8], bounds: &CompileBounds) -> Result<(), String> {
    let mut functions = 0u64;
    let mut code = 0u64;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let Ok(payload) = payload else {
            return Ok(());
        };
        if let wasmparser::Payload::CodeSectionEntry(body) = payload {
            functions += 1;
            let size = body.range().len() as u64;
            code += size;
            if functions > bounds.functions {
                return Err(format!("it has more than {} functions", bounds.functions));
            }
            if code > bounds.code_bytes {
                return Err(format!(
                    "it has more than {} MiB of code",
                    bounds.code_bytes >> 20
                ));
            }
            if size > bounds.function_bytes {
                return Err(format!(
                    "function {} is {size} bytes long (at most {} are compiled)",
                    functions - 1,
                    bounds.function_bytes
                ));
            }
            let mut locals = 0u64;
            let Ok(reader) = body.get_locals_reader() else {
                return Ok(());
            };
            for local in reader {
                let Ok((count, _)) = local else {
                    return Ok(());
                };
                locals += u64::from(count);
                if locals > bounds.locals_per_function {
                    return Err(format!(
                        "function {} declares more than {} locals",
                        functions - 1,
                        bounds.locals_per_function
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The serialized, compiled form of `wasm` for `engine`, made within `timeout`.
/// `functions`: the compile cache's directory and key file, whose function
/// cache ([`super::cache::FunctionCache`]) a compiler process uses.
pub fn compile(
    engine: &Engine,
    wasm: &[u8],
    timeout: Duration,
    functions: Option<(&std::path::Path, &std::path::Path)>,
) -> wasmtime::Result<Vec<u8>> {
    prescan(wasm, &BOUNDS).map_err(|why| wasmtime::Error::new(Refused(why)))?;
    match COMPILER.get() {
        Some(exe) => compile_in_child(exe, wasm, timeout, functions),
        None => compile_on_thread(engine, wasm, timeout),
    }
}

/// Why ctest would not (or did not finish) compiling a component.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

fn too_slow(timeout: Duration) -> wasmtime::Error {
    wasmtime::Error::new(Refused(format!(
        "compiling it took longer than the limit of {:.0} s, so it was stopped",
        timeout.as_secs_f64()
    )))
}

fn compile_on_thread(engine: &Engine, wasm: &[u8], timeout: Duration) -> wasmtime::Result<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (engine, wasm) = (engine.clone(), wasm.to_vec());
    std::thread::Builder::new()
        .name("ctest-compile".into())
        .spawn(move || {
            let _ = tx.send(Component::new(&engine, &wasm).and_then(|c| c.serialize()));
        })?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(too_slow(timeout)),
    }
}

fn compile_in_child(
    exe: &PathBuf,
    wasm: &[u8],
    timeout: Duration,
    functions: Option<(&std::path::Path, &std::path::Path)>,
) -> wasmtime::Result<Vec<u8>> {
    let started = Instant::now();
    let mut command = Command::new(exe);
    command.arg("__compile");
    // Paths only: the child reads the key from its file, checked as the
    // parent checked it (a key never travels on a command line).
    if let Some((dir, key_file)) = functions {
        command
            .arg("--function-cache")
            .arg(dir)
            .arg("--key-file")
            .arg(key_file);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .spawn()
        .map_err(|e| wasmtime::format_err!("cannot start the compiler process: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let bound = super::cache::size_bound(wasm.len() as u64);
    std::thread::scope(|scope| {
        // Each side says its length first, so the other reads it into a
        // buffer of that size (tens of MiB, never grown and copied).
        scope.spawn(move || {
            let _ = stdin
                .write_all(&(wasm.len() as u64).to_le_bytes())
                .and_then(|_| stdin.write_all(wasm));
        });
        let reader = scope.spawn(move || {
            let artifact = read_framed(&mut stdout, bound);
            // Whatever else comes (nothing, from a child that keeps to the
            // frame) is drained, so the child never blocks on a full pipe.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            artifact
        });
        let errors = scope.spawn(move || {
            let mut out = Vec::new();
            let _ = (&mut stderr).take(64 << 10).read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        });
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() >= timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(too_slow(timeout));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let artifact = reader.join().ok().and_then(Result::ok);
        let message = errors.join().unwrap_or_default();
        let message = message.trim();
        if !status.success() {
            return Err(wasmtime::format_err!("{message}"));
        }
        artifact.ok_or_else(|| {
            let why = if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            };
            wasmtime::format_err!("the compiler process ended without a whole artifact{why}")
        })
    })
}

/// Reads a length (8 bytes, little-endian), then that many bytes, at most
/// `bound` of them, into a buffer of that length.
fn read_framed(reader: &mut impl Read, bound: u64) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 8];
    reader.read_exact(&mut len)?;
    let len = u64::from_le_bytes(len);
    if len > bound {
        return Err(std::io::Error::other(format!(
            "{len} bytes announced, more than {bound}"
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    reader.take(len).read_to_end(&mut bytes)?;
    if bytes.len() as u64 != len {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(bytes)
}

/// The largest component the child reads (the pre-scan's bounds keep real
/// ones far below).
const CHILD_INPUT_MAX: u64 = 1 << 30;

/// The child's side: the component on stdin, the artifact on stdout (each
/// after its length), an error on stderr with exit code 1.
pub fn child_main(engine: &Engine) -> std::process::ExitCode {
    let result = read_framed(&mut std::io::stdin().lock(), CHILD_INPUT_MAX)
        .map_err(wasmtime::Error::from)
        .and_then(|wasm| Component::new(engine, &wasm))
        .and_then(|c| c.serialize());
    match result {
        Ok(artifact) => {
            let mut out = std::io::stdout().lock();
            let written = out
                .write_all(&(artifact.len() as u64).to_le_bytes())
                .and_then(|_| out.write_all(&artifact))
                .and_then(|_| out.flush());
            if written.is_err() {
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame is read whole into a buffer of its length; one announcing
    /// more than the bound, or ending early, is an error (nothing allocated
    /// for the announced length).
    #[test]
    fn frames_are_read_whole_and_bounded() {
        let frame = |len: u64, body: &[u8]| {
            let mut bytes = len.to_le_bytes().to_vec();
            bytes.extend_from_slice(body);
            bytes
        };
        let read = |bytes: Vec<u8>, bound| read_framed(&mut bytes.as_slice(), bound);
        let ok = read(frame(5, b"hello and more"), 10).unwrap();
        assert_eq!((ok.as_slice(), ok.capacity()), (&b"hello"[..], 5));
        assert!(read(frame(u64::MAX, b""), 10).is_err());
        assert!(read(frame(11, &[0; 11]), 10).is_err());
        assert!(read(frame(5, b"hell"), 10).is_err());
        assert!(read(vec![1, 2, 3], 10).is_err());
    }

    #[test]
    fn prescan_names_the_bound_broken() {
        // One module whose function declares 60,000 locals.
        let mut body = vec![0x01]; // one local entry
        body.extend_from_slice(&[0xe0, 0xd4, 0x03]); // 60,000 (LEB128)
        body.push(0x7f); // i32
        body.push(0x0b); // end
        let mut code = vec![0x01, body.len() as u8];
        code.extend_from_slice(&body);
        let mut module = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        module.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        module.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]);
        module.push(0x0a);
        module.push(code.len() as u8);
        module.extend_from_slice(&code);
        let err = prescan(&module, &BOUNDS).unwrap_err();
        assert!(err.contains("more than 50000 locals"), "{err}");
        let small = CompileBounds {
            functions: 0,
            ..BOUNDS
        };
        assert!(
            prescan(&module, &small)
                .unwrap_err()
                .contains("more than 0 functions")
        );
        let short = CompileBounds {
            function_bytes: 2,
            ..BOUNDS
        };
        assert!(prescan(&module, &short).unwrap_err().contains("bytes long"));
    }
}
