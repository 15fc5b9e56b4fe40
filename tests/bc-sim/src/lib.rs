//! Business Central API simulator.
