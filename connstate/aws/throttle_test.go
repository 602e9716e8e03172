package aws

import (
	"errors"
	"testing"
	"time"

	"github.com/callgate/callgate/connstate"
	"github.com/callgate/callgate/internal/faultfront"
)

// Throttling and 5xx injected before moto: the SDK's retryer retries
// (DefaultMaxAttempts attempts), and when it gives up the error wraps
// connstate.ErrThrottled for throttling only, and the metric says which.
func TestThrottling(t *testing.T) {
	e := newEnv(t)
	if _, err := e.b.Create(ctxT(t), spec("orders")); err != nil {
		t.Fatal(err)
	}
	specs := []connstate.Spec{spec("orders")}
	const op = "DescribeVpcEndpoints"

	t.Run("recovers within the retryer", func(t *testing.T) {
		before, injected := e.calls(op, OutcomeSuccess), e.front.Injected()
		e.front.FailNext(DefaultMaxAttempts-1, op, faultfront.Throttle)
		got, err := e.b.Describe(ctxT(t), specs)
		if err != nil {
			t.Fatalf("Describe after %d throttles: %v", DefaultMaxAttempts-1, err)
		}
		if _, ok := got["orders"]; !ok {
			t.Fatal("orders not reported")
		}
		if n := e.front.Injected() - injected; n != DefaultMaxAttempts-1 {
			t.Errorf("%d throttled attempts, want %d", n, DefaultMaxAttempts-1)
		}
		if n := e.calls(op, OutcomeSuccess) - before; n != 1 {
			t.Errorf("success counted %v times, want 1 (one call, however many attempts)", n)
		}
	})

	for _, tc := range []struct {
		name      string
		fault     faultfront.Fault
		throttled bool
	}{
		{"RequestLimitExceeded", faultfront.Throttle, true},
		{"SlowDown", faultfront.SlowDown, true},
		{"plain 500", faultfront.ServerError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outcome := OutcomeError
			if tc.throttled {
				outcome = OutcomeThrottled
			}
			before, injected := e.calls(op, outcome), e.front.Injected()
			e.front.FailNext(DefaultMaxAttempts, op, tc.fault)
			got, err := e.b.Describe(ctxT(t), specs)
			if err == nil || got != nil {
				t.Fatalf("Describe = %v, %v; want an error and no observations", got, err)
			}
			if errors.Is(err, connstate.ErrThrottled) != tc.throttled {
				t.Errorf("errors.Is(%v, ErrThrottled) = %v, want %v", err, !tc.throttled, tc.throttled)
			}
			if n := e.front.Injected() - injected; n != DefaultMaxAttempts {
				t.Errorf("%d attempts, want %d (the SDK retried)", n, DefaultMaxAttempts)
			}
			if e.front.Pending() != 0 {
				t.Errorf("%d injected answers left unused", e.front.Pending())
			}
			if n := e.calls(op, outcome) - before; n != 1 {
				t.Errorf("outcome %s counted %v times, want 1", outcome, n)
			}
		})
	}

	t.Run("create", func(t *testing.T) {
		e.front.FailNext(DefaultMaxAttempts, "CreateVpcEndpoint", faultfront.Throttle)
		if _, err := e.b.Create(ctxT(t), spec("payments")); !errors.Is(err, connstate.ErrThrottled) {
			t.Fatalf("Create = %v, want ErrThrottled", err)
		}
		if n := len(e.tagged(t, "payments")); n != 0 {
			t.Errorf("%d endpoints after a throttled create", n)
		}
	})
	t.Run("tags", func(t *testing.T) {
		got, err := e.b.Describe(ctxT(t), specs)
		if err != nil {
			t.Fatal(err)
		}
		e.front.FailNext(DefaultMaxAttempts, "CreateTags", faultfront.Throttle)
		if err := e.b.SetReadySince(ctxT(t), got["orders"].EndpointID, time.Now()); !errors.Is(err, connstate.ErrThrottled) {
			t.Fatalf("SetReadySince = %v, want ErrThrottled", err)
		}
	})
	t.Run("whoami", func(t *testing.T) {
		before := e.calls("GetCallerIdentity", OutcomeThrottled)
		// Signed for STS, so the front answers in STS's format (Throttling).
		e.front.FailNext(DefaultMaxAttempts, "GetCallerIdentity", faultfront.Throttle)
		if _, err := e.b.Whoami(ctxT(t)); !errors.Is(err, connstate.ErrThrottled) {
			t.Fatalf("Whoami = %v, want ErrThrottled", err)
		}
		if n := e.calls("GetCallerIdentity", OutcomeThrottled) - before; n != 1 {
			t.Errorf("GetCallerIdentity throttled counted %v times, want 1", n)
		}
	})
}

func TestWhoamiMoto(t *testing.T) {
	e := newEnv(t)
	got, err := e.b.Whoami(ctxT(t))
	if err != nil {
		t.Fatalf("Whoami: %v", err)
	}
	// moto answers every caller as its default IAM user.
	if got != "arn:aws:sts::123456789012:user/moto" {
		t.Errorf("Whoami = %q", got)
	}
	if e.calls("GetCallerIdentity", OutcomeSuccess) != 1 {
		t.Error("GetCallerIdentity not counted")
	}
	if e.front.Requests("GetCallerIdentity") != 1 {
		t.Error("Whoami did not go through the EndpointURL")
	}
}
