package aws

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/callgate/callgate/connstate"
)

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func httpErr(status int) error {
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
		Err:      errors.New("unmodeled"),
	}
}

func TestOpError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		throttled bool
		notFound  bool
	}{
		{"RequestLimitExceeded", apiErr("RequestLimitExceeded"), true, false},
		{"Throttling", apiErr("Throttling"), true, false},
		{"ThrottlingException", apiErr("ThrottlingException"), true, false},
		{"SlowDown", apiErr("SlowDown"), true, false},
		{"429 without a code", httpErr(429), true, false},
		{"after the retryer gave up", &retry.MaxAttemptsError{Attempt: 3, Err: apiErr("RequestLimitExceeded")}, true, false},
		{"joined with a retry quota error", errors.Join(apiErr("Throttling"), errors.New("retry quota exceeded")), true, false},
		{"not found", apiErr(notFoundCode), false, true},
		{"other API error", apiErr("UnauthorizedOperation"), false, false},
		{"plain 500", httpErr(500), false, false},
		{"network", errors.New("connection refused"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := opError("DescribeVpcEndpoints", "us-east-1", tc.err)
			if errors.Is(err, connstate.ErrThrottled) != tc.throttled {
				t.Errorf("throttled = %v, want %v (%v)", !tc.throttled, tc.throttled, err)
			}
			if errors.Is(err, connstate.ErrNotFound) != tc.notFound {
				t.Errorf("not found = %v, want %v (%v)", !tc.notFound, tc.notFound, err)
			}
			if !errors.Is(err, tc.err) {
				t.Error("the SDK error is not wrapped")
			}
			if !strings.Contains(err.Error(), "DescribeVpcEndpoints") || !strings.Contains(err.Error(), "us-east-1") {
				t.Errorf("%q lacks the operation and region", err)
			}
		})
	}
	if isThrottle(fmt.Errorf("wrapped: %w", apiErr("EC2ThrottledException"))) != true {
		t.Error("wrapped EC2ThrottledException not recognised")
	}
}
