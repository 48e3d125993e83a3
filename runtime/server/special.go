package server

import (
	"bytes"
	"strings"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// specialResponse answers with nginx's built-in page for status
// (ngx_http_special_response_handler): keep-alive vetoes for the error
// statuses that end a connection, error_page, body discard, then the page.
// It returns StatusDone, or the result of an error_page redirect.
func (c *conn) specialResponse(r *Request, status int) int {
	r.w.errStatus = status
	switch status {
	case 400, 413, 414, 495, 496, 497, 500, 501:
		r.veto(ReasonErrorStatus)
	}
	if r.lingeringClose {
		switch status {
		case 400, 495, 496, 497:
			r.lingeringClose = false
		}
	}
	r.w.contentType = r.w.contentType[:0]
	lc := r.loc
	if !r.errorPage && lc.errorPages != nil && r.uriChanges != 0 {
		r.errorPage = true // recursive_error_pages off
		if ep := lc.errorPages[status]; ep != nil {
			return c.sendErrorPage(r, ep)
		}
	}
	r.expectTested = true
	if c.discardBody(r) != 0 {
		r.veto(ReasonBodyNotDiscarded)
	}
	switch status {
	case 494, 495, 496, 497:
		r.w.errStatus = 400
	}
	return c.sendSpecial(r, status)
}

// sendSpecial writes nginx's page for status (ngx_http_send_special_response).
func (c *conn) sendSpecial(r *Request, pageStatus int) int {
	w := &r.w
	lc := r.loc
	padding := lc.msiePadding && (c.head.MSIE || c.head.Chrome) && r.Version >= 1000
	page := h1.ErrorPage(pageStatus, c.ic.software, lc.tokens, padding)
	w.contentLength = int64(len(page))
	if len(page) > 0 {
		w.SetContentType("text/html")
	}
	w.lastModified = -1
	w.acceptRanges = false
	w.dropHeader("etag")
	if err := w.sendHeader(); err != nil {
		return StatusError
	}
	if !w.headerOnly && len(page) > 0 {
		if _, err := w.Write(page); err != nil {
			return StatusError
		}
	}
	return StatusDone
}

// sendErrorPage follows an error_page directive (ngx_http_send_error_page).
func (c *conn) sendErrorPage(r *Request, ep *config.ErrorPage) int {
	overwrite := -1
	if ep.ResponseCode != nil {
		overwrite = *ep.ResponseCode
	}
	if overwrite != 0 && overwrite != 200 {
		r.expectTested = true
	}
	if overwrite >= 0 {
		r.w.errStatus = overwrite
	}
	uri := c.evalString(r, ep.URI) // ngx_http_complex_value
	if strings.HasPrefix(uri, "/") {
		path, args, _ := strings.Cut(uri, "?")
		if r.Method != h1.MethodHEAD {
			r.Method = h1.MethodGET
		}
		return c.internalRedirect(r, []byte(path), []byte(args))
	}
	if strings.HasPrefix(uri, "@") {
		return c.namedLocation(r, uri)
	}
	r.expectTested = true
	if c.discardBody(r) != 0 {
		r.veto(ReasonBodyNotDiscarded)
	}
	switch overwrite {
	case 301, 302, 303, 307, 308:
	default:
		r.w.errStatus = 302
	}
	r.w.SetLocation(uri)
	return c.sendSpecial(r, r.w.errStatus)
}

// internalRedirect restarts the request at a new URI
// (ngx_http_internal_redirect): the server-level settings are applied
// first (their keep-alive vetoes included), then the phases run again.
func (c *conn) internalRedirect(r *Request, path, args []byte) int {
	r.uriChanges--
	if r.uriChanges == 0 {
		c.w.inst.logf(c, "rewrite or internal redirection cycle", string(path), 500)
		return 500
	}
	r.pathBuf = append(r.pathBuf[:0], path...)
	r.Path = r.pathBuf
	r.Args = args
	r.Exten = exten(r.Path)
	r.loc = r.srv.unmatched
	c.updateLocationConfig(r)
	r.internal = true
	r.w.resetForRedirect()
	return c.runPhases(r)
}

// namedLocation continues the request in a named location
// (ngx_http_named_location).
func (c *conn) namedLocation(r *Request, name string) int {
	r.uriChanges--
	if r.uriChanges == 0 {
		return 500
	}
	lc := r.srv.named[name]
	if lc == nil {
		return 500
	}
	r.loc = lc
	c.updateLocationConfig(r)
	r.internal = true
	r.w.resetForRedirect()
	return c.runLocation(r)
}

// resetForRedirect drops what the previous location set on the response,
// keeping the error status to report.
func (w *ResponseWriter) resetForRedirect() {
	es := w.errStatus
	w.reset(w.r)
	w.errStatus = es
}

func (w *ResponseWriter) dropHeader(lower string) {
	for i := 0; i < len(w.names); i++ {
		n := w.names[i]
		if h1.EqualFold(w.arena[n.off:n.off+n.n], lower) {
			w.names = append(w.names[:i], w.names[i+1:]...)
			w.values = append(w.values[:i], w.values[i+1:]...)
			i--
		}
	}
}

// exten returns the extension of the last path segment (ngx_http_set_exten).
func exten(path []byte) []byte {
	for i := len(path) - 1; i > 1; i-- {
		if path[i] == '.' && path[i-1] != '/' {
			return path[i+1:]
		}
		if path[i] == '/' {
			return nil
		}
	}
	return nil
}

// doReturn is nginx's "return" (ngx_http_script_return_code): a text or
// a code below 400 is sent by ngx_http_send_response (which keeps the
// connection even for 500), a bare code >= 400 goes to the special
// response path.
func (c *conn) doReturn(r *Request, ret *config.Return) int {
	if ret.Code >= 400 && ret.Text == "" {
		return ret.Code
	}
	return c.sendResponse(r, ret.Code, c.evalString(r, ret.Text))
}

// sendResponse is ngx_http_send_response: discard the body, then a
// redirect (status and Location, page from the special path) or the text.
func (c *conn) sendResponse(r *Request, status int, text string) int {
	if rc := c.discardBody(r); rc != 0 {
		return rc
	}
	w := &r.w
	w.status = status
	switch status {
	case 301, 302, 303, 307, 308:
		w.SetLocation(text)
		return status
	}
	w.contentLength = int64(len(text))
	c.setContentType(r)
	if err := w.sendHeader(); err != nil {
		return StatusError
	}
	if !w.headerOnly && len(text) > 0 {
		if _, err := w.WriteString(text); err != nil {
			return StatusError
		}
	}
	return StatusDone
}

// WriteString is Write for a string.
func (w *ResponseWriter) WriteString(s string) (int, error) {
	if !w.headerSent {
		return w.Write([]byte(s))
	}
	if w.headerOnly || len(s) == 0 {
		return len(s), nil
	}
	if w.chunked {
		return w.write([]byte(s))
	}
	w.c.wbuf = append(w.c.wbuf, s...)
	w.sent += int64(len(s))
	if len(w.c.wbuf) >= 64<<10 {
		if err := w.c.flush(w.r.loc.sendTimeout); err != nil {
			return 0, err
		}
	}
	return len(s), nil
}

// setContentType picks the Content-Type from the extension and the
// location's types, else default_type (ngx_http_set_content_type).
func (c *conn) setContentType(r *Request) {
	lc := r.loc
	if len(r.Exten) > 0 {
		var t string
		var ok bool
		if bytes.IndexFunc(r.Exten, func(c rune) bool { return c >= 'A' && c <= 'Z' }) >= 0 {
			t, ok = lc.types[strings.ToLower(string(r.Exten))]
		} else {
			t, ok = lc.types[string(r.Exten)]
		}
		if ok {
			r.w.SetContentType(t)
			return
		}
	}
	r.w.SetContentType(lc.defaultType)
}
