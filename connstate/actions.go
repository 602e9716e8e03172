package connstate

import (
	"fmt"
	"strings"
)

// Action is an operator action on an outbound connection (docs/operations.md, Connection statuses).
type Action string

const (
	ActionEdit      Action = "edit"
	ActionProvision Action = "provision"
	ActionDelete    Action = "delete"
	ActionSync      Action = "sync"
	ActionTeardown  Action = "teardown"
)

var (
	unprovisionedActions = []Action{ActionEdit, ActionProvision, ActionDelete}
	provisionedActions   = []Action{ActionEdit, ActionSync, ActionTeardown}
)

// AllowedActions returns the actions the matrix allows in status s.
func AllowedActions(s Status) []Action {
	if s == Unprovisioned {
		return unprovisionedActions
	}
	return provisionedActions
}

// CheckAction returns nil if a is allowed in s, else an *ActionError.
func CheckAction(connection string, s Status, a Action) error {
	for _, ok := range AllowedActions(s) {
		if ok == a {
			return nil
		}
	}
	return &ActionError{Connection: connection, Status: s, Action: a}
}

// ActionError is the refusal of an action outside the matrix; the admin API
// answers it with 409.
type ActionError struct {
	Connection string
	Status     Status
	Action     Action
}

func (e *ActionError) Error() string {
	allowed := AllowedActions(e.Status)
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return fmt.Sprintf("connection %q is %s: action %q is not allowed (allowed: %s)",
		e.Connection, e.Status, e.Action, strings.Join(names, ", "))
}

// Is makes errors.Is(err, ErrActionNotAllowed) true for every ActionError.
func (e *ActionError) Is(target error) bool { return target == ErrActionNotAllowed }
