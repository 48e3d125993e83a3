package h1

// HeadOptions are the server settings that change how a head is parsed.
type HeadOptions struct {
	AllowUnderscores bool // underscores_in_headers
	IgnoreInvalid    bool // ignore_invalid_headers
	MergeSlashes     bool // merge_slashes
}

// HeadResult is the outcome of ParseHead.
type HeadResult struct {
	// N is the number of bytes of the head, through its final empty line
	// (or the request line of an HTTP/0.9 request).
	N int
	// Status is 0 for a valid head, else the status nginx answers with.
	Status int
	// Reason says why the head was rejected.
	Reason string
	// Incomplete is set when the bytes end before the head does.
	Incomplete bool
	URI        URI
}

// ParseHead parses a complete request head held in b, with the checks
// nginx makes, without buffer limits (those are the connection's job). It
// is the whole-head form of the incremental ParseRequestLine,
// ParseHeaderLine and Head methods the server uses, for tests, fuzzing and
// tools.
func ParseHead(b []byte, opts HeadOptions, h *Head, uriBuf []byte) (HeadResult, []byte) {
	h.Reset()
	n, res := ParseRequestLine(b, &h.Line)
	if res == Again {
		return HeadResult{Incomplete: true}, uriBuf
	}
	if res != Done {
		return HeadResult{Status: res.Status(), Reason: res.String()}, uriBuf
	}
	u, uriBuf, ok := ProcessURI(&h.Line, opts.MergeSlashes, uriBuf)
	if !ok {
		return HeadResult{Status: 400, Reason: "client sent invalid request"}, uriBuf
	}
	if err := h.SetRequestLineHost(); err != nil {
		return HeadResult{Status: 400, Reason: err.Error()}, uriBuf
	}
	if h.Line.Version < 1000 {
		return HeadResult{N: n, URI: u}, uriBuf
	}
	var hl HeaderLine
	for {
		k, res, _ := ParseHeaderLine(b[n:], opts.AllowUnderscores, &hl)
		switch res {
		case Again:
			return HeadResult{Incomplete: true}, uriBuf
		case HeadersEnd:
			n += k
			if err := h.Finish(); err != nil {
				e := err.(*HeaderError)
				return HeadResult{N: n, Status: e.Status, Reason: e.Reason, URI: u}, uriBuf
			}
			return HeadResult{N: n, URI: u}, uriBuf
		case Done:
			n += k
			if hl.Invalid && opts.IgnoreInvalid {
				continue
			}
			if _, err := h.AddHeader(hl.Name, hl.Value); err != nil {
				e := err.(*HeaderError)
				return HeadResult{N: n, Status: e.Status, Reason: e.Reason, URI: u}, uriBuf
			}
		default:
			return HeadResult{Status: 400, Reason: res.String()}, uriBuf
		}
	}
}
