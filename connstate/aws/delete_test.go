package aws

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/callgate/callgate/connstate"
)

func TestDelete(t *testing.T) {
	e := newEnv(t)
	obs, err := e.b.Create(ctxT(t), spec("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Delete(ctxT(t), spec("orders"), obs.EndpointID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := e.front.LastForm("DeleteVpcEndpoints").Get("VpcEndpointId.1"); got != obs.EndpointID {
		t.Errorf("DeleteVpcEndpoints VpcEndpointId.1 = %q", got)
	}
	// moto keeps a deleted endpoint listed in state "deleted" (AWS does too,
	// for a while); the Manager maps it (TeardownInProgress after our own
	// teardown).
	got, err := e.b.Describe(ctxT(t), []connstate.Spec{spec("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if got["orders"].State != "deleted" {
		t.Errorf("after Delete: %+v, want state deleted", got["orders"])
	}
	if err := e.b.Delete(ctxT(t), spec("orders"), obs.EndpointID); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	// Once AWS forgets it, it is gone: no key.
	if err := e.moto.RemoveEndpoint(ctxT(t), obs.EndpointID); err != nil {
		t.Fatal(err)
	}
	got, err = e.b.Describe(ctxT(t), []connstate.Spec{spec("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got["orders"]; ok {
		t.Errorf("after removal: %+v, want no key", o)
	}
	if err := e.b.Delete(ctxT(t), spec("orders"), obs.EndpointID); err != nil {
		t.Errorf("Delete of a vanished endpoint: %v", err)
	}
	// Provisioning again makes a new endpoint.
	again, err := e.b.Create(ctxT(t), spec("orders"))
	if err != nil || again.EndpointID == obs.EndpointID {
		t.Errorf("Create after teardown: %+v, %v", again, err)
	}
}

// deleteAnswer is an EC2 DeleteVpcEndpoints answer listing id as
// unsuccessful with code.
func deleteAnswer(id, code string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<DeleteVpcEndpointsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>faultfront</requestId>
<unsuccessful><item><error><code>` + code + `</code><message>` + code + ` for ` + id + `</message></error><resourceId>` + id + `</resourceId></item></unsuccessful>
</DeleteVpcEndpointsResponse>`
}

// DeleteVpcEndpoints reports per-endpoint failures in a 200 answer's
// Unsuccessful list; moto never does, so the front answers in its place.
func TestDeleteUnsuccessful(t *testing.T) {
	e := newEnv(t)
	const id = "vpce-0123456789abcdef0"
	for _, tc := range []struct {
		code    string
		wantErr bool
	}{
		{"InvalidVpcEndpointId.NotFound", false},
		{"OperationNotPermitted", true},
		{"InvalidVpcEndpointState", true},
	} {
		t.Run(tc.code, func(t *testing.T) {
			e.front.RespondNext(1, "DeleteVpcEndpoints", http.StatusOK, deleteAnswer(id, tc.code))
			err := e.b.Delete(ctxT(t), spec("orders"), id)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Delete = %v, want nil (already gone)", err)
				}
				return
			}
			if !errors.Is(err, ErrDeleteFailed) || !strings.Contains(err.Error(), tc.code) || !strings.Contains(err.Error(), id) {
				t.Fatalf("Delete = %v, want ErrDeleteFailed naming %s and %s", err, tc.code, id)
			}
		})
	}
	// The same code as an API error (as EC2 answers for a malformed or
	// unknown ID in some cases) is also "already gone".
	e.front.RespondNext(1, "DeleteVpcEndpoints", http.StatusBadRequest, ec2ErrorBody("InvalidVpcEndpointId.NotFound"))
	if err := e.b.Delete(ctxT(t), spec("orders"), id); err != nil {
		t.Errorf("Delete answered with a NotFound API error = %v, want nil", err)
	}
	if err := e.b.Delete(ctxT(t), spec("orders"), ""); err == nil {
		t.Error("Delete without an endpoint ID: want an error")
	}
}

func ec2ErrorBody(code string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>` + code + `</Code><Message>` + code + `</Message></Error></Errors><RequestID>faultfront</RequestID></Response>`
}
