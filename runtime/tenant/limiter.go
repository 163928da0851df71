package tenant

import (
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket per tenant, sized by the tenant's RatePerSec
// and Burst. A request is let through while the bucket holds at least one
// token and is then charged for all its events, so a batch larger than the
// burst still passes once, leaving the bucket in debt: the sustained rate
// is what is enforced, and a batch is never split.
type Limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns an empty limiter.
func NewLimiter() *Limiter {
	return &Limiter{buckets: map[string]*bucket{}, now: time.Now}
}

// Allow charges n events to t and reports whether they may pass; when not,
// retryAfter is how long until the bucket holds a token again. A tenant
// without RatePerSec is never limited.
func (l *Limiter) Allow(t Tenant, n int) (retryAfter time.Duration, ok bool) {
	if t.RatePerSec <= 0 {
		return 0, true
	}
	burst := float64(t.Burst)
	if burst <= 0 {
		burst = math.Max(1, t.RatePerSec)
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.buckets[t.ID]
	if !found {
		b = &bucket{tokens: burst, last: now}
		l.buckets[t.ID] = b
	}
	b.tokens = math.Min(burst, b.tokens+now.Sub(b.last).Seconds()*t.RatePerSec)
	b.last = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / t.RatePerSec * float64(time.Second))
		return wait, false
	}
	b.tokens -= float64(n)
	return 0, true
}

// Forget drops a tenant's bucket (after its deletion).
func (l *Limiter) Forget(id string) {
	l.mu.Lock()
	delete(l.buckets, id)
	l.mu.Unlock()
}
