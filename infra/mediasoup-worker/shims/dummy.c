int hummingbird_shim_placeholder(void) { return 0; }
