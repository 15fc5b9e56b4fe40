//! `api` Lambda. Work in progress: wired in a later commit.

fn main() {
    eprintln!("the api function is not wired yet");
    std::process::exit(1);
}
