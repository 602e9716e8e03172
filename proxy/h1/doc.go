// Package h1 is callgate's fast HTTP/1.1 wire engine. It speaks the wire
// only: it knows nothing of named credentials, clients or refusals, and it
// meets the rest of the proxy at net/http's own seams.
//
//   - Server serves a listener for an http.Handler. Keep-alive requests
//     without a body run on the connection's own goroutine (the lane);
//     every other connection is handed, its bytes unread, to a fallback
//     *http.Server, which then owns it.
//   - Transport is an http.RoundTripper. Bodiless requests to plain-http
//     origins run on the caller's goroutine over its own pool; everything
//     else goes to a fallback RoundTripper (an *http.Transport).
//
// Both parse with net/http's parser (http.ReadRequest, http.ReadResponse)
// and are held to net/http's answers by differential fuzzers
// (FuzzLaneRequest, FuzzUpstreamResponse). What they skip is net/http's
// per-request machinery — a background read goroutine per request, the
// Transport's read and write goroutines per connection — which was most of
// a proxy's CPU per request (BENCHMARKS.md).
package h1
