package simulated

import "errors"

var (
	// ErrInvalidService: Create for a service_name that is not in
	// Options.Services, as AWS answers InvalidServiceName.
	ErrInvalidService = errors.New("simulated: InvalidServiceName: no such vpc endpoint service")
	// ErrInvalidState: a remote-side action (Accept, Reject, …) that the
	// endpoint's current state does not allow.
	ErrInvalidState = errors.New("simulated: endpoint is not in a state that allows this")
	// ErrAdopted: Create or Delete for an adopted endpoint, which callgate
	// must never do.
	ErrAdopted = errors.New("simulated: refusing to create or delete an adopted endpoint")
)
