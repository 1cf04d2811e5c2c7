//! Tries everything a sandboxed plugin must not be able to do, in `check`: read
//! files, list directories, see environment variables or arguments, read stdin,
//! open a TCP connection to a loopback port, bind a UDP socket, look up a name.
//! `check` succeeds only when every attempt was denied, and otherwise fails with
//! the list of what got through. Under ctest's default sandbox it passes.
//!
//! ctest: tested-in host/tests/integration/sandbox.rs
//! ctest: tested-in host/tests/integration/test_config.rs
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};

use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct Probe;
impl Defect for Probe {
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let mut escaped = Vec::new();
        if let Ok(text) = std::fs::read_to_string("/etc/passwd") {
            escaped.push(format!("read /etc/passwd ({} bytes)", text.len()));
        }
        for dir in ["/", ".", "/tmp"] {
            if let Ok(entries) = std::fs::read_dir(dir) {
                escaped.push(format!("listed {dir} ({} entries)", entries.count()));
            }
        }
        if std::fs::write("/tmp/ctest-probe", b"x").is_ok() {
            escaped.push("wrote /tmp/ctest-probe".into());
        }
        let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
        if !vars.is_empty() {
            escaped.push(format!("saw environment variables {vars:?}"));
        }
        if std::env::args().count() > 0 {
            escaped.push(format!(
                "saw arguments {:?}",
                std::env::args().collect::<Vec<_>>()
            ));
        }
        let mut stdin = Vec::new();
        if std::io::stdin()
            .read_to_end(&mut stdin)
            .is_ok_and(|n| n > 0)
        {
            escaped.push(format!("read {} bytes of stdin", stdin.len()));
        }
        if let Some(port) = config.get("probe_port").and_then(Value::as_u64) {
            if TcpStream::connect(("127.0.0.1", port as u16)).is_ok() {
                escaped.push(format!("connected to 127.0.0.1:{port}"));
            }
            // Binding the wildcard address is harmless (a connect asks for
            // it); sending is what must fail.
            if let Ok(socket) = UdpSocket::bind("0.0.0.0:0")
                && let Ok(n) = socket.send_to(b"probe", ("127.0.0.1", port as u16))
            {
                escaped.push(format!("sent {n} bytes over UDP to 127.0.0.1:{port}"));
            }
        }
        if let Ok(addrs) = "localhost:80".to_socket_addrs() {
            escaped.push(format!(
                "resolved localhost to {:?}",
                addrs.collect::<Vec<_>>()
            ));
        }
        Ok(if escaped.is_empty() {
            CheckOutcome::Succeeded
        } else {
            CheckOutcome::Failed(format!("the sandbox let through: {}", escaped.join("; ")))
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Probe>);
