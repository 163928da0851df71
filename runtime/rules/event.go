package rules

// Event is the built-in GRL fact named "Event": the CloudEvent attributes of
// the event being processed (read-only in GRL) and idempotent actions that
// rules may call from `then`.
//
// The same type is added to grule's data context when rules run interpreted,
// so its exported methods are the whole GRL surface of the fact; keep them
// idempotent (grule memoises method calls in `then`).
type Event struct {
	ID       string
	Type     string
	Source   string
	Subject  string
	Time     string // RFC 3339, as in the CloudEvent
	TenantID string

	tags    []string
	routes  []string
	dropped bool
}

// Tag marks the processed event with a tag (once, however often it is called).
func (e *Event) Tag(tag string) {
	if !contains(e.tags, tag) {
		e.tags = append(e.tags, tag)
	}
}

// HasTag reports whether Tag was called with tag.
func (e *Event) HasTag(tag string) bool { return contains(e.tags, tag) }

// Route asks for the processed event to be delivered to a named destination as
// well as the tenant stream.
func (e *Event) Route(dest string) {
	if !contains(e.routes, dest) {
		e.routes = append(e.routes, dest)
	}
}

// Drop asks for the processed event to be stored but not delivered.
func (e *Event) Drop() { e.dropped = true }

// IsDropped reports whether Drop was called.
func (e *Event) IsDropped() bool { return e.dropped }

// Tags returns the tags in the order they were first added.
func (e *Event) Tags() []string { return e.tags }

// Routes returns the routes in the order they were first added.
func (e *Event) Routes() []string { return e.routes }

// Reset clears attributes and actions, keeping capacity.
func (e *Event) Reset() {
	tags, routes := e.tags[:0], e.routes[:0]
	*e = Event{tags: tags, routes: routes}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
