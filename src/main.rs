use clap::Parser;

fn main() {
    let cli = h7sh::cli::Cli::parse();
    std::process::exit(h7sh::cli::main_with(cli));
}
