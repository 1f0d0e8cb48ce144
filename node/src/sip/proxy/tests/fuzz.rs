//! Random inputs never panic the proxy, and once the timers run out nothing is left behind.
