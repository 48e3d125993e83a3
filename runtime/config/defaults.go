package config

import "maps"

// BuiltinTypes is nginx's MIME table when no types block is configured.
var BuiltinTypes = map[string]string{
	"html": "text/html",
	"gif":  "image/gif",
	"jpg":  "image/jpeg",
}

func ptr[T any](v T) *T { return &v }

// Defaults returns the nginx defaults of every location-level setting for
// the given version (as a Location without Match or Path). Hand-written
// configurations leave settings out; the runtime fills them from here.
func Defaults(version Version) *Location {
	l := &Location{
		KeepaliveTimeout:        "75s",
		KeepaliveRequests:       ptr(1000),
		KeepaliveTime:           "1h",
		KeepaliveMinTimeout:     "0",
		KeepaliveDisable:        []string{"msie6"},
		LingeringClose:          "on",
		LingeringTime:           "30s",
		LingeringTimeout:        "5s",
		ResetTimedoutConnection: ptr(false),
		ClientBodyTimeout:       "60s",
		SendTimeout:             "60s",
		ClientMaxBodySize:       "1m",
		ClientBodyBufferSize:    "16k",
		ChunkedTransferEncoding: ptr(true),
		ServerTokens:            "on",
		MSIEPadding:             ptr(true),
		AbsoluteRedirect:        ptr(true),
		ServerNameInRedirect:    ptr(false),
		PortInRedirect:          ptr(true),
		DefaultType:             "text/plain",
		Types:                   maps.Clone(BuiltinTypes),
		ETag:                    ptr(true),
		Root:                    "html",
		Index:                   []string{"index.html"},
	}
	if !version.AtLeast(V1_19_10) {
		l.KeepaliveRequests = ptr(100)
		l.KeepaliveTime = "" // no such limit before 1.19.10
	}
	return l
}

// ServerDefaults returns the nginx defaults of the server-level settings.
func ServerDefaults() *Server {
	return &Server{
		ClientHeaderTimeout:            "60s",
		ClientHeaderBufferSize:         "1k",
		LargeClientHeaderBuffersNumber: ptr(4),
		LargeClientHeaderBuffersSize:   "8k",
		IgnoreInvalidHeaders:           ptr(true),
		UnderscoresInHeaders:           ptr(false),
		MergeSlashes:                   ptr(true),
	}
}

// Default process-model values.
const (
	DefaultWorkerProcesses   = 1
	DefaultWorkerConnections = 512
	DefaultBacklog           = 511
)
