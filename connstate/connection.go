package connstate

// Connection is one outbound connection as configured (docs/operations.md, Connection statuses). It
// holds no runtime state; the Manager keeps that separately.
type Connection struct {
	Name        string
	Description string
	Type        string // only "AwsPrivateLink"
	ServiceName string // VPC endpoint service name
	Region      string // defaults to aws.region in the config loader
	// Provision makes the control loop provision the connection on start
	// and on reload instead of waiting for the provision action.
	Provision bool
	// VpcEndpointID adopts an endpoint made elsewhere: sync only, never
	// create or delete. Empty for connections callgate manages.
	VpcEndpointID string
}

// Spec is the Backend's view of the connection.
func (c Connection) Spec() Spec {
	return Spec{Name: c.Name, ServiceName: c.ServiceName, Region: c.Region, AdoptedID: c.VpcEndpointID}
}
