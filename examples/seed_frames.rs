//! Write the scenario A frames to a pcap file and print their dissection.
//!
//! ```text
//! cargo run --example seed_frames -- seed.pcap
//! tshark -r seed.pcap
//! ```

// Printing the dissection is what this example is for.
#![allow(clippy::print_stdout)]

use std::fs::File;
use std::io::BufWriter;
use std::process::ExitCode;

use vrsim::seed;
use vrsim::wire::dissect;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: seed_frames OUT.pcap");
        return ExitCode::from(2);
    };
    let frames = seed::frames();
    let written = File::create(&path)
        .map_err(pcap_file::PcapError::IoError)
        .and_then(|f| seed::write_pcap(BufWriter::new(f), &frames))
        .and_then(|w| {
            w.into_inner()
                .map_err(|e| pcap_file::PcapError::IoError(e.into_error()))
        });
    if let Err(e) = written {
        eprintln!("seed_frames: cannot write {}: {e}", path.to_string_lossy());
        return ExitCode::FAILURE;
    }
    for (i, f) in frames.iter().enumerate() {
        println!(
            "frame {} {} ({} bytes): {}",
            i + 1,
            f.name,
            f.bytes.len(),
            f.description
        );
        println!("{}\n", dissect(&f.bytes));
    }
    println!(
        "wrote {} frames to {}",
        frames.len(),
        path.to_string_lossy()
    );
    ExitCode::SUCCESS
}
