//! `bitcraps netem`: the impairment proxy of `bitcraps_netem`, run until stopped, its counters
//! printed every few seconds.

use std::process::ExitCode;
use std::time::Duration;

use bitcraps_netem::{Impairment, Proxy, ProxyConfig};

use crate::cli::NetemArgs;

/// Runs the proxy `args` describe until the process is stopped; fails only if it cannot start.
pub fn run(args: &NetemArgs) -> ExitCode {
    let impairment = Impairment {
        delay: Duration::from_millis(args.delay_ms),
        jitter: Duration::from_millis(args.jitter_ms),
        loss: args.loss,
        duplicate: args.duplicate,
    };
    let mut config = ProxyConfig::symmetric(impairment);
    config.partitions = args.partition.clone();
    let proxy = match Proxy::spawn_with(args.listen, args.to, config, args.seed) {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!("bitcraps netem: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "netem: {} -> {}: delay {} ms ± {} ms, loss {}, duplicate {} each way, seed {}; \
         players --join {}",
        proxy.local_addr(),
        args.to,
        args.delay_ms,
        args.jitter_ms,
        args.loss,
        args.duplicate,
        args.seed,
        proxy.local_addr()
    );
    for p in &args.partition {
        println!(
            "netem: partition from {:.1} s to {:.1} s",
            p.start.as_secs_f64(),
            p.end.as_secs_f64()
        );
    }
    loop {
        std::thread::sleep(Duration::from_secs(args.stats_every));
        let s = proxy.stats();
        println!(
            "netem: received {} forwarded {} dropped {} (partition {}, queue full {}, refused {}) \
             duplicated {} delayed {} clients {}",
            s.received,
            s.forwarded,
            s.dropped,
            s.partitioned,
            s.overflowed,
            s.refused,
            s.duplicated,
            s.delayed,
            s.clients
        );
    }
}
