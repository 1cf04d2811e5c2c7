//! `wasi:sockets/ip-name-lookup`, decided by the network policy. wasmtime-wasi
//! can only switch name lookups on or off for all names; ctest puts its own
//! `resolve-addresses` in front: a name the policy does not allow is refused
//! (and reported), an allowed one is resolved by ctest and checked, and the
//! plugin gets the first address that passed, through wasmtime-wasi's own
//! resolver given that address. Sockets may then connect to it as that name.

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{Host, ResolveAddressStream};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, Network};
use wasmtime_wasi::sockets::WasiSocketsView;

use crate::network::LookupError;
use crate::sandbox::PluginState;

/// The interface as wasmtime-wasi 48 registers it.
const INTERFACE: &str = "wasi:sockets/ip-name-lookup@0.2.12";

type Answer = Result<Resource<ResolveAddressStream>, ErrorCode>;

/// Replaces `resolve-addresses` in a linker that already has WASI.
pub fn shadow(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut instance = linker.instance(INTERFACE)?;
    instance.func_wrap_async(
        "resolve-addresses",
        |mut store, (network, name): (Resource<Network>, String)| {
            Box::new(async move {
                let state = store.data_mut();
                let call = state
                    .hooks
                    .call
                    .lock()
                    .map(|c| c.clone())
                    .unwrap_or_default();
                let net = state.hooks.network.clone();
                let answer: Answer = match net.lookup(&call, &name).await {
                    Err(LookupError::Denied) => Err(ErrorCode::PermanentResolverFailure),
                    Err(LookupError::Unresolvable) => Err(ErrorCode::NameUnresolvable),
                    Ok(addresses) => match addresses.first() {
                        None => Err(ErrorCode::NameUnresolvable),
                        Some(ip) => {
                            let mut sockets = store.data_mut().sockets();
                            match sockets.resolve_addresses(network, ip.to_string()) {
                                Ok(stream) => Ok(stream),
                                Err(e) => Err(e.downcast()?),
                            }
                        }
                    },
                };
                Ok((answer,))
            })
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}
