//! `cargo run -p shop-api -- [--port N] [--api-key KEY]`: serves the shop API
//! until interrupted.

fn main() {
    let mut options = shop_api::Options::default();
    let mut port = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => port = p.parse().expect("--port takes a number"),
            ("--api-key", Some(k)) => options.api_key = k,
            ("--customers", Some(n)) => {
                options.customers = n.parse().expect("--customers takes a number")
            }
            _ => {
                eprintln!("usage: shop-api [--port N] [--api-key KEY] [--customers N]");
                std::process::exit(2);
            }
        }
    }
    let server = shop_api::Server::start_on(options, port).expect("bind the port");
    println!("shop API on {}", server.base_url());
    loop {
        std::thread::park();
    }
}
