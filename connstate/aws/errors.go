package aws

import (
	"errors"
	"fmt"

	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/callgate/callgate/connstate"
)

var (
	// ErrAdopted is returned by Create and Delete for a spec with an
	// AdoptedID: callgate syncs an adopted endpoint but never creates or
	// deletes it.
	ErrAdopted = errors.New("endpoint is adopted (vpc_endpoint_id): callgate never creates or deletes it")
	// ErrIncompleteOptions is returned when an operation needs an Options
	// field that is empty (a region, or the VPC, subnets and security
	// groups to create endpoints in).
	ErrIncompleteOptions = errors.New("aws backend options incomplete")
	// ErrDeleteFailed is returned when DeleteVpcEndpoints answers with the
	// endpoint in its Unsuccessful list for a reason other than "not found".
	ErrDeleteFailed = errors.New("vpc endpoint deletion unsuccessful")
)

// notFoundCode is EC2's error code for an endpoint ID that does not exist,
// both as an API error and in DeleteVpcEndpoints' Unsuccessful list.
const notFoundCode = "InvalidVpcEndpointId.NotFound"

// throttleCodes are the error codes AWS answers when it throttles a caller:
// EC2 sends RequestLimitExceeded (HTTP 503), STS Throttling, S3-style
// front ends SlowDown.
var throttleCodes = map[string]bool{
	"RequestLimitExceeded":      true,
	"Throttling":                true,
	"ThrottlingException":       true,
	"ThrottledException":        true,
	"RequestThrottled":          true,
	"RequestThrottledException": true,
	"TooManyRequestsException":  true,
	"EC2ThrottledException":     true,
	"SlowDown":                  true,
}

// isThrottle reports whether err (after the SDK's own retries) is AWS
// throttling us.
func isThrottle(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && throttleCodes[ae.ErrorCode()] {
		return true
	}
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 429
}

// errorCode returns the AWS error code in err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// opError wraps an SDK error with the operation and region, and with
// connstate.ErrThrottled or connstate.ErrNotFound where they apply, so the
// sync loop can back off longer or treat the endpoint as gone.
func opError(op, region string, err error) error {
	switch {
	case isThrottle(err):
		return fmt.Errorf("aws %s in %s: %w: %w", op, region, connstate.ErrThrottled, err)
	case errorCode(err) == notFoundCode:
		return fmt.Errorf("aws %s in %s: %w: %w", op, region, connstate.ErrNotFound, err)
	}
	return fmt.Errorf("aws %s in %s: %w", op, region, err)
}
