// Package bench holds the benchmarks that SREs run against statusedge and the
// reports they write.
//
// In: edges to load (URLs on loopback, or hosts an SRE named), a visitor mix
// (a Hit per request), the edges' /metrics before and after, and latency
// samples (propagation from a write's acknowledgment to every edge serving
// it, and the write's own acknowledgment time). Out: a Report — report.md,
// report.json and PNG plots (gonum/plot: latency over time with events
// marked, latency histogram, propagation CDF, throughput bars) in an output
// directory, and vegeta's HDR histogram text beside them.
//
// Two kinds of load:
//   - open loop (Attack): github.com/tsenart/vegeta/v12 as a library sends at a
//     fixed rate, or a burst all at once, whether or not earlier requests have
//     been answered, so a slow answer cannot hide itself (coordinated
//     omission); every request's latency is kept, by class and over time, and
//     answers are counted by the edge's X-Statusedge-Cache layer and version,
//     so they can be set against what the edges' /metrics counted (EdgeCounts);
//   - closed loop at maximum (Run): wrk, pinned with taskset to its own core,
//     the yardstick next to nginx and a bare fasthttp server.
//
// Progress shows a progress bar on a terminal (schollz/progressbar) and plain
// lines otherwise. The scenarios (steady, herd, spike, outage, propagation,
// load) are put together in cmd/statusedge (bench.go, bench_scenario.go).
package bench
