//! Lambda glue: fan-out, worker loop, leases, local runner.
