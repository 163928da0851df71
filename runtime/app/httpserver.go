package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/eventrunner/eventrunner/runtime/problem"
)

// httpLimits are the HTTP server's deliberate bounds on a client. Ingest
// bodies have bounds of their own (ingest.Limits: a minimum rate after a
// grace period), which replace ReadTimeout and WriteTimeout for them.
type httpLimits struct {
	// ReadHeaderTimeout closes a connection whose request headers are not
	// in by then (slowloris), and one that opens and sends nothing.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds a whole request, body included, for the routes
	// that do not bound their bodies themselves (admin, WASM upload).
	ReadTimeout time.Duration
	// WriteTimeout bounds a reply (a client that reads nothing).
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers; larger ones get a 431.
	MaxHeaderBytes int
}

func defaultHTTPLimits() httpLimits {
	return httpLimits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
	}
}

// newHTTPServer is the API's server: h behind problemFallback, with lim.
func newHTTPServer(h http.Handler, lim httpLimits, errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          errorLog,
	}
}

// problemFallback answers what mux has no route for as problem details: 404
// for an unknown path, 405 (with Allow) for a known path and another
// method. ServeMux writes both as text/plain itself; its other answers
// without a route (redirects to a cleaned path) pass through as they are.
func problemFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r) // sets the path values h reads
			return
		}
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusNotFound:
			problem.Write(w, problem.New(http.StatusNotFound, "path", fmt.Sprintf("no route for %s %q", r.Method, r.URL.Path)))
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			problem.Write(w, problem.New(http.StatusMethodNotAllowed, "method", fmt.Sprintf("%s is not served on %q; use %s", r.Method, r.URL.Path, allow)))
		default:
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.status)
			_, _ = w.Write(rec.body.Bytes())
		}
	})
}

// recorder keeps what a handler without a route answers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// problemListener wraps the connections of ln so that the replies net/http
// writes itself, before any handler runs, are problem details too: 431 for
// headers over MaxHeaderBytes, 400 for a malformed request, 501 for an
// unknown transfer encoding. net/http offers no hook for them: it writes
// them straight to the connection, as one write of a fixed form (a status
// line, exactly "Content-Type: text/plain; charset=utf-8" and "Connection:
// close", a text body) that no handler's reply has (net/http always adds a
// Date header to those), and closes the connection; the wrapper recognises
// that form and writes the problem instead.
func problemListener(ln net.Listener, maxHeaderBytes int) net.Listener {
	return &problemLn{Listener: ln, maxHeaderBytes: maxHeaderBytes}
}

type problemLn struct {
	net.Listener
	maxHeaderBytes int
}

func (l *problemLn) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c, maxHeaderBytes: l.maxHeaderBytes}, nil
}

type problemConn struct {
	net.Conn
	maxHeaderBytes int
}

// goErrorHeaders are the headers of net/http's own error replies.
const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *problemConn) Write(b []byte) (int, error) {
	// A reply starts "HTTP/1.1 NNN "; only 4xx and 5xx are looked at.
	if len(b) < 13 || b[9] < '4' || b[9] > '5' || !bytes.HasPrefix(b, []byte("HTTP/1.1 ")) {
		return c.Conn.Write(b)
	}
	out, ok := c.rewrite(b)
	if !ok {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite keeps net/http's half-close before it hangs up on a client
// still sending (the 431 case), so that the client can read the reply.
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// rewrite turns one of net/http's own error replies into problem details.
func (c *problemConn) rewrite(b []byte) ([]byte, bool) {
	line, body, ok := bytes.Cut(b, []byte(goErrorHeaders))
	if !ok || bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, '\n') >= 0 {
		return nil, false
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil || http.StatusText(status) == "" {
		return nil, false
	}
	// The body is "NNN Status Text[: detail]" or a bare sentence.
	detail := strings.TrimPrefix(string(body), strconv.Itoa(status)+" "+http.StatusText(status))
	detail = strings.TrimSpace(strings.TrimPrefix(detail, ":"))
	field := ""
	switch {
	case status == http.StatusRequestHeaderFieldsTooLarge:
		field, detail = "headers", fmt.Sprintf("the request's headers are larger than the limit of %d bytes", c.maxHeaderBytes)
	case detail == "":
		detail = "malformed HTTP request"
	}
	p, err := json.Marshal(problem.New(status, field, detail))
	if err != nil {
		return nil, false
	}
	out := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
		status, http.StatusText(status), problem.ContentType, len(p)+1)
	out = append(out, p...)
	return append(out, '\n'), true
}
