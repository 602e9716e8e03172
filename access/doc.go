// Package access decides who a proxy client is and what it may use: client
// identities (Basic or Bearer Proxy-Authorization, or the source address),
// their permits for named credentials, the throttle on failed
// authentication, and the rate and concurrency limits.
//
// It answers with a typed Denial and never writes a response: the proxy
// maps each Kind to its docs/refusals.md row in one place, so the data
// plane and Explain cannot drift apart, and this package needs nothing of
// HTTP responses, metrics or the gate.
//
// The compiled configuration (Clients, Limits) is immutable and replaced
// whole on reload. What it is checked against (Authenticator, Limiter,
// CredHeld) outlives a snapshot, so that a reload neither forgives an
// attacker his failures nor forgets what is in flight.
//
// Imports point one way: proxy imports access, cmd/callgate converts the
// config into it; access imports neither, nor any connstate backend.
package access
