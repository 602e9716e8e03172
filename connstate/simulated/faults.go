package simulated

import (
	"context"
	"fmt"
)

// Op names a Backend call, as the AWS API operation it stands for.
type Op string

const (
	OpDescribe Op = "DescribeVpcEndpoints"
	OpCreate   Op = "CreateVpcEndpoint"
	OpDelete   Op = "DeleteVpcEndpoints"
	OpTag      Op = "CreateTags" // SetReadySince
	OpWhoami   Op = "GetCallerIdentity"
)

type fault struct {
	err error
	n   int // calls left to fail; negative: until cleared
}

// InjectError makes the next n calls of op fail with err (wrap
// connstate.ErrThrottled to simulate RequestLimitExceeded). A negative n
// fails every call until InjectError(op, nil, 0) clears it.
func (b *Backend) InjectError(op Op, err error, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil || n == 0 {
		delete(b.faults, op)
		return
	}
	b.faults[op] = &fault{err: err, n: n}
}

// Calls reports how many times op was called, failed calls included.
func (b *Backend) Calls(op Op) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[op]
}

// CallsIn reports how many op calls the AWS backend would have made in
// region for the calls so far: one DescribeVpcEndpoints per region a
// Describe covers, plus one for its adopted endpoints there (the AWS
// backend looks those up by ID), and each Create, Delete and tag write in
// its endpoint's region.
func (b *Backend) CallsIn(op Op, region string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.regionCalls[regionOp{op, region}]
}

type regionOp struct {
	op     Op
	region string
}

// enter counts a call and returns its injected error, if any.
func (b *Backend) enter(ctx context.Context, op Op) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[op]++
	f := b.faults[op]
	if f == nil {
		return nil
	}
	if f.n > 0 {
		f.n--
		if f.n == 0 {
			delete(b.faults, op)
		}
	}
	return fmt.Errorf("%s: %w", op, f.err)
}
