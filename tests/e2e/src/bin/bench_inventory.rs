//! Inventory benchmark (written in the next step).
fn main() {
    eprintln!("bench-inventory: not built yet");
    std::process::exit(2);
}
