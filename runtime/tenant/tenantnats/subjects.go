package tenantnats

// Subjects that cross between the engine's account and a tenant's. Inside
// its own account a tenant sees plain names: its stream ER_T_<tenant>
// binds er.t.<tenant>.> (processed events), er.out.<tenant>.> (its WASM
// consumers' outputs) and er.dlq.<tenant> (its rejected events), and it
// publishes raw events to er.raw.<tenant>[.…], which the engine's account
// exports to it. The engine's account imports each tenant's subjects as
// services, so that its publishes get the tenant stream's PubAcks.

// StreamName is the tenant's stream, ER_T_<tenant>, in the tenant's account.
func StreamName(tenantID string) string { return "ER_T_" + tenantID }

// OutSubject is er.out.<tenant>.<consumer>, where a WASM consumer's
// emitted events go (stored in the tenant's stream).
func OutSubject(tenantID, consumer string) string {
	return "er.out." + tenantID + "." + consumer
}

// OutFilter selects every output of a tenant's consumers.
func OutFilter(tenantID string) string { return "er.out." + tenantID + ".>" }

// TenantDLQSubject is er.dlq.<tenant> inside the tenant's account, where
// the tenant reads its dead letters.
func TenantDLQSubject(tenantID string) string { return "er.dlq." + tenantID }

// DLQForwardSubject is the engine-account subject that reaches the tenant's
// er.dlq.<tenant>: er.dlq.> itself is the engine's ER_DLQ.
func DLQForwardSubject(tenantID string) string { return "er.tdlq." + tenantID }

// APIPrefix is the engine-account prefix of the tenant account's JetStream
// API (jetstream.NewWithAPIPrefix): er.js.<tenant>.STREAM.INFO.… is the
// tenant's $JS.API.STREAM.INFO.….
func APIPrefix(tenantID string) string { return "er.js." + tenantID }

// ackSubjects are the acks of consumers on the tenant's stream, published
// by the engine for the consumers it runs there (WASM, analytics).
func ackSubjects(tenantID string) string { return "$JS.ACK." + StreamName(tenantID) + ".>" }
