//! The status board (DESIGN §8). Work in progress.
