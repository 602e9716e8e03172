package connstate

import "errors"

var (
	// ErrActionNotAllowed: the action is outside the actions matrix for the
	// connection's status. The concrete error is an *ActionError.
	ErrActionNotAllowed = errors.New("action not allowed")
	// ErrUnknownConnection: no outbound connection has that name.
	ErrUnknownConnection = errors.New("unknown outbound connection")
	// ErrNotFound is returned by a Backend when an endpoint does not exist.
	ErrNotFound = errors.New("vpc endpoint not found")
	// ErrThrottled is wrapped by a Backend when AWS throttles a call, so the
	// sync loop backs off longer.
	ErrThrottled = errors.New("aws api throttled")
	// ErrConfigAction: edit and delete are allowed by the matrix but happen
	// through the config file, not through Manager.Do.
	ErrConfigAction = errors.New("edit and delete happen through the config file")
	// ErrAlreadyRunning: Manager.Run was called while another Run is active.
	ErrAlreadyRunning = errors.New("connstate: manager is already running")
)
