package origin

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinels callers branch on. Every *Error wraps one of them.
var (
	// ErrInvalid is a value that is not allowed (HTTP 422).
	ErrInvalid = errors.New("origin: invalid value")
	// ErrMalformed is a request that cannot be decoded (HTTP 400).
	ErrMalformed = errors.New("origin: malformed request")
	// ErrNotFound is an unknown site or object (HTTP 404).
	ErrNotFound = errors.New("origin: not found")
	// ErrConflict is a slug or hostname taken, or an Idempotency-Key reused
	// with another request (HTTP 409).
	ErrConflict = errors.New("origin: conflict")
	// ErrUnauthorized is a missing or unknown token (HTTP 401).
	ErrUnauthorized = errors.New("origin: unauthorized")
	// ErrForbidden is a valid token used where it has no rights (HTTP 403).
	ErrForbidden = errors.New("origin: forbidden")
	// ErrNoLeader means the cluster has no reachable leader (HTTP 503).
	ErrNoLeader = errors.New("origin: no leader")
	// ErrBehind means this replica has not applied a requested version yet (HTTP 503).
	ErrBehind = errors.New("origin: replica behind")
	// ErrClosed is returned after Shutdown.
	ErrClosed = errors.New("origin: node closed")

	// ErrForeignCluster is state or a peer of another cluster.
	ErrForeignCluster = errors.New("origin: another cluster")
	// ErrAlreadyBootstrapped is a bootstrap over a data dir or a peer set
	// that already holds a cluster.
	ErrAlreadyBootstrapped = errors.New("origin: already holds a cluster")
	// ErrNoIdentity is raft state without a cluster id (a data dir made
	// before cluster ids; see the README's recovery runbook).
	ErrNoIdentity = errors.New("origin: raft state without a cluster id")
	// ErrDataDirInUse is a data dir another process has open.
	ErrDataDirInUse = errors.New("origin: data dir in use")
	// ErrDamagedStore is a raft.db (or cluster id) that cannot be read as
	// it was written: nothing is started on it, and bootstrap never
	// replaces it.
	ErrDamagedStore = errors.New("origin: damaged data dir")
	// ErrDiskFailed is a disk that has refused raft's state for longer than
	// Config.DiskFailTimeout (Node.Fatal): the replica must stop.
	ErrDiskFailed = errors.New("origin: disk failed")
)

// Error is an error with its HTTP status, the field at fault (if one is) and
// a message safe to show to the client. Err carries the sentinel and any
// detail that is only logged.
type Error struct {
	Status  int    `json:"status"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("origin: %s: %s", e.Field, e.Message)
	}
	return "origin: " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Field: field, Message: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

func malformed(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, args...), Err: ErrMalformed}
}

func notFound(field, what string) *Error {
	return &Error{Status: http.StatusNotFound, Field: field, Message: what + " not found", Err: ErrNotFound}
}

func conflict(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Field: field, Message: fmt.Sprintf(format, args...), Err: ErrConflict}
}

// asError turns any error into an *Error; unknown errors become a 500 whose
// message does not echo the cause.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch {
	case errors.Is(err, ErrNoLeader), errors.Is(err, ErrBehind), errors.Is(err, ErrClosed):
		return &Error{Status: http.StatusServiceUnavailable, Message: "no leader reachable or replica unavailable; retry", Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Message: "internal error", Err: err}
}
