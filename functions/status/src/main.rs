//! `status` Lambda. Work in progress: wired in a later commit.

fn main() {
    eprintln!("the status function is not wired yet");
    std::process::exit(1);
}
