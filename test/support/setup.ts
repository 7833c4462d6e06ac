/**
 * Preloaded before every test file (bunfig.toml). Bun ignores a `timeout` key in bunfig's [test]
 * table, so the default per-test bound for network tests is set here: a hung test fails after
 * 20 s instead of stalling CI, and slower multi-process tests still fit.
 */
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(20_000);
