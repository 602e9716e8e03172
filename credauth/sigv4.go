package credauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

const (
	// emptyPayloadHash is hex(SHA-256("")), the payload hash of a request
	// without a body.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	unsignedPayload  = "UNSIGNED-PAYLOAD"
	awsConfigTimeout = 10 * time.Second
)

// sigv4Auth signs with AWS Signature Version 4.
//
// The signature covers the SHA-256 of the body, so the body must be known
// before the first byte is sent. A callout body is a stream from the client;
// we buffer it, up to maxBody, and refuse a larger one with ErrBodyTooLarge
// rather than send it unsigned: most services (API Gateway, Lambda URLs,
// OpenSearch, …) reject UNSIGNED-PAYLOAD. A credential whose service accepts
// it (S3) can set SigV4Spec.UnsignedPayload to stream without buffering.
type sigv4Auth struct {
	spec    SigV4Spec
	creds   aws.CredentialsProvider
	signer  *v4.Signer
	now     func() time.Time
	maxBody int64
	loaded  atomic.Bool // the last Retrieve succeeded
}

var roleSessionUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

func newSigV4(name string, s *SigV4Spec, opts Options) (*sigv4Auth, error) {
	if s.Service == "" || s.Region == "" {
		return nil, fmt.Errorf("%w: aws_sigv4: service and region are required", ErrInvalidSpec)
	}
	loadCfg := opts.AWSConfig
	if loadCfg == nil {
		loadCfg = func(ctx context.Context) (aws.Config, error) {
			return config.LoadDefaultConfig(ctx, config.WithRegion(s.Region))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), awsConfigTimeout)
	defer cancel()
	cfg, err := loadCfg(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws_sigv4: loading the AWS config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = s.Region // STS for AssumeRole needs one
	}
	creds := cfg.Credentials
	if s.RoleARN != "" {
		// RoleSessionName shows in the role's CloudTrail entries; the
		// charset and length are STS's.
		session := roleSessionUnsafe.ReplaceAllString("callgate-"+name, "_")
		if len(session) > 64 {
			session = session[:64]
		}
		creds = stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), s.RoleARN,
			func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = session })
	}
	if creds == nil {
		return nil, fmt.Errorf("%w: aws_sigv4: the AWS config has no credentials provider", ErrAWSCredentials)
	}
	// The cache refreshes before expiry and lets one Retrieve serve
	// concurrent requests.
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds)
	}
	return &sigv4Auth{spec: *s, creds: creds, signer: v4.NewSigner(), now: opts.Now, maxBody: opts.MaxSignedBody}, nil
}

func (s *sigv4Auth) apply(r *http.Request) error {
	creds, err := s.creds.Retrieve(r.Context())
	if err != nil {
		s.loaded.Store(false)
		return fmt.Errorf("%w: %w", ErrAWSCredentials, err)
	}
	s.loaded.Store(true)
	hash, err := s.payloadHash(r)
	if err != nil {
		return err
	}
	// Required by S3, accepted by every other service; it also tells the
	// endpoint which hash was signed.
	r.Header.Set("X-Amz-Content-Sha256", hash)
	if err := s.signer.SignHTTP(r.Context(), creds, r, hash, s.spec.Service, s.spec.Region, s.now()); err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	return nil
}

// payloadHash returns the hex SHA-256 of the body, replacing r.Body with the
// buffered copy (with a known ContentLength, so it is sent with
// Content-Length rather than chunked, and GetBody so it can be retried).
func (s *sigv4Auth) payloadHash(r *http.Request) (string, error) {
	if s.spec.UnsignedPayload {
		return unsignedPayload, nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return emptyPayloadHash, nil
	}
	if r.ContentLength > s.maxBody {
		return "", fmt.Errorf("%w: %d bytes, the limit is %d", ErrBodyTooLarge, r.ContentLength, s.maxBody)
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, s.maxBody+1))
	_ = r.Body.Close()
	if err != nil {
		return "", fmt.Errorf("reading the request body to sign it: %w", err)
	}
	if int64(len(buf)) > s.maxBody {
		return "", fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, s.maxBody)
	}
	r.ContentLength = int64(len(buf))
	r.TransferEncoding = nil
	if len(buf) == 0 {
		r.Body, r.GetBody = http.NoBody, nil
		return emptyPayloadHash, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(buf))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]), nil
}
